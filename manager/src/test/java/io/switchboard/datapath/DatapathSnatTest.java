package io.switchboard.datapath;

import io.switchboard.bpf.TestRunResult;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Packet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.InetAddress;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Stream;

import static io.switchboard.datapath.DatapathAbi.CT_DIR_FORWARD;
import static io.switchboard.datapath.DatapathAbi.CT_DIR_REPLY;
import static io.switchboard.datapath.DatapathAbi.PROTO_TCP;
import static io.switchboard.datapath.DatapathAbi.PROTO_UDP;
import static io.switchboard.datapath.DatapathPacketTest.TC_ACT_OK;
import static io.switchboard.datapath.DatapathPacketTest.run;
import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Source translation through {@code BPF_PROG_TEST_RUN}: flows from outside to a backend on another node
 * leave with the node's address and a claimed port, replies come back translated, ports are never
 * shared by two live flows and are reclaimed when flows end; a pod balanced to itself (hairpin) gets its
 * flow from the node. Test runs have no ingress interface, so the FIB lookups that send frames on fail
 * and the programs hand the (translated) frame to the stack: the bytes are what is checked here; the
 * routing is exercised with real traffic in the multi-node tests.
 */
@KernelTest
class DatapathSnatTest
{
    static final InetAddress CLIENT4 = address("198.18.0.2");
    static final InetAddress CLIENT6 = address("fd00:18::2");
    static final InetAddress NODE4 = address("198.18.0.11");
    static final InetAddress NODE6 = address("fd00:18::11");
    static final InetAddress LB4 = address("203.0.113.10");
    static final InetAddress CLUSTER_IP4 = address("10.96.0.10");
    static final InetAddress REMOTE_POD4 = address("198.19.1.10");
    static final InetAddress REMOTE_POD6 = address("fd00:19:1::a");
    static final InetAddress LOCAL_POD4 = address("198.19.0.10");
    static final InetAddress HAIRPIN_IP4 = address("10.96.0.20");
    static final int NODE_PORT = 30080;
    static final int TARGET_PORT = 8080;
    static final int PORT_MIN = 61000;
    static final int PORT_MAX = 61003;

    static final int SVC_TCP4 = 1;
    static final int SVC_UDP4 = 2;
    static final int SVC_TCP6 = 3;
    static final int SVC_UDP6 = 4;
    static final int SVC_LOCAL4 = 5;
    static final int SVC_HAIRPIN4 = 6;

    private DatapathFixture datapath;

    @BeforeEach
    void programTheWorld()
    {
        datapath = DatapathFixture.load();
        datapath.sourceTranslation(NODE4, NODE6, PORT_MIN, PORT_MAX, 1);
        remoteService(SVC_TCP4, PROTO_TCP, REMOTE_POD4, NODE4);
        remoteService(SVC_UDP4, PROTO_UDP, REMOTE_POD4, NODE4);
        remoteService(SVC_TCP6, PROTO_TCP, REMOTE_POD6, NODE6);
        remoteService(SVC_UDP6, PROTO_UDP, REMOTE_POD6, NODE6);
        datapath.service(LB4, 80, PROTO_TCP, SVC_TCP4, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_LOADBALANCER, 0);

        datapath.backend(51, LOCAL_POD4, TARGET_PORT, true);
        datapath.maglevTable(SVC_LOCAL4, DatapathFixture.spread(7, 51));
        datapath.service(NODE4, 30081, PROTO_TCP, SVC_LOCAL4, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT, 0);

        datapath.backend(61, LOCAL_POD4, TARGET_PORT, true);
        datapath.maglevTable(SVC_HAIRPIN4, DatapathFixture.spread(7, 61));
        datapath.service(HAIRPIN_IP4, 80, PROTO_TCP, SVC_HAIRPIN4, 0, 0);
    }

    /** node:30080 of a service whose only backend runs on another node. */
    private void remoteService(final int svcId, final int protocol, final InetAddress pod, final InetAddress node)
    {
        final int backendId = svcId * 10 + 1;
        datapath.backend(backendId, pod, TARGET_PORT, false);
        datapath.maglevTable(svcId, DatapathFixture.spread(7, backendId));
        datapath.service(node, NODE_PORT, protocol, svcId, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT, 0);
    }

    @AfterEach
    void unload()
    {
        datapath.close();
    }

    interface Shape
    {
        Packet to(InetAddress source, int sourcePort, InetAddress destination, int destinationPort);
    }

    record Case(String description, InetAddress client, InetAddress frontend, int frontendPort, InetAddress node,
        InetAddress backend, int protocol, Shape shape)
    {
        @Override
        public String toString()
        {
            return description;
        }
    }

    static Stream<Case> cases()
    {
        final byte[] data = "hello".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        final Shape syn = (s, sp, d, dp) -> Packet.tcp(s, sp, d, dp).syn().sequence(7000, 0);
        final Shape datagram = (s, sp, d, dp) -> Packet.udp(s, sp, d, dp).payload(data);
        return Stream.of(
            new Case("TCP to a NodePort", CLIENT4, NODE4, NODE_PORT, NODE4, REMOTE_POD4, PROTO_TCP, syn),
            new Case("TCP to an LB IP", CLIENT4, LB4, 80, NODE4, REMOTE_POD4, PROTO_TCP, syn),
            new Case("UDP to a NodePort", CLIENT4, NODE4, NODE_PORT, NODE4, REMOTE_POD4, PROTO_UDP, datagram),
            new Case("IPv6 TCP to a NodePort", CLIENT6, NODE6, NODE_PORT, NODE6, REMOTE_POD6, PROTO_TCP, syn),
            new Case("IPv6 UDP to a NodePort", CLIENT6, NODE6, NODE_PORT, NODE6, REMOTE_POD6, PROTO_UDP, datagram));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aFlowToABackendOnAnotherNodeLeavesFromTheNodeAndItsRepliesReturnToTheClientFromTheFrontend(final Case c)
    {
        final TestRunResult forward = run(datapath.xdp(), c.shape().to(c.client(), 40000, c.frontend(),
            c.frontendPort()).build());

        assertThat(forward.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        final Frame out = new Frame(forward.packet());
        assertThat(out.source()).isEqualTo(c.node());
        assertThat(out.sourcePort()).isBetween(PORT_MIN, PORT_MAX);
        final int port = out.sourcePort();
        assertThat(forward.packet()).as("only addresses, ports and checksums change")
            .isEqualTo(c.shape().to(c.node(), port, c.backend(), TARGET_PORT).build());
        assertThat(datapath.snatPorts()).containsExactly(port);
        assertThat(datapath.conntrackBackend(c.backend(), TARGET_PORT, c.client(), 40000, c.protocol(), CT_DIR_REPLY))
            .as("replies are found through sb_snat, not a conntrack reply entry").isEqualTo(-1);
        assertThat(datapath.stat("snat")).isEqualTo(1);

        final byte[] reply = c.shape().to(c.backend(), TARGET_PORT, c.node(), port).build();
        final TestRunResult back = run(datapath.tcFromExt(), reply);

        assertThat(back.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(back.packet()).isEqualTo(c.shape().to(c.frontend(), c.frontendPort(), c.client(), 40000).build());
        assertThat(datapath.stat("snat_reversed")).isEqualTo(1);
    }

    @Test
    void everyPacketOfAFlowKeepsItsPortAndARetransmittedSynFindsItsOwn()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, NODE4, NODE_PORT).syn().sequence(7000, 0).build();
        final int port = new Frame(run(datapath.xdp(), syn).packet()).sourcePort();

        final int again = new Frame(run(datapath.xdp(), syn).packet()).sourcePort();
        final byte[] segment = Packet.tcp(CLIENT4, 40000, NODE4, NODE_PORT).flags(Packet.TCP_ACK)
            .sequence(7001, 1).payload(new byte[10]).build();
        final Frame data = new Frame(run(datapath.xdp(), segment).packet());

        assertThat(again).isEqualTo(port);
        assertThat(data.sourcePort()).isEqualTo(port);
        assertThat(data.source()).isEqualTo(NODE4);
        assertThat(datapath.snatPorts()).containsExactly(port);
        assertThat(datapath.conntrackBackend(CLIENT4, 40000, NODE4, NODE_PORT, PROTO_TCP, CT_DIR_FORWARD))
            .isEqualTo(SVC_TCP4 * 10 + 1);
    }

    @Test
    void liveFlowsNeverShareAPortAndAFlowFindingNoneFreeIsDroppedAndCounted()
    {
        final Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 4; i++)
        {
            final TestRunResult result = run(datapath.xdp(), synFrom(40000 + i));
            assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
            ports.add(new Frame(result.packet()).sourcePort());
        }
        assertThat(ports).as("four flows, four ports of the four in the range").hasSize(4)
            .allSatisfy(port -> assertThat(port).isBetween(PORT_MIN, PORT_MAX));

        final TestRunResult fifth = run(datapath.xdp(), synFrom(40004));

        assertThat(fifth.returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        assertThat(datapath.stat("snat_exhausted")).isEqualTo(1);
        assertThat(datapath.svcCounter(SVC_TCP4, "dropped_other")).isEqualTo(1);
        assertThat(datapath.snatPorts()).hasSize(4);
    }

    @Test
    void aPortIsFreeAgainOnceItsFlowHasClosedAndItsClosingTimeoutPassed() throws InterruptedException
    {
        for (int i = 0; i < 4; i++)
        {
            run(datapath.xdp(), synFrom(40000 + i));
        }
        assertThat(run(datapath.xdp(), synFrom(40004)).returnValue()).isEqualTo(TestRunResult.XDP_DROP);

        for (int i = 0; i < 4; i++)
        {
            final byte[] fin = Packet.tcp(CLIENT4, 40000 + i, NODE4, NODE_PORT)
                .flags(Packet.TCP_FIN | Packet.TCP_ACK).sequence(7001, 1).build();
            assertThat(run(datapath.xdp(), fin).returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        }
        // the fixture's closing timeout is 1 s; until it passes a late segment of the flow still belongs to it
        assertThat(run(datapath.xdp(), synFrom(40004)).returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        Thread.sleep(1_500);

        final TestRunResult fifth = run(datapath.xdp(), synFrom(40004));

        assertThat(fifth.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        assertThat(new Frame(fifth.packet()).sourcePort()).isBetween(PORT_MIN, PORT_MAX);
        assertThat(datapath.snatPorts()).hasSize(4);
    }

    @Test
    void aRstOfATranslatedFlowLeavesWithItsPortAndOneOfNoFlowIsDroppedClaimingNothing()
    {
        final int port = new Frame(run(datapath.xdp(), synFrom(40000)).packet()).sourcePort();
        final byte[] reset = Packet.tcp(CLIENT4, 40000, NODE4, NODE_PORT).flags(Packet.TCP_RST).sequence(7001, 0)
            .build();
        final byte[] stray = Packet.tcp(CLIENT4, 40001, NODE4, NODE_PORT).flags(Packet.TCP_RST).sequence(1, 0)
            .build();

        final TestRunResult ofTheFlow = run(datapath.xdp(), reset);
        final TestRunResult ofNoFlow = run(datapath.xdp(), stray);

        assertThat(ofTheFlow.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
        assertThat(ofTheFlow.packet()).isEqualTo(Packet.tcp(NODE4, port, REMOTE_POD4, TARGET_PORT)
            .flags(Packet.TCP_RST).sequence(7001, 0).build());
        assertThat(ofNoFlow.returnValue()).isEqualTo(TestRunResult.XDP_DROP);
        assertThat(datapath.snatPorts()).containsExactly(port);
        assertThat(datapath.stat("snat_exhausted")).as("a stray RST is no shortage of ports").isZero();
    }

    @Test
    void aFlowToABackendOnThisNodeKeepsTheClientsAddress()
    {
        final byte[] syn = Packet.tcp(CLIENT4, 40000, NODE4, 30081).syn().sequence(7000, 0).build();

        final TestRunResult result = run(datapath.xdp(), syn);

        assertThat(result.packet()).isEqualTo(Packet.tcp(CLIENT4, 40000, LOCAL_POD4, TARGET_PORT).syn()
            .sequence(7000, 0).build());
        assertThat(datapath.snatPorts()).isEmpty();
    }

    @Test
    void withoutANodeAddressNothingIsTranslated()
    {
        datapath.configFlags(0);

        final TestRunResult result = run(datapath.xdp(), synFrom(40000));

        assertThat(result.packet()).isEqualTo(Packet.tcp(CLIENT4, 40000, REMOTE_POD4, TARGET_PORT).syn()
            .sequence(7000, 0).build());
        assertThat(datapath.snatPorts()).isEmpty();
    }

    @Test
    void aPodBalancedToItselfGetsTheFlowFromTheNodeAndItsReplyReturnsFromTheFrontend()
    {
        final byte[] syn = Packet.tcp(LOCAL_POD4, 40000, HAIRPIN_IP4, 80).syn().sequence(7000, 0).build();

        final TestRunResult forward = run(datapath.tcFromPod(), syn);

        assertThat(forward.returnValue()).isEqualTo(TC_ACT_OK);
        final Frame out = new Frame(forward.packet());
        final int port = out.sourcePort();
        assertThat(port).isBetween(PORT_MIN, PORT_MAX);
        assertThat(forward.packet()).isEqualTo(Packet.tcp(NODE4, port, LOCAL_POD4, TARGET_PORT).syn()
            .sequence(7000, 0).build());

        final byte[] synAck = Packet.tcp(LOCAL_POD4, TARGET_PORT, NODE4, port).flags(Packet.TCP_SYN | Packet.TCP_ACK)
            .sequence(1, 7001).build();
        final TestRunResult back = run(datapath.tcFromPod(), synAck);

        assertThat(back.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(back.packet()).isEqualTo(Packet.tcp(HAIRPIN_IP4, 80, LOCAL_POD4, 40000)
            .flags(Packet.TCP_SYN | Packet.TCP_ACK).sequence(1, 7001).build());
        assertThat(datapath.stat("snat_reversed")).isEqualTo(1);
    }

    @Test
    void anotherPodReachingTheSameServiceKeepsItsAddress()
    {
        final InetAddress otherPod = address("198.19.0.11");
        final byte[] syn = Packet.tcp(otherPod, 40000, HAIRPIN_IP4, 80).syn().sequence(7000, 0).build();

        final TestRunResult result = run(datapath.tcFromPod(), syn);

        assertThat(result.packet()).isEqualTo(Packet.tcp(otherPod, 40000, LOCAL_POD4, TARGET_PORT).syn()
            .sequence(7000, 0).build());
        assertThat(datapath.snatPorts()).isEmpty();
    }

    @Test
    void aPacketToTheNodeThatIsNoTranslatedReplyPassesUntouched()
    {
        final byte[] stray = Packet.tcp(REMOTE_POD4, TARGET_PORT, NODE4, 61001).flags(Packet.TCP_ACK).build();

        final TestRunResult result = run(datapath.tcFromExt(), stray);

        assertThat(result.returnValue()).isEqualTo(TC_ACT_OK);
        assertThat(result.packet()).isEqualTo(stray);
        assertThat(datapath.stat("snat_reversed")).isZero();
    }

    private static byte[] synFrom(final int clientPort)
    {
        return Packet.tcp(CLIENT4, clientPort, NODE4, NODE_PORT).syn().sequence(7000, 0).build();
    }
}
