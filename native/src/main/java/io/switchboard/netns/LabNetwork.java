package io.switchboard.netns;

import java.net.InetAddress;
import java.net.UnknownHostException;
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
    private static final String POD_GATEWAY4 = "169.254.1.1";
    private static final String POD_GATEWAY6 = "fe80::1";

    private final String prefix;
    private final List<String> namespaces = new ArrayList<>();
    private Host client;
    private Host node;
    private final List<Host> pods = new ArrayList<>();
    private final List<AutoCloseable> closeables = new ArrayList<>();

    private LabNetwork(final String prefix)
    {
        this.prefix = prefix;
    }

    /** Builds a client, a node and {@code podCount} pods. */
    public static LabNetwork create(final int podCount)
    {
        final LabNetwork network = new LabNetwork(Names.next());
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

    private String addNamespace(final String role)
    {
        final String name = prefix + "-" + role;
        Shell.run("ip", "netns", "add", name);
        namespaces.add(name);
        // no duplicate address detection: addresses are usable at once
        Shell.run("nsenter", "--net=/var/run/netns/" + name, "sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0");
        Shell.run("ip", "-n", name, "link", "set", "lo", "up");
        return name;
    }

    private void build(final int podCount)
    {
        final String clientNs = addNamespace("client");
        final String nodeNs = addNamespace("node");
        Shell.run("nsenter", "--net=/var/run/netns/" + nodeNs, "sysctl", "-qw", "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1");

        Shell.run("ip", "-n", nodeNs, "link", "add", NODE_EXTERNAL_INTERFACE, "type", "veth",
            "peer", "name", "eth0", "netns", clientNs);
        Shell.run("ip", "-n", nodeNs, "addr", "add", "198.18.0.1/24", "dev", NODE_EXTERNAL_INTERFACE);
        Shell.run("ip", "-n", nodeNs, "addr", "add", "fd00:18::1/64", "dev", NODE_EXTERNAL_INTERFACE, "nodad");
        Shell.run("ip", "-n", nodeNs, "link", "set", NODE_EXTERNAL_INTERFACE, "up");
        Shell.run("ip", "-n", clientNs, "addr", "add", "198.18.0.2/24", "dev", "eth0");
        Shell.run("ip", "-n", clientNs, "addr", "add", "fd00:18::2/64", "dev", "eth0", "nodad");
        Shell.run("ip", "-n", clientNs, "link", "set", "eth0", "up");
        // a veth hands the node's XDP_TX frames (ARP / NDP answers, refusals) only to a peer with NAPI on,
        // i.e. with GRO or an XDP program; a wire has no such condition
        Shell.run("nsenter", "--net=/var/run/netns/" + clientNs, "ethtool", "-K", "eth0", "gro", "on");
        Shell.run("ip", "-n", clientNs, "route", "add", "default", "via", "198.18.0.1");
        Shell.run("ip", "-n", clientNs, "-6", "route", "add", "default", "via", "fd00:18::1");
        client = new Host("client", clientNs, address("198.18.0.2"), address("fd00:18::2"), "eth0");
        node = new Host("node", nodeNs, address("198.18.0.1"), address("fd00:18::1"), NODE_EXTERNAL_INTERFACE);

        for (int i = 0; i < podCount; i++)
        {
            final String podNs = addNamespace("pod" + i);
            final String nodeSide = "pod" + i;
            final String pod4 = "198.19.0." + (10 + i);
            final String pod6 = "fd00:19::" + Integer.toHexString(10 + i);
            Shell.run("ip", "-n", nodeNs, "link", "add", nodeSide, "type", "veth", "peer", "name", "eth0",
                "netns", podNs);
            Shell.run("ip", "-n", nodeNs, "addr", "add", POD_GATEWAY4 + "/32", "dev", nodeSide);
            Shell.run("ip", "-n", nodeNs, "addr", "add", POD_GATEWAY6 + "/64", "dev", nodeSide, "nodad");
            Shell.run("ip", "-n", nodeNs, "link", "set", nodeSide, "up");
            Shell.run("ip", "-n", nodeNs, "route", "add", pod4 + "/32", "dev", nodeSide);
            Shell.run("ip", "-n", nodeNs, "-6", "route", "add", pod6 + "/128", "dev", nodeSide);
            Shell.run("ip", "-n", podNs, "addr", "add", pod4 + "/32", "dev", "eth0");
            Shell.run("ip", "-n", podNs, "addr", "add", pod6 + "/128", "dev", "eth0", "nodad");
            Shell.run("ip", "-n", podNs, "link", "set", "eth0", "up");
            Shell.run("ip", "-n", podNs, "route", "add", POD_GATEWAY4, "dev", "eth0", "scope", "link");
            Shell.run("ip", "-n", podNs, "route", "add", "default", "via", POD_GATEWAY4, "dev", "eth0");
            Shell.run("ip", "-n", podNs, "-6", "route", "add", "default", "via", POD_GATEWAY6, "dev", "eth0");
            pods.add(new Host("pod-" + i, podNs, address(pod4), address(pod6), "eth0"));
        }
    }

    private static InetAddress address(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
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

    /** The node-side interface of pod {@code index}'s link. */
    public String podInterface(final int index)
    {
        return "pod" + index;
    }

    /** Every namespace this network made. */
    public List<String> namespaces()
    {
        return Collections.unmodifiableList(namespaces);
    }

    /** Starts an echo server in pod {@code index} that is stopped when the network closes. */
    public PodServer startServer(final int index, final int port)
    {
        final Host pod = pods.get(index);
        final PodServer server = PodServer.start(pod, port);
        closeables.add(server);
        return server;
    }

    /** Closes {@code resource} (a server, an agent) before the namespaces go. */
    public <T extends AutoCloseable> T closeWithNetwork(final T resource)
    {
        closeables.add(resource);
        return resource;
    }

    @Override
    public void close()
    {
        final List<String> failures = new ArrayList<>();
        for (int i = closeables.size() - 1; i >= 0; i--)
        {
            try
            {
                closeables.get(i).close();
            }
            catch (final Exception ex)
            {
                failures.add(ex.toString());
            }
        }
        closeables.clear();
        for (final String namespace : namespaces)
        {
            final Shell.Result result = Shell.tryRun("ip", "netns", "del", namespace);
            if (result.exitCode() != 0)
            {
                failures.add("ip netns del " + namespace + ": " + result.output().strip());
            }
        }
        namespaces.clear();
        if (!failures.isEmpty())
        {
            throw new IllegalStateException("cleaning up " + prefix + ": " + String.join("; ", failures));
        }
    }
}
