package io.switchboard.netns;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * A small cluster of nodes in network namespaces, for multi-node kernel tests:
 * <pre>
 *   underlay ns: bridge br0 ─┬─ client ─veth─ client ns: eth0 198.18.0.2/24, fd00:18::2/64 (no other route)
 *                            ├─ node0  ─veth─ node0 ns:  ext0 198.18.0.11/24, fd00:18::11/64
 *                            └─ node1  ─veth─ node1 ns:  ext0 198.18.0.12/24, fd00:18::12/64  …
 *
 *   node i ns: podJ 169.254.1.1/32, fe80::1 ─veth─ node i pod J ns: eth0 198.19.i.(10+J)/32, fd00:19:0:i::(10+J)/128
 *              route 198.19.k.0/24 via 198.18.0.(11+k), fd00:19:0:k::/64 via fd00:18::(11+k) for every other node k
 * </pre>
 * IPv6 host parts are written with the same digits as the IPv4 ones (fd00:18::11 is 0x11), so an
 * address reads the same in both families. Nodes forward; each node's pods sit behind point-to-point
 * veths as in {@link LabNetwork}, and a node reaches another node's pod range through that node's
 * underlay address, as a flat underlay with static routes (or a CNI's host-gw mode) would. The client
 * shares the underlay segment but has no route to any pod range: it reaches pods only through a node's
 * address. Nothing runs on the client or on the bridge's ends of the veths: what a client sees of a
 * node (refusals, ARP / NDP answers) must reach it as it would a real one. Every address lives inside
 * these namespaces; {@link #close()} deletes them all, and with them every veth and the bridge.
 */
public final class LabCluster implements AutoCloseable
{
    public static final String NODE_EXTERNAL_INTERFACE = LabNetwork.NODE_EXTERNAL_INTERFACE;
    private static final String BRIDGE = "br0";

    private final LabNamespaces lab = new LabNamespaces();
    private Host client;
    private String underlayNs;
    private final List<Host> nodes = new ArrayList<>();
    private final List<List<Host>> pods = new ArrayList<>();

    private LabCluster()
    {
    }

    /** Builds {@code nodeCount} nodes with {@code podsPerNode} pods each, the underlay and the client. */
    public static LabCluster create(final int nodeCount, final int podsPerNode)
    {
        if (nodeCount < 1 || nodeCount > 9 || podsPerNode < 0 || podsPerNode > 89)
        {
            throw new IllegalArgumentException("1..9 nodes and 0..89 pods per node, not " + nodeCount + " and " +
                podsPerNode);
        }
        final LabCluster cluster = new LabCluster();
        try
        {
            cluster.build(nodeCount, podsPerNode);
            return cluster;
        }
        catch (final RuntimeException ex)
        {
            try
            {
                cluster.close();
            }
            catch (final RuntimeException suppressed)
            {
                ex.addSuppressed(suppressed);
            }
            throw ex;
        }
    }

    /** Node {@code node}'s IPv4 address on the underlay. */
    public static String nodeAddress4(final int node)
    {
        return "198.18.0." + (11 + node);
    }

    /** Node {@code node}'s IPv6 address on the underlay. */
    public static String nodeAddress6(final int node)
    {
        return "fd00:18::" + (11 + node);
    }

    /** Node {@code node}'s IPv4 pod range. */
    public static String podRange4(final int node)
    {
        return "198.19." + node + ".0/24";
    }

    /** Node {@code node}'s IPv6 pod range. */
    public static String podRange6(final int node)
    {
        return "fd00:19:0:" + node + "::/64";
    }

    private void build(final int nodeCount, final int podsPerNode)
    {
        underlayNs = lab.add("underlay");
        Shell.run("ip", "-n", underlayNs, "link", "add", BRIDGE, "type", "bridge", "stp_state", "0",
            "mcast_snooping", "0");
        Shell.run("ip", "-n", underlayNs, "link", "set", BRIDGE, "up");

        final String clientNs = lab.add("client");
        join("client", clientNs, "eth0", "198.18.0.2", "fd00:18::2");
        client = new Host("client", clientNs, LabNamespaces.address("198.18.0.2"),
            LabNamespaces.address("fd00:18::2"), "eth0");

        for (int i = 0; i < nodeCount; i++)
        {
            final String role = nodeName(i);
            final String nodeNs = lab.add(role);
            LabNamespaces.forwarding(nodeNs);
            join(role, nodeNs, NODE_EXTERNAL_INTERFACE, nodeAddress4(i), nodeAddress6(i));
            nodes.add(new Host(role, nodeNs, LabNamespaces.address(nodeAddress4(i)),
                LabNamespaces.address(nodeAddress6(i)), NODE_EXTERNAL_INTERFACE));
            final List<Host> nodePods = new ArrayList<>();
            for (int j = 0; j < podsPerNode; j++)
            {
                nodePods.add(lab.addPod(nodeNs, podInterface(j), role + "-pod" + j, "198.19." + i + "." + (10 + j),
                    "fd00:19:0:" + i + "::" + (10 + j)));
            }
            pods.add(nodePods);
        }
        for (int i = 0; i < nodeCount; i++)
        {
            final String nodeNs = nodes.get(i).namespace();
            for (int k = 0; k < nodeCount; k++)
            {
                if (k != i)
                {
                    Shell.run("ip", "-n", nodeNs, "route", "add", podRange4(k), "via", nodeAddress4(k));
                    Shell.run("ip", "-n", nodeNs, "-6", "route", "add", podRange6(k), "via", nodeAddress6(k));
                }
            }
        }
    }

    /** A veth from the bridge (port {@code port}) to {@code interfaceName} in {@code namespace}, addressed /24 and /64. */
    private void join(final String port, final String namespace,
        final String interfaceName, final String address4, final String address6)
    {
        Shell.run("ip", "-n", underlayNs, "link", "add", port, "type", "veth", "peer", "name", interfaceName,
            "netns", namespace);
        Shell.run("ip", "-n", underlayNs, "link", "set", port, "master", BRIDGE);
        Shell.run("ip", "-n", underlayNs, "link", "set", port, "up");
        // frames on the underlay carry full checksums, as a NIC puts them on a wire: XDP sees only the
        // frame, and rewrites it as one
        Shell.run("nsenter", "--net=/var/run/netns/" + namespace, "ethtool", "-K", interfaceName, "tx", "off");
        Shell.run("ip", "-n", namespace, "addr", "add", address4 + "/24", "dev", interfaceName);
        Shell.run("ip", "-n", namespace, "addr", "add", address6 + "/64", "dev", interfaceName, "nodad");
        Shell.run("ip", "-n", namespace, "link", "set", interfaceName, "up");
    }

    /** The Kubernetes node name of node {@code node}: {@code node<N>}, also its host role. */
    public static String nodeName(final int node)
    {
        return "node" + node;
    }

    /** The client outside the cluster, on the underlay segment. */
    public Host client()
    {
        return client;
    }

    /** The namespace holding the bridge {@code br0} (it has no address). */
    public String underlayNamespace()
    {
        return underlayNs;
    }

    public List<Host> nodes()
    {
        return Collections.unmodifiableList(nodes);
    }

    public Host node(final int node)
    {
        return nodes.get(node);
    }

    /** Node {@code node}'s pods; a pod's role is {@code node<N>-pod<J>}. */
    public List<Host> pods(final int node)
    {
        return Collections.unmodifiableList(pods.get(node));
    }

    public Host pod(final int node, final int index)
    {
        return pods.get(node).get(index);
    }

    /** The node-side interface of pod {@code index}'s link (the same name on every node). */
    public String podInterface(final int index)
    {
        return "pod" + index;
    }

    /** Every namespace this cluster made. */
    public List<String> namespaces()
    {
        return lab.namespaces();
    }

    /** Starts an echo server in pod {@code index} of node {@code node}, stopped when the cluster closes. */
    public PodServer startServer(final int node, final int index, final int port)
    {
        return lab.closeFirst(PodServer.start(pod(node, index), port));
    }

    /** Closes {@code resource} (a server, an agent) before the namespaces go. */
    public <T extends AutoCloseable> T closeWithCluster(final T resource)
    {
        return lab.closeFirst(resource);
    }

    @Override
    public void close()
    {
        lab.close();
    }
}
