package io.switchboard.datapath;

import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.bpf.XdpMode;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabCluster;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.PodServer;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.switchboard.testing.Packet.address;

/**
 * The datapath-only half of the repeat loop (README.md, <i>Kernel tests</i>: <i>A first UDP datagram "lost" after
 * the agent starts</i>): a fresh {@link LabNetwork} with the datapath attached as {@link DatapathTrafficTest}
 * does, one datagram on a fresh socket, then {@code udploss.warm} more; modes {@code plain} (no datapath, to the
 * pod's address), {@code direct} (datapath attached, to the pod's address), {@code nodeport}; and {@link
 * #cluster()}: node0 of a {@link LabCluster} source-translating to a pod on node1. A datagram unanswered after 2 s
 * prints every namespace's neighbours, links, {@code nstat} and {@code sb_stats}, and is then given 3 s more to
 * tell late from lost. It only reports: none was lost here, cold or warm. Runs only with {@code
 * -Dtest=UdpLossProbe}; {@code -Dudploss.n=}, {@code -Dudploss.cn=}, {@code -Dudploss.modes=}.
 */
@KernelTest
class UdpLossProbe
{
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final int WARM = Integer.getInteger("udploss.warm", 1);

    @Test
    void probe() throws Exception
    {
        final int n = Integer.getInteger("udploss.n", 30);
        final String modes = System.getProperty("udploss.modes", "plain,direct,nodeport");
        for (final String mode : modes.split(","))
        {
            int lostFirst = 0;
            int lostWarm = 0;
            final long start = System.nanoTime();
            for (int i = 0; i < n; i++)
            {
                try (LabNetwork network = LabNetwork.create(3))
                {
                    inums(mode + " #" + i, network.namespaces());
                    DatapathTrafficTest.Attached attached = null;
                    final List<PodServer> servers = new ArrayList<>();
                    try
                    {
                        if (mode.equals("plain"))
                        {
                            for (int p = 0; p < 3; p++)
                            {
                                servers.add(network.startServer(p, 8080));
                            }
                        }
                        else
                        {
                            attached = DatapathTrafficTest.attach(network, null);
                        }
                        final InetSocketAddress to = mode.equals("nodeport")
                            ? new InetSocketAddress(address("198.18.0.1"), 30080)
                            : new InetSocketAddress(network.pod(i % 3).address4(), 8080);
                        if (!send(network, attached, to, mode + " #" + i + " first"))
                        {
                            lostFirst++;
                        }
                        for (int w = 1; w <= WARM; w++)
                        {
                            if (!send(network, attached, to, mode + " #" + i + " warm" + w))
                            {
                                lostWarm++;
                            }
                        }
                    }
                    finally
                    {
                        if (null != attached)
                        {
                            attached.close();
                        }
                    }
                }
            }
            System.err.printf("UDPLOSS mode=%s n=%d warm=%d lostFirst=%d lostWarm=%d late=%d in %d ms%n", mode, n, WARM, lostFirst,
                lostWarm, LATE.getAndSet(0),
                (System.nanoTime() - start) / 1_000_000);
        }
    }

    /**
     * node0 of a 2-node cluster with its datapath (SNAT on): client → node0:30080 → pod on node1, reply back
     * through node0's sb_tc_from_ext. Mode "cluster" (node1 runs nothing) or "clusterplain" (no datapath,
     * client routes to node1's pod through node0).
     */
    @Test
    void cluster() throws Exception
    {
        final int n = Integer.getInteger("udploss.cn", 30);
        final boolean withDatapath = !Boolean.getBoolean("udploss.clusterplain");
        int lostFirst = 0;
        int lostWarm = 0;
        final long start = System.nanoTime();
        for (int i = 0; i < n; i++)
        {
            try (LabCluster cluster = LabCluster.create(2, 1))
            {
                inums("cluster #" + i, cluster.namespaces());
                cluster.startServer(1, 0, 8080);
                final Host node0 = cluster.node(0);
                final List<AutoCloseable> links = new ArrayList<>();
                DatapathFixture datapath = null;
                try
                {
                    InetSocketAddress to;
                    if (withDatapath)
                    {
                        final DatapathFixture d = DatapathFixture.load();
                        datapath = d;
                        d.sourceTranslation(node0.address4(), node0.address6(), 20000, 29999, 0);
                        d.backend(11, cluster.pod(1, 0).address4(), 8080, false);
                        d.maglevTable(1, DatapathFixture.spread(251, 11));
                        d.service(node0.address4(), 30080, DatapathAbi.PROTO_UDP, 1,
                            DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT, 0);
                        links.add(node0.call(() -> d.xdp().attachXdp(Interfaces.index(node0.interfaceName()),
                            XdpMode.NATIVE)));
                        node0.run(() ->
                        {
                            d.tcFromExt().attachTc(Interfaces.index(node0.interfaceName()), TcDirection.INGRESS, 1, 1);
                            d.tcFromPod().attachTc(Interfaces.index(cluster.podInterface(0)), TcDirection.INGRESS, 1, 1);
                        });
                        to = new InetSocketAddress(node0.address4(), 30080);
                    }
                    else
                    {
                        cluster.client().exec("ip", "route", "add", LabCluster.podRange4(1), "via",
                            LabCluster.nodeAddress4(0));
                        to = new InetSocketAddress(cluster.pod(1, 0).address4(), 8080);
                    }
                    final DatapathFixture dp = datapath;
                    for (int w = 0; w <= WARM; w++)
                    {
                        final String what = 0 == w ? "first" : "warm";
                        if (!sendAndWait(cluster.client(), to, "cluster #" + i + " " + what + w, () -> { }))
                        {
                            if (what.equals("first"))
                            {
                                lostFirst++;
                            }
                            else
                            {
                                lostWarm++;
                            }
                            final List<Host> hosts = new ArrayList<>(List.of(cluster.client(), node0, cluster.node(1),
                                cluster.pod(1, 0)));
                            for (final Host host : hosts)
                            {
                                System.err.println("--- " + host.role());
                                System.err.println(host.tryExec("ip", "neigh").output());
                                System.err.println(host.tryExec("ip", "-s", "link").output());
                                System.err.println(host.tryExec("nstat", "-as").output());
                            }
                            if (null != dp)
                            {
                                System.err.println("--- sb_stats " + dp.stats());
                            }
                        }
                    }
                }
                finally
                {
                    for (int l = links.size() - 1; l >= 0; l--)
                    {
                        links.get(l).close();
                    }
                    if (null != datapath)
                    {
                        datapath.close();
                    }
                }
            }
        }
        System.err.printf("UDPLOSS mode=cluster%s n=%d warm=%d lostFirst=%d lostWarm=%d late=%d in %d ms%n",
            withDatapath ? "" : "plain", n, WARM, lostFirst, lostWarm, LATE.getAndSet(0), (System.nanoTime() - start) / 1_000_000);
    }

    static final java.util.concurrent.atomic.AtomicInteger LATE = new java.util.concurrent.atomic.AtomicInteger();

    private static boolean send(final LabNetwork network, final DatapathTrafficTest.Attached attached,
        final InetSocketAddress to, final String what)
    {
        return sendAndWait(network.client(), to, what, () -> diagnose(network, attached));
    }

    /** One datagram; on a timeout prints the diagnostics at once, then waits 3 s more for a late answer. */
    static boolean sendAndWait(final Host client, final InetSocketAddress to, final String what, final Runnable diag)
    {
        return client.call(() ->
        {
            try (java.net.DatagramSocket socket = new java.net.DatagramSocket())
            {
                socket.setSoTimeout((int)TIMEOUT.toMillis());
                final byte[] request = "hello\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
                final long sent = System.nanoTime();
                socket.send(new java.net.DatagramPacket(request, request.length, to));
                final java.net.DatagramPacket reply = new java.net.DatagramPacket(new byte[512], 512);
                try
                {
                    socket.receive(reply);
                    return true;
                }
                catch (final java.net.SocketTimeoutException ex)
                {
                    System.err.println("UDPLOSS lost " + what + " to " + to + " from port " + socket.getLocalPort() +
                        " at " + System.nanoTime() + " (sent " + sent + ")");
                    diag.run();
                    socket.setSoTimeout(3000);
                    try
                    {
                        socket.receive(reply);
                        LATE.incrementAndGet();
                        System.err.println("UDPLOSS late answer for " + what + " after " +
                            (System.nanoTime() - sent) / 1_000_000 + " ms");
                    }
                    catch (final java.net.SocketTimeoutException never)
                    {
                        System.err.println("UDPLOSS never answered " + what);
                    }
                    return false;
                }
            }
        });
    }

    /** Prints the inode numbers of the namespaces (as the drop tracer reports them). */
    static void inums(final String what, final List<String> namespaces)
    {
        final StringBuilder line = new StringBuilder("UDPLOSS ns " + what + " t=" + System.nanoTime());
        for (final String ns : namespaces)
        {
            try
            {
                line.append(' ').append(ns.substring(ns.lastIndexOf('-') + 1)).append('=')
                    .append(java.nio.file.Files.getAttribute(java.nio.file.Path.of("/var/run/netns", ns), "unix:ino"));
            }
            catch (final java.io.IOException ex)
            {
                line.append(" ?");
            }
        }
        System.err.println(line);
    }

    static void diagnose(final LabNetwork network, final DatapathTrafficTest.Attached attached)
    {
        final List<Host> hosts = new ArrayList<>(List.of(network.client(), network.node()));
        hosts.addAll(network.pods());
        for (final Host host : hosts)
        {
            System.err.println("--- " + host.role());
            System.err.println(host.tryExec("ip", "neigh").output());
            System.err.println(host.tryExec("ip", "-s", "link").output());
            System.err.println(host.tryExec("nstat", "-as").output());
        }
        if (null != attached)
        {
            System.err.println("--- sb_stats " + attached.datapath.stats());
        }
    }
}
