package io.switchboard.netns;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A small cluster node in network namespaces, for kernel tests, the demo and the benchmarks:
 * <pre>
 *   client ns                node ns                               pod-N ns
 *   eth0 198.18.0.2/24 ─veth─ ext0 198.18.0.1/24                    
 *        fd00:18::2/64         fd00:18::1/64
 *                              podN 169.254.1.1/32, fe80::1 ─veth─ eth0 198.19.0.(10+N)/32
 *                              route 198.19.0.(10+N) dev podN          fd00:19::(10+N)/128
 * </pre>
 * The node forwards between its links. Pods reach the node through the link-local gateway
 * 169.254.1.1 / fe80::1, as CNI plugins that give each pod a point-to-point link do; the client's
 * default route points at the node. Every address lives inside these namespaces; {@link #close()}
 * deletes them all, and with them every veth.
 */
public final class LabNetwork implements AutoCloseable
{
    public static final String NODE_EXTERNAL_INTERFACE = "ext0";

    private final LabNamespaces lab = new LabNamespaces();
    private Host client;
    private Host node;
    private final List<Host> pods = new ArrayList<>();

    private LabNetwork()
    {
    }

    /** Builds a client, a node and {@code podCount} pods. */
    public static LabNetwork create(final int podCount)
    {
        final LabNetwork network = new LabNetwork();
        try
        {
            network.build(podCount);
            return network;
        }
        catch (final RuntimeException ex)
        {
            network.close();
            throw ex;
        }
    }

    private void build(final int podCount)
    {
        final String clientNs = lab.add("client");
        final String nodeNs = lab.add("node");
        LabNamespaces.forwarding(nodeNs);

        Shell.run("ip", "-n", nodeNs, "link", "add", NODE_EXTERNAL_INTERFACE, "type", "veth",
            "peer", "name", "eth0", "netns", clientNs);
        Shell.run("ip", "-n", nodeNs, "addr", "add", "198.18.0.1/24", "dev", NODE_EXTERNAL_INTERFACE);
        Shell.run("ip", "-n", nodeNs, "addr", "add", "fd00:18::1/64", "dev", NODE_EXTERNAL_INTERFACE, "nodad");
        Shell.run("ip", "-n", nodeNs, "link", "set", NODE_EXTERNAL_INTERFACE, "up");
        Shell.run("ip", "-n", clientNs, "addr", "add", "198.18.0.2/24", "dev", "eth0");
        Shell.run("ip", "-n", clientNs, "addr", "add", "fd00:18::2/64", "dev", "eth0", "nodad");
        Shell.run("ip", "-n", clientNs, "link", "set", "eth0", "up");
        Shell.run("ip", "-n", clientNs, "route", "add", "default", "via", "198.18.0.1");
        Shell.run("ip", "-n", clientNs, "-6", "route", "add", "default", "via", "fd00:18::1");
        client = new Host("client", clientNs, LabNamespaces.address("198.18.0.2"),
            LabNamespaces.address("fd00:18::2"), "eth0");
        node = new Host("node", nodeNs, LabNamespaces.address("198.18.0.1"), LabNamespaces.address("fd00:18::1"),
            NODE_EXTERNAL_INTERFACE);

        for (int i = 0; i < podCount; i++)
        {
            pods.add(lab.addPod(nodeNs, podInterface(i), "pod-" + i, "198.19.0." + (10 + i),
                "fd00:19::" + Integer.toHexString(10 + i)));
        }
    }

    public Host client()
    {
        return client;
    }

    public Host node()
    {
        return node;
    }

    public List<Host> pods()
    {
        return Collections.unmodifiableList(pods);
    }

    public Host pod(final int index)
    {
        return pods.get(index);
    }

    /**
     * For tests about {@code XDP_TX} itself only: attaches a pass-all XDP program to the client's end of
     * its veth, without which a veth does not wake the client for the node's {@code XDP_TX} frames. A
     * real client has nothing of the kind, so no test of what a client sees may call this.
     */
    public void passAllXdpOnClient()
    {
        lab.passAllXdp(client.namespace(), client.interfaceName());
    }

    /** The node-side interface of pod {@code index}'s link. */
    public String podInterface(final int index)
    {
        return "pod" + index;
    }

    /** Every namespace this network made. */
    public List<String> namespaces()
    {
        return lab.namespaces();
    }

    /** Starts an echo server in pod {@code index} that is stopped when the network closes. */
    public PodServer startServer(final int index, final int port)
    {
        return lab.closeFirst(PodServer.start(pods.get(index), port));
    }

    /** Closes {@code resource} (a server, an agent) before the namespaces go. */
    public <T extends AutoCloseable> T closeWithNetwork(final T resource)
    {
        return lab.closeFirst(resource);
    }

    @Override
    public void close()
    {
        lab.close();
    }
}
