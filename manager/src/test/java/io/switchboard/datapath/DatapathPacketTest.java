package io.switchboard.datapath;

import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.TestRunResult;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Packet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Stream;

import static io.switchboard.datapath.DatapathAbi.PROTO_TCP;
import static io.switchboard.datapath.DatapathAbi.PROTO_UDP;
import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Packet fixtures through {@code BPF_PROG_TEST_RUN}, in three steps each: build the packet, set up the
 * maps (the world below, written by {@link DatapathFixture}), check the action, the bytes that come
 * out (every output frame's checksums recomputed) and the counters.
 */
@KernelTest
class DatapathPacketTest
{
    static final int TC_ACT_OK = 0;
    static final int TC_ACT_SHOT = 2;
    static final int TC_ACT_REDIRECT = 7;

    static final InetAddress CLIENT4 = address("198.18.0.2");
    static final InetAddress CLIENT6 = address("fd00:18::2");
    static final InetAddress CLUSTER_IP4 = address("10.96.0.10");
    static final InetAddress CLUSTER_IP6 = address("fd00:96::10");
    static final InetAddress NODE4 = address("198.18.0.1");
    static final InetAddress NODE6 = address("fd00:18::1");
    static final InetAddress LB4 = address("203.0.113.10");
    static final InetAddress LB6 = address("2001:db8::10");
    static final InetAddress POD4 = address("198.19.0.10");
    static final InetAddress POD4_B = address("198.19.0.11");
    static final InetAddress POD6 = address("fd00:19::a");
    static final InetAddress EMPTY4 = address("10.96.0.20");
    static final InetAddress EMPTY6 = address("fd00:96::20");
    static final InetAddress LOCAL_ONLY4 = address("10.96.0.30");
    static final InetAddress RANGED_LB4 = address("203.0.113.20");
    static final InetAddress AFFINITY4 = address("10.96.0.40");
    static final InetAddress PINNED4 = address("10.96.0.50");
    static final int NODE_PORT = 30080;
    static final int TARGET_PORT = 8080;

    /** One backend each, so the expected translation is known: svc_id = backend id / 10. */
    static final int SVC_TCP4 = 1;
    static final int SVC_UDP4 = 2;
    static final int SVC_TCP6 = 3;
    static final int SVC_UDP6 = 4;
    /** No endpoint anywhere: refused. */
    static final int SVC_EMPTY4 = 5;
    static final int SVC_EMPTY6 = 6;
    /** Local policy, endpoints only on other nodes: dropped. */
    static final int SVC_LOCAL_ONLY = 7;
    /** LB IP with loadBalancerSourceRanges 198.18.0.0/24. */
    static final int SVC_RANGED = 8;
    /** ClientIP affinity, 60 s, three backends. */
    static final int SVC_AFFINITY = 9;
    /** Two backends whose table the conntrack tests switch. */
    static final int SVC_PINNED = 10;
    /** A two-half table whose frontends the halves test rewrites. */
    static final int SVC_HALVES = 40;

    private DatapathFixture datapath;

    @BeforeEach
    void programTheWorld()
    {
        datapath = DatapathFixture.load();
        program(datapath);
    }

    /** The world below, in {@code datapath}; replies generated on the test run's interface leave with XDP_TX. */
    private static void program(final DatapathFixture datapath)
    {
        datapath.replies(DatapathFixture.TEST_RUN_IFINDEX, true);
        final int external = DatapathAbi.SVC_F_EXTERNAL;
        oneBackendService(datapath, SVC_TCP4, PROTO_TCP, POD4, CLUSTER_IP4, NODE4, LB4);
        oneBackendService(datapath, SVC_UDP4, PROTO_UDP, POD4, CLUSTER_IP4, NODE4, LB4);
        oneBackendService(datapath, SVC_TCP6, PROTO_TCP, POD6, CLUSTER_IP6, NODE6, LB6);
        oneBackendService(datapath, SVC_UDP6, PROTO_UDP, POD6, CLUSTER_IP6, NODE6, LB6);

        for (final int protocol : new int[] {PROTO_TCP, PROTO_UDP})
        {
            datapath.service(EMPTY4, 80, protocol, SVC_EMPTY4, 0, 0);
            datapath.service(EMPTY6, 80, protocol, SVC_EMPTY6, 0, 0);
        }
        datapath.service(LOCAL_ONLY4, 80, PROTO_TCP, SVC_LOCAL_ONLY,
            external | DatapathAbi.SVC_F_LOCAL_ONLY | DatapathAbi.SVC_F_ANY_ENDPOINTS, 0);

        datapath.backend(81, POD4, TARGET_PORT, true);
        datapath.maglevTable(SVC_RANGED, DatapathFixture.spread(7, 81));
        datapath.service(RANGED_LB4, 80, PROTO_TCP, SVC_RANGED,
            external | DatapathAbi.SVC_F_LOADBALANCER | DatapathAbi.SVC_F_SOURCE_RANGES, 0);
        datapath.sourceRange(SVC_RANGED, "198.18.0.0/24");

        for (int i = 0; i < 3; i++)
        {
            datapath.backend(91 + i, address("198.19.0." + (10 + i)), TARGET_PORT, true);
        }
        datapath.maglevTable(SVC_AFFINITY, DatapathFixture.spread(251, 91, 92, 93));
        datapath.service(AFFINITY4, 80, PROTO_TCP, SVC_AFFINITY, DatapathAbi.SVC_F_AFFINITY, 60);

        datapath.backend(101, POD4, TARGET_PORT, true);
        datapath.backend(102, POD4_B, TARGET_PORT, true);
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 101));
        datapath.service(PINNED4, 80, PROTO_TCP, SVC_PINNED, 0, 0);
    }

    /** ClusterIP:80, node address:30080 and LB IP:80 of one service port whose only backend is pod:8080. */
    private static void oneBackendService(final DatapathFixture datapath, final int svcId, final int protocol, final InetAddress pod,
        final InetAddress clusterIp, final InetAddress node, final InetAddress lb)
    {
        final int backendId = svcId * 10 + 1;
        datapath.backend(backendId, pod, TARGET_PORT, true);
        datapath.maglevTable(svcId, DatapathFixture.spread(7, backendId));
        datapath.service(clusterIp, 80, protocol, svcId, 0, 0);
        datapath.service(node, NODE_PORT, protocol, svcId, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT, 0);
        datapath.service(lb, 80, protocol, svcId, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_LOADBALANCER, 0);
    }

    @AfterEach
    void unload()
    {
        datapath.close();
    }

    /**
     * Runs {@code program} on {@code frame}. Every frame that comes out must have valid checksums, recomputed
     * here; only a frame that came in broken (a truncated fixture) may leave broken, and then unchanged.
     */
    static TestRunResult run(final BpfProgram program, final byte[] frame)
    {
        final TestRunResult result = program.testRun(frame);
        final boolean brokenAndUntouched = !Packet.checksumsValid(frame) && Arrays.equals(frame, result.packet());
        assertThat(brokenAndUntouched || Packet.checksumsValid(result.packet()))
            .as("checksums of the frame %s sent out", program.name()).isTrue();
        return result;
    }

    /** How a fixture packet is shaped, given its 4-tuple: so the expected output is the same shape re-addressed. */
    interface Shape
    {
        Packet to(InetAddress source, int sourcePort, InetAddress destination, int destinationPort);
    }

    record Translation(String description, String program, InetAddress client, InetAddress frontend, int port,
        InetAddress backend, int svcId, Shape shape)
    {
        @Override
        public String toString()
        {
            return description;
        }
    }

    static Stream<Translation> translations()
    {
        final byte[] data = "GET / HTTP/1.1\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        final Shape syn = (s, sp, d, dp) -> Packet.tcp(s, sp, d, dp).syn().sequence(7000, 0);
        final Shape segment = (s, sp, d, dp) -> Packet.tcp(s, sp, d, dp)
            .flags(Packet.TCP_ACK | Packet.TCP_PSH).sequence(7001, 9001).payload(data);
        final Shape datagram = (s, sp, d, dp) -> Packet.udp(s, sp, d, dp).payload(data);
        final Shape noChecksum = (s, sp, d, dp) -> Packet.udp(s, sp, d, dp).payload(data).withoutUdpChecksum();
        final String xdp = DatapathAbi.PROGRAM_XDP;
        final String tc = DatapathAbi.PROGRAM_TC_FROM_POD;
        return Stream.of(
            new Translation("XDP: TCP SYN to a ClusterIP", xdp, CLIENT4, CLUSTER_IP4, 80, POD4, SVC_TCP4, syn),
            new Translation("XDP: TCP SYN to a NodePort", xdp, CLIENT4, NODE4, NODE_PORT, POD4, SVC_TCP4, syn),
            new Translation("XDP: TCP SYN to an LB IP", xdp, CLIENT4, LB4, 80, POD4, SVC_TCP4, syn),
            new Translation("XDP: TCP data to a ClusterIP", xdp, CLIENT4, CLUSTER_IP4, 80, POD4, SVC_TCP4, segment),
            new Translation("XDP: TCP data to a NodePort", xdp, CLIENT4, NODE4, NODE_PORT, POD4, SVC_TCP4, segment),
            new Translation("XDP: TCP data to an LB IP", xdp, CLIENT4, LB4, 80, POD4, SVC_TCP4, segment),
            new Translation("XDP: UDP to a ClusterIP", xdp, CLIENT4, CLUSTER_IP4, 80, POD4, SVC_UDP4, datagram),
            new Translation("XDP: UDP to a NodePort", xdp, CLIENT4, NODE4, NODE_PORT, POD4, SVC_UDP4, datagram),
            new Translation("XDP: UDP to an LB IP", xdp, CLIENT4, LB4, 80, POD4, SVC_UDP4, datagram),
            new Translation("XDP: UDP without checksum keeps 0", xdp, CLIENT4, NODE4, NODE_PORT, POD4, SVC_UDP4,
                noChecksum),
            new Translation("XDP: IPv6 TCP SYN to a ClusterIP", xdp, CLIENT6, CLUSTER_IP6, 80, POD6, SVC_TCP6, syn),
            new Translation("XDP: IPv6 TCP SYN to a NodePort", xdp, CLIENT6, NODE6, NODE_PORT, POD6, SVC_TCP6, syn),
            new Translation("XDP: IPv6 TCP data to an LB IP", xdp, CLIENT6, LB6, 80, POD6, SVC_TCP6, segment),
            new Translation("XDP: IPv6 UDP to a ClusterIP", xdp, CLIENT6, CLUSTER_IP6, 80, POD6, SVC_UDP6, datagram),
            new Translation("XDP: IPv6 UDP to a NodePort", xdp, CLIENT6, NODE6, NODE_PORT, POD6, SVC_UDP6, datagram),
            new Translation("XDP: IPv6 UDP to an LB IP", xdp, CLIENT6, LB6, 80, POD6, SVC_UDP6, datagram),
            new Translation("tc from pod: TCP SYN to a ClusterIP", tc, POD4_B, CLUSTER_IP4, 80, POD4, SVC_TCP4, syn),
            new Translation("tc from pod: TCP data to a ClusterIP", tc, POD4_B, CLUSTER_IP4, 80, POD4, SVC_TCP4,
                segment),
            new Translation("tc from pod: UDP to a ClusterIP", tc, POD4_B, CLUSTER_IP4, 80, POD4, SVC_UDP4, datagram),
            new Translation("tc from pod: IPv6 TCP SYN to a ClusterIP", tc, address("fd00:19::b"), CLUSTER_IP6, 80,
                POD6, SVC_TCP6, syn),
            new Translation("tc from pod: IPv6 UDP to a ClusterIP", tc, address("fd00:19::b"), CLUSTER_IP6, 80,
                POD6, SVC_UDP6, datagram));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("translations")
    void aPacketToAFrontendLeavesAddressedToTheBackendWithEverythingElseUnchanged(final Translation c)
    {
        final byte[] sent = c.shape().to(c.client(), 40000, c.frontend(), c.port()).build();
        final boolean xdp = c.program().equals(DatapathAbi.PROGRAM_XDP);

        final TestRunResult result = run(datapath.program(c.program()), sent);

        assertThat(result.returnValue()).isEqualTo(xdp ? TestRunResult.XDP_PASS : TC_ACT_OK);
        // the same packet built to the backend: only addresses, ports and checksums may differ
        assertThat(result.packet()).isEqualTo(c.shape().to(c.client(), 40000, c.backend(), TARGET_PORT).build());
        assertThat(datapath.svcCounter(c.svcId(), "packets")).isEqualTo(1);
        assertThat(datapath.svcCounter(c.svcId(), "bytes")).isEqualTo(sent.length);
        assertThat(datapath.svcCounter(c.svcId(), "new_flows")).isEqualTo(1);
        assertThat(datapath.stat("service")).isEqualTo(1);
        assertThat(datapath.stat("passed")).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("translations")
    void theBackendsReplyLeavesThePodWithTheFrontendAsItsSource(final Translation c)
    {
        datapath.program(c.program()).testRun(c.shape().to(c.client(), 40000, c.frontend(), c.port()).build());
        final Shape reply = c.shape();
        final byte[] fromBackend = reply.to(c.backend(), TARGET_PORT, c.client(), 40000).build();

        final TestRunResult fromPod = run(datapath.tcFromPod(), fromBackend);
        final TestRunResult toClient = run(datapath.tcToClient(), fromBackend);

        final byte[] fromFrontend = reply.to(c.frontend(), c.port(), c.client(), 40000).build();
        assertThat(fromPod.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(fromPod.packet()).isEqualTo(fromFrontend);
        assertThat(toClient.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(toClient.packet()).isEqualTo(fromFrontend);
        assertThat(datapath.stat("revnat")).isEqualTo(2);
        assertThat(datapath.svcCounter(c.svcId(), "packets")).as("replies are not service packets").isEqualTo(1);
    }

    @Test
    void aSynToAServiceWithoutEndpointsIsAnsweredWithRstAckFromTheFrontend()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, EMPTY4, 80).syn().sequence(7000, 0).build();

        final TestRunResult result = run(datapath.xdp(), syn);

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        final Frame rst = new Frame(result.packet());
        assertThat(rst.length()).isEqualTo(54);
        assertThat(rst.destinationMac()).isEqualTo(new Frame(syn).sourceMac());
        assertThat(rst.sourceMac()).isEqualTo(new Frame(syn).destinationMac());
        assertThat(rst.source()).isEqualTo(EMPTY4);
        assertThat(rst.sourcePort()).isEqualTo(80);
        assertThat(rst.destination()).isEqualTo(CLIENT4);
        assertThat(rst.destinationPort()).isEqualTo(40000);
        // RFC 793: no ACK in the segment => <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, the SYN counting 1
        assertThat(rst.tcpFlags()).isEqualTo(Packet.TCP_RST | Packet.TCP_ACK);
        assertThat(rst.sequence()).isZero();
        assertThat(rst.acknowledgement()).isEqualTo(7001);
        assertThat(datapath.svcCounter(SVC_EMPTY4, "refused")).isEqualTo(1);
        assertThat(datapath.svcCounter(SVC_EMPTY4, "packets")).isEqualTo(1);
    }

    @Test
    void aSegmentWithAckToAServiceWithoutEndpointsIsAnsweredWithRstCarryingItsAckAsSequence()
    {
        final byte[] segment = Packet.tcp(CLIENT6, 40000, EMPTY6, 80).flags(Packet.TCP_ACK | Packet.TCP_PSH)
            .sequence(7001, 123456789).payload(new byte[100]).build();

        final TestRunResult result = run(datapath.xdp(), segment);

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        final Frame rst = new Frame(result.packet());
        assertThat(rst.length()).isEqualTo(74);
        assertThat(rst.source()).isEqualTo(EMPTY6);
        assertThat(rst.destination()).isEqualTo(CLIENT6);
        // RFC 793: the segment carried ACK => <SEQ=SEG.ACK><CTL=RST>
        assertThat(rst.tcpFlags()).isEqualTo(Packet.TCP_RST);
        assertThat(rst.sequence()).isEqualTo(123456789);
        assertThat(datapath.svcCounter(SVC_EMPTY6, "refused")).isEqualTo(1);
    }

    @Test
    void aSynFromAPodToAServiceWithoutEndpointsIsRedirectedBackAsRst()
    {
        final byte[] syn = Packet.tcp(POD4_B, 40000, EMPTY4, 80).syn().sequence(1, 0).build();

        final TestRunResult result = run(datapath.tcFromPod(), syn);

        assertThat(result.returnValue()).isEqualTo(TC_ACT_REDIRECT);
        final Frame rst = new Frame(result.packet());
        assertThat(rst.source()).isEqualTo(EMPTY4);
        assertThat(rst.destination()).isEqualTo(POD4_B);
        assertThat(rst.tcpFlags()).isEqualTo(Packet.TCP_RST | Packet.TCP_ACK);
        assertThat(rst.acknowledgement()).isEqualTo(2);
        assertThat(datapath.svcCounter(SVC_EMPTY4, "refused")).isEqualTo(1);
    }

    @Test
    void aRstToAServiceWithoutEndpointsIsDroppedNotAnswered()
    {
        final byte[] reset = Packet.tcp(CLIENT4, 40000, EMPTY4, 80).flags(Packet.TCP_RST).build();

        final TestRunResult result = run(datapath.xdp(), reset);

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        assertThat(datapath.svcCounter(SVC_EMPTY4, "refused")).isEqualTo(1);
    }

    @Test
    void udpToAServiceWithoutEndpointsIsAnsweredWithIcmpPortUnreachableQuotingTheDatagram()
    {
        final byte[] datagram = Packet.udp(CLIENT4, 40000, EMPTY4, 80).payload(new byte[64]).build();

        final TestRunResult result = run(datapath.xdp(), datagram);

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        final Frame icmp = new Frame(result.packet());
        assertThat(icmp.length()).isEqualTo(70);
        assertThat(icmp.protocol()).isEqualTo(Packet.PROTO_ICMP);
        assertThat(icmp.source()).isEqualTo(EMPTY4);
        assertThat(icmp.destination()).isEqualTo(CLIENT4);
        assertThat(icmp.icmpType()).isEqualTo(3);
        assertThat(icmp.icmpCode()).isEqualTo(3);
        assertThat(icmp.icmpQuote()).isEqualTo(Arrays.copyOfRange(datagram, Packet.ETH_HLEN, Packet.ETH_HLEN + 28));
        assertThat(datapath.svcCounter(SVC_EMPTY4, "refused")).isEqualTo(1);
    }

    @Test
    void ipv6UdpToAServiceWithoutEndpointsIsAnsweredWithIcmpv6PortUnreachable()
    {
        final byte[] datagram = Packet.udp(CLIENT6, 40000, EMPTY6, 80).payload(new byte[64]).build();

        final TestRunResult xdp = run(datapath.xdp(), datagram);
        final TestRunResult tc = run(datapath.tcFromPod(), datagram);

        assertThat(xdp.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        assertThat(tc.returnValue()).isEqualTo(TC_ACT_REDIRECT);
        for (final byte[] answer : List.of(xdp.packet(), tc.packet()))
        {
            final Frame icmp = new Frame(answer);
            assertThat(icmp.length()).isEqualTo(110);
            assertThat(icmp.protocol()).isEqualTo(Packet.PROTO_ICMPV6);
            assertThat(icmp.source()).isEqualTo(EMPTY6);
            assertThat(icmp.icmpType()).isEqualTo(1);
            assertThat(icmp.icmpCode()).isEqualTo(4);
            assertThat(icmp.icmpQuote()).isEqualTo(Arrays.copyOfRange(datagram, Packet.ETH_HLEN, Packet.ETH_HLEN + 48));
        }
        assertThat(datapath.svcCounter(SVC_EMPTY6, "refused")).isEqualTo(2);
    }

    /** The 4 bytes of XDP metadata {@code sb_xdp} puts in front of a frame it hands to tc to answer ({@code SB_REPLY_MARK}). */
    static final byte[] REPLY_MARK = ByteBuffer.allocate(4).order(ByteOrder.nativeOrder()).putInt(0x5342a7c1).array();

    static byte[] marked(final byte[] frame)
    {
        return ByteBuffer.allocate(REPLY_MARK.length + frame.length).put(REPLY_MARK).put(frame).array();
    }

    /**
     * On an interface without XDP_TX ({@code sb_ifaces}), a refusal leaves {@code sb_xdp} untouched with the
     * reply mark in its metadata ({@code XDP_PASS}; without XDP metadata on this kernel, unmarked), and the tc path answers it with the very bytes
     * {@code XDP_TX} would have sent, redirected to the interface it came from: RST for TCP, ICMP / ICMPv6
     * port unreachable for UDP, both families.
     */
    @Test
    void withoutXdpTxARefusalIsHandedToTcWhichSendsTheSameReplyBack()
    {
        final List<byte[]> requests = List.of(
            Packet.tcp(CLIENT4, 40000, EMPTY4, 80).syn().sequence(7000, 0).build(),
            Packet.tcp(CLIENT6, 40000, EMPTY6, 80).syn().sequence(7000, 0).build(),
            Packet.tcp(CLIENT6, 40000, EMPTY6, 80).flags(Packet.TCP_ACK).sequence(7001, 99).build(),
            Packet.udp(CLIENT4, 40000, EMPTY4, 80).payload(new byte[64]).build(),
            Packet.udp(CLIENT6, 40000, EMPTY6, 80).payload(new byte[3]).build());
        try (DatapathFixture tcPath = DatapathFixture.load(DatapathFixture.TC_REPLY_TEST_OBJECT))
        {
            program(tcPath);
            tcPath.replies(DatapathFixture.TEST_RUN_IFINDEX, false);
            for (final byte[] request : requests)
            {
                final TestRunResult xdpTx = run(datapath.xdp(), request);
                final TestRunResult handed = tcPath.xdp().testRun(request);
                final TestRunResult tc = run(tcPath.tcReply(), request);

                assertThat(xdpTx.returnValue()).isEqualTo(TestRunResult.XDP_TX);
                assertThat(handed.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
                assertThat(handed.packet()).isEqualTo(tcPath.handedOver(request));
                assertThat(tc.returnValue()).isEqualTo(TC_ACT_REDIRECT);
                assertThat(tc.packet()).isEqualTo(xdpTx.packet());
            }
            assertThat(tcPath.svcCounter(SVC_EMPTY4, "refused")).as("counted once, by sb_xdp").isEqualTo(2);
            assertThat(tcPath.svcCounter(SVC_EMPTY6, "refused")).isEqualTo(3);
            assertThat(tcPath.stat("reply_tc")).isEqualTo(requests.size());
            assertThat(datapath.stat("reply_tc")).isZero();
        }
    }

    /**
     * Built without XDP metadata (what a kernel that refuses {@code bpf_xdp_adjust_meta} to XDP gets; any kernel
     * runs it): {@code sb_xdp} passes a refusal untouched and {@code sb_tc_from_ext} itself finds it (an interface
     * that answers by tc, a frame to a frontend without any backend) and sends the bytes {@code XDP_TX} would have;
     * what is not for such a frontend, and anything on an interface where {@code XDP_TX} answers, goes on untouched.
     */
    @Test
    void withoutXdpMetadataTcFromExtFindsTheRefusedFramesItselfAndAnswersThem()
    {
        final List<byte[]> requests = List.of(
            Packet.tcp(CLIENT4, 40000, EMPTY4, 80).syn().sequence(7000, 0).build(),
            Packet.tcp(CLIENT6, 40000, EMPTY6, 80).syn().sequence(7000, 0).build(),
            Packet.udp(CLIENT4, 40000, EMPTY4, 80).payload(new byte[64]).build(),
            Packet.udp(CLIENT6, 40000, EMPTY6, 80).payload(new byte[3]).build());
        final byte[] elsewhere = Packet.tcp(CLIENT4, 40000, address("10.96.0.99"), 80).syn().build();
        try (DatapathFixture unmarked = DatapathFixture.load(DatapathAbi.OBJECT_RESOURCE, new DatapathLoadOptions(false)))
        {
            program(unmarked);
            unmarked.replies(DatapathFixture.TEST_RUN_IFINDEX, false);
            for (final byte[] request : requests)
            {
                final TestRunResult xdpTx = run(datapath.xdp(), request);
                final TestRunResult handed = unmarked.xdp().testRun(request);
                final TestRunResult tc = run(unmarked.tcFromExt(), request);

                assertThat(handed.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
                assertThat(handed.packet()).as("untouched, no metadata").isEqualTo(request);
                assertThat(tc.returnValue()).isEqualTo(TC_ACT_REDIRECT);
                assertThat(tc.packet()).isEqualTo(xdpTx.packet());
            }
            final TestRunResult passed = run(unmarked.tcFromExt(), elsewhere);
            assertThat(passed.returnValue()).isEqualTo(TC_ACT_OK);
            assertThat(passed.packet()).isEqualTo(elsewhere);
            // a frame at a frontend that has backends was not refused by sb_xdp: e.g. a translated packet whose
            // backend address:port is itself a frontend (an externalIP served by a hostNetwork pod) goes on
            final byte[] served = Packet.tcp(CLIENT4, 40000, CLUSTER_IP4, 80).syn().build();
            final TestRunResult onItsWay = run(unmarked.tcFromExt(), served);
            assertThat(onItsWay.returnValue()).isEqualTo(TC_ACT_OK);
            assertThat(onItsWay.packet()).isEqualTo(served);
            assertThat(unmarked.stat("reply_tc")).isEqualTo(requests.size());

            unmarked.replies(DatapathFixture.TEST_RUN_IFINDEX, true);
            final TestRunResult answeredByXdp = run(unmarked.tcFromExt(), requests.getFirst());
            assertThat(answeredByXdp.returnValue()).as("XDP_TX answers there: nothing was handed over")
                .isEqualTo(TC_ACT_OK);
            assertThat(answeredByXdp.packet()).isEqualTo(requests.getFirst());
            assertThat(unmarked.stat("reply_tc")).isEqualTo(requests.size());
        }
    }

    /** What sb_tc_from_ext finds marked but no longer to answer (the frontend went away) goes on to the stack. */
    @Test
    void theTcPathPassesAMarkedFrameThatIsNoLongerForAFrontendAndNeverAnswersARst()
    {
        final byte[] elsewhere = Packet.tcp(CLIENT4, 40000, address("10.96.0.99"), 80).syn().build();
        final byte[] reset = Packet.tcp(CLIENT4, 40000, EMPTY4, 80).flags(Packet.TCP_RST).build();
        try (DatapathFixture tcPath = DatapathFixture.load(DatapathFixture.TC_REPLY_TEST_OBJECT))
        {
            program(tcPath);

            final TestRunResult passed = run(tcPath.tcReply(), elsewhere);
            final TestRunResult dropped = run(tcPath.tcReply(), reset);

            assertThat(passed.returnValue()).isEqualTo(TC_ACT_OK);
            assertThat(passed.packet()).isEqualTo(elsewhere);
            assertThat(dropped.returnValue()).isEqualTo(TC_ACT_SHOT);
            assertThat(tcPath.stat("reply_tc")).isZero();
        }
    }

    /** An unmarked frame to an empty frontend is not sb_tc_from_ext's to answer: only sb_xdp decides refusals. */
    @Test
    void tcFromExtAnswersNothingSbXdpDidNotHandOver()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, EMPTY4, 80).syn().build();

        final TestRunResult result = run(datapath.tcFromExt(), syn);

        assertThat(result.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(result.packet()).isEqualTo(syn);
        assertThat(datapath.svcCounter(SVC_EMPTY4, "refused")).isZero();
    }

    @Test
    void aLocalPolicyFrontendWithEndpointsOnlyElsewhereDropsInsteadOfRefusing()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, LOCAL_ONLY4, 80).syn().build();

        final TestRunResult xdp = run(datapath.xdp(), syn);
        final TestRunResult tc = run(datapath.tcFromPod(), syn);

        assertThat(xdp.returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        assertThat(tc.returnValue()).isEqualTo(TC_ACT_SHOT);
        assertThat(datapath.svcCounter(SVC_LOCAL_ONLY, "dropped_no_local")).isEqualTo(2);
        assertThat(datapath.svcCounter(SVC_LOCAL_ONLY, "refused")).isZero();
    }

    @Test
    void aClientInsideTheSourceRangesIsTranslatedAndOneOutsideIsDropped()
    {
        final byte[] inside = Packet.tcp(CLIENT4, 40000, RANGED_LB4, 80).syn().build();
        final byte[] outside = Packet.tcp(address("192.0.2.7"), 40000, RANGED_LB4, 80).syn().build();

        final TestRunResult allowed = run(datapath.xdp(), inside);
        final TestRunResult dropped = run(datapath.xdp(), outside);

        assertThat(allowed.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        assertThat(allowed.packet()).isEqualTo(Packet.tcp(CLIENT4, 40000, POD4, TARGET_PORT).syn().build());
        assertThat(dropped.returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        assertThat(datapath.svcCounter(SVC_RANGED, "new_flows")).isEqualTo(1);
        assertThat(datapath.svcCounter(SVC_RANGED, "dropped_source_range")).isEqualTo(1);
    }

    @Test
    void aClientKeepsItsBackendAcrossConnectionsUntilTheAffinityTimeoutPasses()
    {
        final InetAddress first = new Frame(run(datapath.xdp(),
            Packet.tcp(CLIENT4, 40000, AFFINITY4, 80).syn().build()).packet()).destination();

        final Set<InetAddress> held = new HashSet<>();
        for (int port = 40001; port <= 40020; port++)
        {
            held.add(new Frame(run(datapath.xdp(), Packet.tcp(CLIENT4, port, AFFINITY4, 80).syn().build()).packet())
                .destination());
        }
        assertThat(held).containsExactly(first);
        assertThat(datapath.svcCounter(SVC_AFFINITY, "affinity_hits")).isEqualTo(20);
        assertThat(datapath.svcCounter(SVC_AFFINITY, "new_flows")).isEqualTo(1);

        // last used 61 s ago, with a 60 s timeout: the next connection is balanced by Maglev again
        assertThat(datapath.ageAffinity(SVC_AFFINITY, CLIENT4, 61)).isTrue();
        run(datapath.xdp(), Packet.tcp(CLIENT4, 40021, AFFINITY4, 80).syn().build());
        assertThat(datapath.svcCounter(SVC_AFFINITY, "new_flows")).isEqualTo(2);
        assertThat(datapath.svcCounter(SVC_AFFINITY, "affinity_hits")).isEqualTo(20);

        // a client whose entry is 59 s old still holds
        assertThat(datapath.ageAffinity(SVC_AFFINITY, CLIENT4, 59)).isTrue();
        run(datapath.xdp(), Packet.tcp(CLIENT4, 40022, AFFINITY4, 80).syn().build());
        assertThat(datapath.svcCounter(SVC_AFFINITY, "affinity_hits")).isEqualTo(21);
    }

    @Test
    void withoutAffinityNewConnectionsSpreadOverEveryBackend()
    {
        datapath.service(AFFINITY4, 80, PROTO_TCP, SVC_AFFINITY, 0, 0);
        final Set<InetAddress> backends = new HashSet<>();

        for (int port = 40000; port < 40060; port++)
        {
            backends.add(new Frame(run(datapath.xdp(), Packet.tcp(CLIENT4, port, AFFINITY4, 80).syn().build())
                .packet()).destination());
        }

        assertThat(backends).containsExactlyInAnyOrder(POD4, POD4_B, address("198.19.0.12"));
        assertThat(datapath.svcCounter(SVC_AFFINITY, "new_flows")).isEqualTo(60);
    }

    @Test
    void laterSegmentsOfAConnectionStayOnItsBackendAfterTheTableChangesButASynRebalances()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, PINNED4, 80).syn().build();
        final byte[] ack = Packet.tcp(CLIENT4, 40000, PINNED4, 80).flags(Packet.TCP_ACK).sequence(1, 1).build();
        assertThat(new Frame(run(datapath.xdp(), syn).packet()).destination()).isEqualTo(POD4);

        // the service's only backend is now the other pod
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 102));
        final TestRunResult established = run(datapath.xdp(), ack);
        final TestRunResult again = run(datapath.xdp(), syn);

        assertThat(established.packet()).isEqualTo(Packet.tcp(CLIENT4, 40000, POD4, TARGET_PORT)
            .flags(Packet.TCP_ACK).sequence(1, 1).build());
        assertThat(new Frame(again.packet()).destination()).as("a SYN is balanced afresh").isEqualTo(POD4_B);
        assertThat(datapath.conntrackBackend(CLIENT4, 40000, PINNED4, 80, PROTO_TCP, DatapathAbi.CT_DIR_FORWARD))
            .isEqualTo(102);
        assertThat(datapath.svcCounter(SVC_PINNED, "ct_hits")).isEqualTo(1);
        assertThat(datapath.svcCounter(SVC_PINNED, "new_flows")).isEqualTo(2);
    }

    @Test
    void aConnectionWhoseBackendWasRemovedIsBalancedAgain()
    {
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 101));
        run(datapath.xdp(), Packet.tcp(CLIENT4, 40000, PINNED4, 80).syn().build());
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 102));
        datapath.removeBackend(101);

        final TestRunResult result = run(datapath.xdp(),
            Packet.tcp(CLIENT4, 40000, PINNED4, 80).flags(Packet.TCP_ACK).build());

        assertThat(new Frame(result.packet()).destination()).isEqualTo(POD4_B);
        assertThat(datapath.svcCounter(SVC_PINNED, "ct_hits")).isZero();
    }

    /** The agent writes a change into the half no frontend names, then rewrites the frontends: each picks its half. */
    @Test
    void aNewFlowPicksFromTheHalfItsFrontendNames()
    {
        final InetAddress frontend = address("10.96.0.77");
        datapath.maglevHalves(SVC_HALVES, DatapathFixture.spread(7, 101), DatapathFixture.spread(7, 102));
        datapath.service(frontend, 80, PROTO_TCP, SVC_HALVES, 0, 0);
        final TestRunResult fromA = run(datapath.xdp(), Packet.tcp(CLIENT4, 40001, frontend, 80).syn().build());

        datapath.service(frontend, 80, PROTO_TCP, SVC_HALVES, DatapathAbi.SVC_F_TABLE_B, 0);
        final TestRunResult fromB = run(datapath.xdp(), Packet.tcp(CLIENT4, 40002, frontend, 80).syn().build());

        assertThat(new Frame(fromA.packet()).destination()).as("half A").isEqualTo(POD4);
        assertThat(new Frame(fromB.packet()).destination()).as("half B").isEqualTo(POD4_B);
    }

    /** A translated flow from client:40000 to frontend:port whose only backend is backend:8080. */
    record Reuse(String description, String program, InetAddress client, InetAddress frontend, int port,
        InetAddress backend)
    {
        @Override
        public String toString()
        {
            return description;
        }
    }

    static Stream<Reuse> reusedTuples()
    {
        final String xdp = DatapathAbi.PROGRAM_XDP;
        final String tc = DatapathAbi.PROGRAM_TC_FROM_POD;
        return Stream.of(
            new Reuse("XDP: NodePort", xdp, CLIENT4, NODE4, NODE_PORT, POD4),
            new Reuse("XDP: IPv6 NodePort", xdp, CLIENT6, NODE6, NODE_PORT, POD6),
            new Reuse("tc from pod: ClusterIP", tc, POD4_B, CLUSTER_IP4, 80, POD4),
            new Reuse("tc from pod: IPv6 ClusterIP", tc, address("fd00:19::b"), CLUSTER_IP6, 80, POD6));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("reusedTuples")
    void aSynAckOnTheTupleOfATranslatedFlowPastItsHandshakeLeavesUntranslatedAndEndsThatFlowsEntries(final Reuse c)
    {
        final BpfProgram program = datapath.program(c.program());
        final int client = 40000;
        run(program, Packet.tcp(c.client(), client, c.frontend(), c.port()).syn().sequence(100, 0).build());
        final byte[] handshake = Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(500, 101).build();
        final byte[] translatedHandshake = Packet.tcp(c.frontend(), c.port(), c.client(), client)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(500, 101).build();
        // the SYN-ACK of the translated flow, and its retransmission, while the flow is in its handshake
        assertThat(run(datapath.tcFromPod(), handshake).packet()).isEqualTo(translatedHandshake);
        assertThat(run(datapath.tcFromPod(), handshake).packet()).isEqualTo(translatedHandshake);
        run(datapath.tcFromPod(), Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
            .flags(Packet.TCP_ACK | Packet.TCP_FIN).sequence(501, 101).build());
        // a segment without SYN to the backend directly: no service packet, and it does not judge the entries
        final byte[] directAck = Packet.tcp(c.client(), client, c.backend(), TARGET_PORT).sequence(9000, 1).build();
        assertThat(run(program, directAck).packet()).isEqualTo(directAck);
        assertThat(datapath.conntrackBackend(c.backend(), TARGET_PORT, c.client(), client, PROTO_TCP,
            DatapathAbi.CT_DIR_REPLY)).isPositive();
        // the client's SYN to the backend itself reached it by another way (not through these programs)

        final byte[] synAck = Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(7000, 9001).build();
        final TestRunResult answer = run(datapath.tcFromPod(), synAck);
        final byte[] data = Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
            .flags(Packet.TCP_ACK | Packet.TCP_PSH).sequence(7001, 9001).payload(new byte[] {'o', 'k', '\n'}).build();
        final TestRunResult more = run(datapath.tcFromPod(), data);

        assertThat(answer.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(answer.packet()).as("the direct flow's SYN-ACK, untouched").isEqualTo(synAck);
        assertThat(more.packet()).as("and its data").isEqualTo(data);
        assertThat(datapath.conntrackBackend(c.backend(), TARGET_PORT, c.client(), client, PROTO_TCP,
            DatapathAbi.CT_DIR_REPLY)).as("the earlier flow's REPLY entry").isEqualTo(-1);
        assertThat(datapath.conntrackBackend(c.client(), client, c.frontend(), c.port(), PROTO_TCP,
            DatapathAbi.CT_DIR_FORWARD)).as("the earlier flow's FORWARD entry").isEqualTo(-1);
        assertThat(datapath.stat("ct_stale")).isEqualTo(1);
        assertThat(datapath.stat("revnat")).as("the handshake twice and the FIN").isEqualTo(3);
    }

    @Test
    void aStaleReplyEntryGoesWithoutTheForwardEntryOfALaterFlowOfTheSameClientTuple()
    {
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 101));
        run(datapath.xdp(), Packet.tcp(CLIENT4, 40000, PINNED4, 80).syn().build());
        run(datapath.tcFromPod(), Packet.tcp(POD4, TARGET_PORT, CLIENT4, 40000).flags(Packet.TCP_ACK).build());
        // a later connection from the same port, balanced to the other pod
        datapath.maglevTable(SVC_PINNED, DatapathFixture.spread(7, 102));
        run(datapath.xdp(), Packet.tcp(CLIENT4, 40000, PINNED4, 80).syn().build());

        final byte[] synAck = Packet.tcp(POD4, TARGET_PORT, CLIENT4, 40000)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).build();
        assertThat(run(datapath.tcFromPod(), synAck).packet()).isEqualTo(synAck);

        assertThat(datapath.conntrackBackend(POD4, TARGET_PORT, CLIENT4, 40000, PROTO_TCP, DatapathAbi.CT_DIR_REPLY))
            .as("the first connection's REPLY entry").isEqualTo(-1);
        assertThat(datapath.conntrackBackend(CLIENT4, 40000, PINNED4, 80, PROTO_TCP, DatapathAbi.CT_DIR_FORWARD))
            .as("the later connection's FORWARD entry").isEqualTo(102);
        assertThat(datapath.conntrackBackend(POD4_B, TARGET_PORT, CLIENT4, 40000, PROTO_TCP,
            DatapathAbi.CT_DIR_REPLY)).as("the later connection's REPLY entry").isEqualTo(102);
    }

    static Stream<Arguments> reusedTuplesByProtocol()
    {
        return reusedTuples().flatMap(c -> Stream.of(Arguments.of(c, PROTO_TCP), Arguments.of(c, PROTO_UDP)));
    }

    /**
     * A flow to the backend itself (a UDP datagram, a TCP SYN) from the tuple of a translated flow takes the tuple:
     * the backend's answer leaves untranslated. For TCP the answer shown is the one a backend holding the earlier
     * connection in TIME_WAIT sends to a SYN it cannot tell newer: an ACK (translated, it missed the client's
     * connecting socket, which would retry on it at once, and the connection waited for its SYN retransmission).
     */
    @ParameterizedTest(name = "{0}, protocol {1}")
    @MethodSource("reusedTuplesByProtocol")
    void aFlowToTheBackendFromTheTupleOfATranslatedFlowTakesTheTupleAndItsAnswersLeaveUntranslated(final Reuse c,
        final int protocol)
    {
        final BpfProgram program = datapath.program(c.program());
        final boolean tcp = protocol == PROTO_TCP;
        final byte[] payload = {'h', 'i', '\n'};
        final Shape opening = tcp ? (s, sp, d, dp) -> Packet.tcp(s, sp, d, dp).syn().sequence(100, 0)
            : (s, sp, d, dp) -> Packet.udp(s, sp, d, dp).payload(payload);
        run(program, opening.to(c.client(), 40000, c.frontend(), c.port()).build());
        if (tcp)
        {
            // the translated connection gets going and ends: its entries are past the handshake
            run(datapath.tcFromPod(), Packet.tcp(c.backend(), TARGET_PORT, c.client(), 40000)
                .flags(Packet.TCP_ACK | Packet.TCP_FIN).sequence(501, 101).build());
        }
        final byte[] direct = opening.to(c.client(), 40000, c.backend(), TARGET_PORT).build();
        final byte[] answer = tcp ? Packet.tcp(c.backend(), TARGET_PORT, c.client(), 40000).sequence(502, 101).build()
            : Packet.udp(c.backend(), TARGET_PORT, c.client(), 40000).payload(payload).build();
        final long revnatBefore = datapath.stat("revnat");

        final TestRunResult sent = run(program, direct);
        final TestRunResult answered = run(datapath.tcFromPod(), answer);

        assertThat(sent.packet()).isEqualTo(direct);
        assertThat(answered.packet()).as("the backend's answer to the direct flow, untouched").isEqualTo(answer);
        final DatapathFixture.Conntrack held = datapath.conntrack(c.backend(), TARGET_PORT, c.client(), 40000,
            protocol, DatapathAbi.CT_DIR_REPLY);
        if (tcp)
        {
            // the TCP flow holds its tuple at the backend against translated flows (port remap)
            assertThat(held).isNotNull();
            assertThat(held.flags()).isEqualTo(DatapathAbi.CT_F_UNTRANSLATED);
            assertThat(held.backendId()).isZero();
        }
        else
        {
            assertThat(held).isNull();
        }
        assertThat(datapath.conntrackBackend(c.client(), 40000, c.frontend(), c.port(), protocol,
            DatapathAbi.CT_DIR_FORWARD)).isEqualTo(-1);
        assertThat(datapath.stat("ct_stale")).isEqualTo(1);
        assertThat(datapath.stat("revnat")).isEqualTo(revnatBefore);
    }

    /** A client reaching one backend through two frontends, on one program; TCP or UDP. */
    record TwoFrontends(String description, String program, int protocol, InetAddress client, InetAddress first,
        int firstPort, InetAddress second, int secondPort, InetAddress backend)
    {
        @Override
        public String toString()
        {
            return description;
        }

        Packet packet(final InetAddress source, final int sourcePort, final InetAddress destination,
            final int destinationPort)
        {
            return protocol == PROTO_TCP ? Packet.tcp(source, sourcePort, destination, destinationPort)
                : Packet.udp(source, sourcePort, destination, destinationPort).payload(new byte[] {'h', 'i'});
        }

        /** The flow's opening packet: a TCP SYN, or a datagram. */
        byte[] opening(final InetAddress source, final int sourcePort, final InetAddress destination,
            final int destinationPort)
        {
            final Packet builder = packet(source, sourcePort, destination, destinationPort);
            return (protocol == PROTO_TCP ? builder.syn().sequence(100, 0) : builder).build();
        }
    }

    static Stream<TwoFrontends> twoFrontends()
    {
        final String xdp = DatapathAbi.PROGRAM_XDP;
        final String tc = DatapathAbi.PROGRAM_TC_FROM_POD;
        return Stream.of(
            new TwoFrontends("XDP: NodePort then LB IP, TCP", xdp, PROTO_TCP, CLIENT4, NODE4, NODE_PORT, LB4, 80, POD4),
            new TwoFrontends("XDP: NodePort then LB IP, UDP", xdp, PROTO_UDP, CLIENT4, NODE4, NODE_PORT, LB4, 80, POD4),
            new TwoFrontends("XDP: IPv6 NodePort then LB IP, TCP", xdp, PROTO_TCP, CLIENT6, NODE6, NODE_PORT, LB6, 80,
                POD6),
            new TwoFrontends("tc from pod: two ClusterIPs, TCP", tc, PROTO_TCP, POD4_B, CLUSTER_IP4, 80, PINNED4, 80,
                POD4));
    }

    /**
     * Port remap. A client's flow from port P through one frontend to a backend (TCP: ended, so the backend holds it in
     * TIME_WAIT; UDP: live), then a flow from P through another frontend to the same backend: its tuple at the backend
     * is held, so it leaves from another port P' of the datapath's range, named by its FORWARD entry; its REPLY entry
     * is keyed by P' and restores P; its later packets and a retransmitted opening take P' again; the backend's
     * answers reach the client from the second frontend at P; the first flow's entries are untouched.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("twoFrontends")
    void aFlowWhoseTupleAtTheBackendIsHeldByAnotherFrontendsFlowLeavesFromAnotherPort(final TwoFrontends c)
    {
        final BpfProgram program = datapath.program(c.program());
        final boolean tcp = c.protocol() == PROTO_TCP;
        final int client = 40000;
        run(program, c.opening(c.client(), client, c.first(), c.firstPort()));
        if (tcp)
        {
            run(datapath.tcFromPod(), Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
                .flags(Packet.TCP_ACK | Packet.TCP_FIN).sequence(501, 101).build());
        }

        final TestRunResult second = run(program, c.opening(c.client(), client, c.second(), c.secondPort()));

        final DatapathFixture.Conntrack forward = datapath.conntrack(c.client(), client, c.second(), c.secondPort(),
            c.protocol(), DatapathAbi.CT_DIR_FORWARD);
        assertThat(forward).isNotNull();
        final int remapped = forward.remapPort();
        assertThat(remapped).as("the port the flow leaves with").isNotEqualTo(client)
            .isBetween(DatapathAbi.SNAT_PORT_MIN_DEFAULT, DatapathAbi.SNAT_PORT_MAX_DEFAULT);
        assertThat(second.packet()).as("the opening, translated from the remapped port")
            .isEqualTo(c.opening(c.client(), remapped, c.backend(), TARGET_PORT));
        final DatapathFixture.Conntrack reply = datapath.conntrack(c.backend(), TARGET_PORT, c.client(), remapped,
            c.protocol(), DatapathAbi.CT_DIR_REPLY);
        assertThat(reply).isNotNull();
        assertThat(reply.natAddress()).isEqualTo(c.second());
        assertThat(reply.natPort()).isEqualTo(c.secondPort());
        assertThat(reply.remapPort()).as("the client's own port, restored in replies").isEqualTo(client);
        final DatapathFixture.Conntrack first = datapath.conntrack(c.backend(), TARGET_PORT, c.client(), client,
            c.protocol(), DatapathAbi.CT_DIR_REPLY);
        assertThat(first.natAddress()).as("the first flow's REPLY entry").isEqualTo(c.first());
        assertThat(first.remapPort()).isZero();
        assertThat(datapath.stat("port_remap")).isEqualTo(1);

        // the opening again (a retransmitted SYN; UDP: the flow's next datagram): the same port
        assertThat(run(program, c.opening(c.client(), client, c.second(), c.secondPort())).packet())
            .isEqualTo(c.opening(c.client(), remapped, c.backend(), TARGET_PORT));
        // the backend's answer reaches the client from the second frontend, at its own port
        final Packet answer = c.packet(c.backend(), TARGET_PORT, c.client(), remapped);
        final Packet translated = c.packet(c.second(), c.secondPort(), c.client(), client);
        if (tcp)
        {
            answer.flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(500, 101);
            translated.flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(500, 101);
        }
        assertThat(run(datapath.tcFromPod(), answer.build()).packet()).isEqualTo(translated.build());
        if (tcp)
        {
            // the client's next segment follows the conntrack entry, from the remapped port
            assertThat(run(program, Packet.tcp(c.client(), client, c.second(), c.secondPort()).sequence(101, 501)
                .build()).packet()).isEqualTo(Packet.tcp(c.client(), remapped, c.backend(), TARGET_PORT)
                .sequence(101, 501).build());
        }
        assertThat(datapath.stat("port_remap")).as("one flow remapped once").isEqualTo(1);
        assertThat(datapath.stat("nat_failed")).isZero();
    }

    /** The same client port through the same frontend again: the backend can tell the flows apart; the port stays. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("twoFrontends")
    void aFlowFromThePortOfAnEndedFlowThroughTheSameFrontendKeepsItsPort(final TwoFrontends c)
    {
        final BpfProgram program = datapath.program(c.program());
        final int client = 40000;
        run(program, c.opening(c.client(), client, c.first(), c.firstPort()));
        if (c.protocol() == PROTO_TCP)
        {
            run(datapath.tcFromPod(), Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
                .flags(Packet.TCP_ACK | Packet.TCP_FIN).sequence(501, 101).build());
        }
        assertThat(run(program, c.opening(c.client(), client, c.first(), c.firstPort())).packet())
            .isEqualTo(c.opening(c.client(), client, c.backend(), TARGET_PORT));
        assertThat(datapath.stat("port_remap")).isZero();
    }

    /**
     * A TCP connection straight to the backend from the port of an earlier translated flow leaves an UNTRANSLATED
     * entry on its tuple; the next translated flow from that port to that backend (even through the same frontend:
     * the backend holds the direct connection, then its TIME_WAIT) leaves from another port.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("reusedTuples")
    void aTranslatedFlowAfterADirectConnectionFromTheSamePortLeavesFromAnotherPort(final Reuse c)
    {
        final BpfProgram program = datapath.program(c.program());
        final int client = 40000;
        // the translated flow marks the backend; the direct SYN then holds the tuple
        run(program, Packet.tcp(c.client(), client, c.frontend(), c.port()).syn().sequence(100, 0).build());
        final byte[] direct = Packet.tcp(c.client(), client, c.backend(), TARGET_PORT).syn().sequence(900, 0).build();
        assertThat(run(program, direct).packet()).isEqualTo(direct);

        final TestRunResult again = run(program,
            Packet.tcp(c.client(), client, c.frontend(), c.port()).syn().sequence(2000, 0).build());

        final DatapathFixture.Conntrack forward = datapath.conntrack(c.client(), client, c.frontend(), c.port(),
            PROTO_TCP, DatapathAbi.CT_DIR_FORWARD);
        assertThat(forward.remapPort()).isNotEqualTo(client)
            .isBetween(DatapathAbi.SNAT_PORT_MIN_DEFAULT, DatapathAbi.SNAT_PORT_MAX_DEFAULT);
        assertThat(again.packet()).isEqualTo(Packet.tcp(c.client(), forward.remapPort(), c.backend(), TARGET_PORT)
            .syn().sequence(2000, 0).build());
        assertThat(datapath.conntrack(c.backend(), TARGET_PORT, c.client(), client, PROTO_TCP,
            DatapathAbi.CT_DIR_REPLY).flags()).as("the direct connection's tuple, still held")
            .isEqualTo(DatapathAbi.CT_F_UNTRANSLATED);
        // the direct connection's answers still leave untouched
        final byte[] directAnswer = Packet.tcp(c.backend(), TARGET_PORT, c.client(), client)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(3000, 901).build();
        assertThat(run(datapath.tcFromPod(), directAnswer).packet()).isEqualTo(directAnswer);
    }

    record Untouched(String description, byte[] frame, String reason)
    {
        @Override
        public String toString()
        {
            return description;
        }
    }

    static Stream<Untouched> untouched()
    {
        final byte[] payload = new byte[40];
        final Function<Packet, byte[]> build = Packet::build;
        final List<Untouched> cases = new ArrayList<>(List.of(
            new Untouched("TCP to another address", build.apply(Packet.tcp(CLIENT4, 40000, address("10.96.0.99"), 80)
                .syn()), "no_service"),
            new Untouched("TCP to another port of a ClusterIP", build.apply(Packet.tcp(CLIENT4, 40000, CLUSTER_IP4, 81)
                .syn()), "no_service"),
            new Untouched("UDP to the TCP-only frontend's port", build.apply(Packet.udp(CLIENT4, 40000, LOCAL_ONLY4,
                80)), "no_service"),
            new Untouched("IPv6 UDP to another address", build.apply(Packet.udp(CLIENT6, 40000, address("fd00:96::99"),
                80)), "no_service"),
            new Untouched("first IPv4 fragment to a ClusterIP", build.apply(Packet.udp(CLIENT4, 40000, CLUSTER_IP4, 80)
                .payload(payload).fragment(0, true)), "fragment"),
            new Untouched("later IPv4 fragment to a ClusterIP", build.apply(Packet.udp(CLIENT4, 40000, CLUSTER_IP4, 80)
                .payload(payload).fragment(185, false)), "fragment"),
            new Untouched("IPv4 with options to a ClusterIP", build.apply(Packet.tcp(CLIENT4, 40000, CLUSTER_IP4, 80)
                .syn().ipv4Options(new byte[] {1, 1, 1, 0})), "ip_options"),
            new Untouched("IPv6 hop-by-hop header to a ClusterIP", build.apply(Packet.tcp(CLIENT6, 40000, CLUSTER_IP6,
                80).syn().hopByHop()), "ipv6_ext"),
            new Untouched("ICMP echo to a ClusterIP", build.apply(Packet.icmpEcho(CLIENT4, CLUSTER_IP4)), "not_tcp_udp"),
            new Untouched("ICMPv6 echo to a ClusterIP", build.apply(Packet.icmpEcho(CLIENT6, CLUSTER_IP6)),
                "not_tcp_udp"),
            new Untouched("ARP request for a node address", Packet.arpRequest(CLIENT4, NODE4), "not_ip")));
        final byte[] syn = Packet.tcp(CLIENT4, 40000, CLUSTER_IP4, 80).syn().build();
        cases.add(new Untouched("TCP header cut short, to a ClusterIP", Arrays.copyOf(syn, syn.length - 4),
            "truncated"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("untouched")
    void whatIsNotAPlainPacketToAFrontendPassesByteForByte(final Untouched c)
    {
        final TestRunResult xdp = run(datapath.xdp(), c.frame());
        final TestRunResult fromPod = run(datapath.tcFromPod(), c.frame());
        final TestRunResult toClient = run(datapath.tcToClient(), c.frame());

        assertThat(xdp.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        assertThat(xdp.packet()).isEqualTo(c.frame());
        assertThat(fromPod.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(fromPod.packet()).isEqualTo(c.frame());
        assertThat(toClient.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(toClient.packet()).isEqualTo(c.frame());
        final Map<String, Long> stats = datapath.stats();
        // sb_tc_to_client only reverse-translates: it never looks for a frontend, so never counts no_service
        assertThat(stats.get(c.reason())).isEqualTo("no_service".equals(c.reason()) ? 2 : 3);
        assertThat(stats.get("passed")).isEqualTo(3);
        assertThat(stats.get("service")).isZero();
    }
}
