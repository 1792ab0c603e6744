package io.switchboard.datapath;

import io.switchboard.bpf.BpfLink;
import io.switchboard.bpf.CgroupHook;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.bpf.XdpMode;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.netns.Requests.Answer;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.PortUnreachableException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static io.switchboard.datapath.DatapathAbi.PROTO_TCP;
import static io.switchboard.datapath.DatapathAbi.PROTO_UDP;
import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Real TCP and UDP through the datapath attached as the README says: {@code sb_xdp} on the node's
 * external interface (native) with {@code sb_tc_from_ext} on its tc ingress and no {@code sb_ifaces}
 * entry (so replies {@code sb_xdp} generates take the tc path, as the agent chooses for a veth; the client
 * runs nothing), {@code sb_tc_from_pod} on tc ingress of every node-side pod veth (DNAT of
 * pod → ClusterIP and reverse NAT of every reply leaving a pod), the socket hooks on a test cgroup. The
 * three pods run servers on 8080 that say who they are and whom they saw. Every address lives in the
 * test's namespaces. The kernel's own stacks check what the programs wrote; pod packets are
 * CHECKSUM_PARTIAL skbs from veths.
 */
@KernelTest
class DatapathTrafficTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final InetAddress CLIENT = address("198.18.0.2");
    private static final InetAddress CLUSTER_IP = address("10.96.0.10");
    /** A second ClusterIP whose backends are pods 1 and 2 only, for pod 0 as the client. */
    private static final InetAddress POD_CLUSTER_IP = address("10.96.0.11");
    static final InetAddress EMPTY_CLUSTER_IP = address("10.96.0.20");
    static final InetAddress EMPTY_CLUSTER_IP6 = address("fd00:96::20");
    private static final InetAddress NODE = address("198.18.0.1");
    private static final InetAddress LB_IP = address("203.0.113.10");
    private static final int NODE_PORT = 30080;
    private static final int EMPTY_NODE_PORT = 30081;
    private static final int TARGET_PORT = 8080;
    private static final int SVC_TCP = 1;
    private static final int SVC_UDP = 2;
    private static final int SVC_POD_TCP = 3;
    private static final int SVC_POD_UDP = 4;
    static final int SVC_EMPTY = 5;
    /** The toolchain probe: its XDP program passes every packet while its drop list is empty. */

    /** The datapath loaded, programmed and attached in a lab network; detached and unloaded on close. */
    static final class Attached implements AutoCloseable
    {
        final DatapathFixture datapath;
        final List<AutoCloseable> links = new ArrayList<>();

        Attached(final DatapathFixture datapath)
        {
            this.datapath = datapath;
        }

        @Override
        public void close() throws Exception
        {
            for (int i = links.size() - 1; i >= 0; i--)
            {
                links.get(i).close();
            }
            datapath.close();
        }
    }

    static Attached attach(final LabNetwork network, final TestCgroup cgroup)
    {
        return attach(network, cgroup, false);
    }

    /**
     * With {@code fibRedirect}, {@code sb_xdp} forwards NodePort / LB traffic itself
     * ({@code SB_CFG_F_XDP_FIB_REDIRECT}), and every pod's end of its veth gets GRO on: a frame redirected
     * into a veth reaches the peer only if the peer has NAPI on.
     */
    private static Attached attach(final LabNetwork network, final TestCgroup cgroup, final boolean fibRedirect)
    {
        for (int i = 0; i < 3; i++)
        {
            network.startServer(i, TARGET_PORT);
        }
        final Attached attached = new Attached(DatapathFixture.load());
        try
        {
            program(attached.datapath);
            if (fibRedirect)
            {
                attached.datapath.configFlags(DatapathAbi.CFG_F_XDP_FIB_REDIRECT);
            }
            final Host node = network.node();
            attached.links.add(node.call(() -> attached.datapath.xdp()
                .attachXdp(Interfaces.index(node.interfaceName()), XdpMode.NATIVE)));
            node.run(() ->
            {
                attached.datapath.tcFromExt().attachTc(Interfaces.index(node.interfaceName()), TcDirection.INGRESS, 1, 1);
                for (int i = 0; i < 3; i++)
                {
                    // tc filters live on the interface and go with the namespace
                    attached.datapath.tcFromPod().attachTc(Interfaces.index(network.podInterface(i)),
                        TcDirection.INGRESS, 1, 1);
                }
            });
            if (null != cgroup)
            {
                for (final Map.Entry<String, CgroupHook> hook : Map.of(
                    "sb_sock_connect4", CgroupHook.INET4_CONNECT, "sb_sock_connect6", CgroupHook.INET6_CONNECT,
                    "sb_sock_sendmsg4", CgroupHook.UDP4_SENDMSG, "sb_sock_sendmsg6", CgroupHook.UDP6_SENDMSG,
                    "sb_sock_recvmsg4", CgroupHook.UDP4_RECVMSG, "sb_sock_recvmsg6", CgroupHook.UDP6_RECVMSG,
                    "sb_sock_getpeername4", CgroupHook.INET4_GETPEERNAME,
                    "sb_sock_getpeername6", CgroupHook.INET6_GETPEERNAME).entrySet())
                {
                    final BpfLink link = attached.datapath.program(hook.getKey()).attachCgroup(cgroup.path(),
                        hook.getValue());
                    attached.links.add(link);
                }
            }
            if (fibRedirect)
            {
                // a frame redirected into a veth is dropped unless the peer has NAPI on (GRO or an XDP program);
                // veths come with GRO off
                for (final Host pod : network.pods())
                {
                    pod.exec("ethtool", "-K", pod.interfaceName(), "gro", "on");
                }
            }
            // the LB IP is routed to the node, as a cloud load balancer in VIP mode would deliver it
            network.client().exec("ip", "route", "add", LB_IP.getHostAddress() + "/32", "via", NODE.getHostAddress());
            return attached;
        }
        catch (final RuntimeException ex)
        {
            try
            {
                attached.close();
            }
            catch (final Exception suppressed)
            {
                ex.addSuppressed(suppressed);
            }
            throw ex;
        }
    }

    /** The service: 3 local backends on 8080 behind a ClusterIP, a NodePort and an LB IP; plus pod and empty services. */
    private static void program(final DatapathFixture datapath)
    {
        final int external = DatapathAbi.SVC_F_EXTERNAL;
        for (int i = 0; i < 3; i++)
        {
            final InetAddress pod = address("198.19.0." + (10 + i));
            datapath.backend(11 + i, pod, TARGET_PORT, true);
            datapath.backend(21 + i, pod, TARGET_PORT, true);
            datapath.backend(31 + i, pod, TARGET_PORT, true);
            datapath.backend(41 + i, pod, TARGET_PORT, true);
        }
        datapath.maglevTable(SVC_TCP, DatapathFixture.spread(251, 11, 12, 13));
        datapath.maglevTable(SVC_UDP, DatapathFixture.spread(251, 21, 22, 23));
        // pod 0 is the client of this one and not a backend (a hairpin is MultiNodeTrafficTest's)
        datapath.maglevTable(SVC_POD_TCP, DatapathFixture.spread(251, 32, 33));
        datapath.maglevTable(SVC_POD_UDP, DatapathFixture.spread(251, 42, 43));
        for (final int[] svc : new int[][] {{SVC_TCP, PROTO_TCP}, {SVC_UDP, PROTO_UDP}})
        {
            datapath.service(CLUSTER_IP, 80, svc[1], svc[0], 0, 0);
            datapath.service(NODE, NODE_PORT, svc[1], svc[0], external | DatapathAbi.SVC_F_NODEPORT, 0);
            datapath.service(LB_IP, 80, svc[1], svc[0], external | DatapathAbi.SVC_F_LOADBALANCER, 0);
            datapath.service(EMPTY_CLUSTER_IP, 80, svc[1], SVC_EMPTY, 0, 0);
            datapath.service(EMPTY_CLUSTER_IP6, 80, svc[1], SVC_EMPTY, 0, 0);
            datapath.service(NODE, EMPTY_NODE_PORT, svc[1], SVC_EMPTY, external | DatapathAbi.SVC_F_NODEPORT, 0);
        }
        datapath.service(POD_CLUSTER_IP, 80, PROTO_TCP, SVC_POD_TCP, 0, 0);
        datapath.service(POD_CLUSTER_IP, 80, PROTO_UDP, SVC_POD_UDP, 0, 0);
    }

    @Test
    void clientsReachEveryBackendThroughTheNodePortAndTheLbIpAndSeeTheServiceAsTheirPeer(final LabNetwork network)
        throws Exception
    {
        try (Attached attached = attach(network, null))
        {
            final Host client = network.client();
            for (final InetSocketAddress frontend : List.of(new InetSocketAddress(NODE, NODE_PORT),
                new InetSocketAddress(LB_IP, 80)))
            {
                final Set<String> tcpPods = new HashSet<>();
                final Set<String> udpPods = new HashSet<>();
                for (int i = 0; i < 30; i++)
                {
                    // every request is a new socket, so a new source port and a new flow to balance
                    final Answer tcp = Requests.tcp(client, frontend, TIMEOUT);
                    final Answer udp = Requests.udp(client, frontend, TIMEOUT);
                    for (final Answer answer : List.of(tcp, udp))
                    {
                        assertThat(answer.peer()).as("the client's peer").isEqualTo(frontend);
                        // local backends: no SNAT, the pod sees the client itself
                        assertThat(answer.callerSeenByPod()).isEqualTo(CLIENT);
                    }
                    tcpPods.add(tcp.pod());
                    udpPods.add(udp.pod());
                }
                assertThat(tcpPods).as("TCP via " + frontend).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
                assertThat(udpPods).as("UDP via " + frontend).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
            }
            final DatapathFixture datapath = attached.datapath;
            assertBalanced(datapath, SVC_TCP, SVC_UDP, 60);
            assertThat(datapath.stat("revnat")).as("every reply leaves its pod translated").isGreaterThan(120);
            assertThat(datapath.stat("nat_failed")).isZero();
        }
    }

    @Test
    void withXdpPassNodePortTcpAndUdpReachEveryBackendThroughTheNodesForwarding(final LabNetwork network)
        throws Exception
    {
        try (Attached attached = attach(network, null, false))
        {
            final long forwarded = nodePortSpreadsOverEveryPod(network, attached.datapath);
            assertThat(forwarded).as("the node's stack forwards every translated packet").isGreaterThanOrEqualTo(60 * 2);
        }
    }

    @Test
    void withFibRedirectNodePortTcpAndUdpReachEveryBackendWithoutTheNodesForwarding(final LabNetwork network)
        throws Exception
    {
        try (Attached attached = attach(network, null, true))
        {
            final long forwarded = nodePortSpreadsOverEveryPod(network, attached.datapath);
            // only a packet that finds no neighbour entry for its pod yet goes to the stack: one per pod at most
            assertThat(forwarded).as("packets the node's stack forwarded").isLessThanOrEqualTo(3);
        }
    }

    /**
     * 30 TCP connections and 30 UDP requests from the client to the NodePort: every pod answers, the client sees
     * the NodePort as its peer, the pods see the client. Returns how many datagrams the node's IP stack
     * forwarded meanwhile ({@code Ip: ForwDatagrams}; replies are routed by {@code sb_tc_from_pod}, so these
     * are the client's packets that {@code sb_xdp} passed to the stack).
     */
    private static long nodePortSpreadsOverEveryPod(final LabNetwork network, final DatapathFixture datapath)
    {
        final InetSocketAddress nodePort = new InetSocketAddress(NODE, NODE_PORT);
        // a NIC's frames carry full checksums; a veth's carry CHECKSUM_PARTIAL ones that only the next veth trusts
        // (and a redirected XDP frame loses that state), so the client computes them as a remote host would
        network.client().exec("ethtool", "-K", network.client().interfaceName(), "tx", "off");
        final long forwardedBefore = forwardedDatagrams(network.node());
        final Set<String> tcpPods = new HashSet<>();
        final Set<String> udpPods = new HashSet<>();
        for (int i = 0; i < 30; i++)
        {
            final Answer tcp = Requests.tcp(network.client(), nodePort, TIMEOUT);
            final Answer udp = Requests.udp(network.client(), nodePort, TIMEOUT);
            for (final Answer answer : List.of(tcp, udp))
            {
                assertThat(answer.peer()).as("the client's peer").isEqualTo(nodePort);
                assertThat(answer.callerSeenByPod()).isEqualTo(CLIENT);
            }
            tcpPods.add(tcp.pod());
            udpPods.add(udp.pod());
        }
        final long forwarded = forwardedDatagrams(network.node()) - forwardedBefore;
        assertThat(tcpPods).as("TCP pods").containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
        assertThat(udpPods).as("UDP pods").containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
        assertBalanced(datapath, SVC_TCP, SVC_UDP, 30);
        assertThat(datapath.stat("nat_failed")).isZero();
        return forwarded;
    }

    /** {@code Ip: ForwDatagrams} of a host's namespace, from its {@code /proc/net/snmp}. */
    private static long forwardedDatagrams(final Host host)
    {
        final List<String> ip = host.exec("cat", "/proc/net/snmp").lines().filter(l -> l.startsWith("Ip: ")).toList();
        final List<String> names = List.of(ip.get(0).split(" "));
        return Long.parseLong(ip.get(1).split(" ")[names.indexOf("ForwDatagrams")]);
    }

    @Test
    void aClientOfAServiceWithoutEndpointsIsRefusedAtOnceOverTcpAndUdp(final LabNetwork network) throws Exception
    {
        try (Attached attached = attach(network, null))
        {
            assertRefusedWithin(network.client(), new InetSocketAddress(NODE, EMPTY_NODE_PORT), TIMEOUT);

            assertThat(attached.datapath.svcCounter(SVC_EMPTY, "refused")).isGreaterThanOrEqualTo(2);
        }
    }

    /**
     * The client runs no program of any kind: a connection to a frontend without endpoints is refused
     * within 100 ms (TCP: the RST gives ECONNREFUSED; UDP: the ICMP / ICMPv6 port unreachable gives
     * ECONNREFUSED, PortUnreachableException, on a connected socket), both families. The frontends are
     * ClusterIPs routed to the node, not node addresses, so the node's kernel could not be the one
     * refusing (it would answer "no route"), and the replies are counted as sent by tc.
     */
    @Test
    void aPlainClientOfAServiceWithoutEndpointsIsRefusedWithin100MsOverTcpAndUdpOnBothFamilies(
        final LabNetwork network) throws Exception
    {
        try (Attached attached = attach(network, null))
        {
            assertThat(network.client().exec("ip", "-d", "link", "show", network.client().interfaceName()))
                .as("nothing on the client's end").doesNotContain("xdp");
            for (final InetAddress empty : List.of(EMPTY_CLUSTER_IP, EMPTY_CLUSTER_IP6))
            {
                assertRefusedWithin(network.client(), new InetSocketAddress(empty, 80), REFUSAL_DEADLINE);
            }
            assertThat(attached.datapath.svcCounter(SVC_EMPTY, "refused")).isEqualTo(4);
            assertThat(attached.datapath.stat("reply_tc")).isEqualTo(4);
        }
    }

    /** What a client must see at once from a frontend without endpoints, as the issue asks: 100 ms. */
    static final Duration REFUSAL_DEADLINE = Duration.ofMillis(100);

    /**
     * Connects to {@code target} over TCP and over connected UDP from {@code client}, each allowed
     * {@code deadline}: both must be refused (ECONNREFUSED) before it, not time out.
     */
    static void assertRefusedWithin(final Host client, final InetSocketAddress target, final Duration deadline)
        throws Exception
    {
        final Throwable tcp = client.call(() ->
        {
            try (Socket socket = new Socket())
            {
                socket.connect(target, (int)deadline.toMillis());
                return null;
            }
            catch (final java.io.IOException ex)
            {
                return ex;
            }
        });
        assertThat(tcp).as("TCP to %s", target).isInstanceOf(ConnectException.class)
            .hasMessageContaining("refused");
        final Throwable udp = client.call(() ->
        {
            try (DatagramSocket socket = new DatagramSocket())
            {
                socket.connect(target);
                socket.setSoTimeout((int)deadline.toMillis());
                final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(request, request.length));
                socket.receive(new DatagramPacket(new byte[64], 64));
                return null;
            }
            catch (final java.io.IOException ex)
            {
                return ex;
            }
        });
        assertThat(udp).as("UDP to %s: ICMP port unreachable on a connected socket", target)
            .isInstanceOf(PortUnreachableException.class);
    }

    @Test
    void aProcessInTheCgroupReachesTheClusterIpThroughTheSocketHooksAndSeesItAsItsPeer(final LabNetwork network,
        final TestCgroup cgroup) throws Exception
    {
        try (Attached attached = attach(network, cgroup))
        {
            final String clusterIp = CLUSTER_IP.getHostAddress();
            final List<String> lines = runInCgroup(cgroup, network.node(),
                "tcp", clusterIp, "80", "30",
                "udp", clusterIp, "80", "30",
                "refused", EMPTY_CLUSTER_IP.getHostAddress(), "80");

            final Set<String> tcpPods = new HashSet<>();
            final Set<String> udpPods = new HashSet<>();
            for (final String line : lines.subList(0, 60))
            {
                final String[] fields = line.split(" ");
                // getpeername / recvfrom report the ClusterIP: the hooks translated back
                assertThat(fields[3]).as(line).isEqualTo(clusterIp + ":80");
                (fields[0].equals("tcp") ? tcpPods : udpPods).add(fields[1]);
            }
            assertThat(tcpPods).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
            assertThat(udpPods).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
            assertThat(lines.get(60)).isEqualTo("refused");
            final DatapathFixture datapath = attached.datapath;
            assertThat(datapath.stat("sock_xlate")).isEqualTo(60);
            assertThat(datapath.stat("sock_revnat")).isGreaterThanOrEqualTo(60);
            assertThat(datapath.stat("sock_refused")).isEqualTo(1);
            assertThat(datapath.svcCounter(SVC_EMPTY, "refused")).isEqualTo(1);
        }
    }

    @Test
    void aPodReachesAClusterIpThroughTcFromPodAndItsRepliesComeFromTheClusterIp(final LabNetwork network)
        throws Exception
    {
        try (Attached attached = attach(network, null))
        {
            final Host pod = network.pod(0);
            final InetSocketAddress service = new InetSocketAddress(POD_CLUSTER_IP, 80);
            final Set<String> pods = new HashSet<>();
            for (int i = 0; i < 20; i++)
            {
                // the TCP handshake completes only if the SYN-ACK comes back from the ClusterIP
                final Answer tcp = Requests.tcp(pod, service, TIMEOUT);
                // recvfrom reports the source the datagram arrived with
                final Answer udp = Requests.udp(pod, service, TIMEOUT);
                assertThat(udp.peer()).isEqualTo(service);
                assertThat(tcp.callerSeenByPod()).isEqualTo(pod.address4());
                assertThat(udp.callerSeenByPod()).isEqualTo(pod.address4());
                pods.add(tcp.pod());
                pods.add(udp.pod());
            }
            assertThat(pods).containsExactlyInAnyOrder("pod-1", "pod-2");
            assertBalanced(attached.datapath, SVC_POD_TCP, SVC_POD_UDP, 20);
        }
    }

    /**
     * {@code connections} TCP connections and as many UDP requests, each from a new socket, were balanced:
     * every SYN afresh (a retransmitted SYN would be again); a UDP socket may get the ephemeral port of an
     * earlier one, whose flow conntrack still holds, so each datagram is a new flow or a conntrack hit.
     */
    private static void assertBalanced(final DatapathFixture datapath, final int tcpSvcId, final int udpSvcId,
        final int connections)
    {
        assertThat(datapath.svcCounter(tcpSvcId, "new_flows")).isBetween((long)connections, connections + 5L);
        assertThat(datapath.svcCounter(udpSvcId, "new_flows") + datapath.svcCounter(udpSvcId, "ct_hits"))
            .isEqualTo(connections);
    }

    /** Runs {@link ServiceClient} with {@code args} in the cgroup and the host's namespace; its output lines. */
    private static List<String> runInCgroup(final TestCgroup cgroup, final Host host, final String... args)
        throws Exception
    {
        final String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        final String classPath = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        final List<String> command = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED", "-Xshare:auto", "-XX:TieredStopAtLevel=1",
            "-cp", classPath, ServiceClient.class.getName()));
        command.addAll(List.of(args));
        final Process process = cgroup.start(host, command.toArray(String[]::new));
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output.lines().filter(line -> !line.isBlank()).toList();
    }
}
