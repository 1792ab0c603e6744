package io.switchboard.datapath;

import io.switchboard.bpf.TestRunResult;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Packet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.ByteBuffer;

import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * ARP and NDP answering of {@code sb_xdp} through {@code BPF_PROG_TEST_RUN}: a request for an address
 * announced in {@code sb_neigh} on the interface it arrives on becomes the answer, byte for byte, sent
 * back with {@code XDP_TX}; anything else passes untouched. A test run's ingress interface is the
 * loopback device (ifindex 1).
 */
@KernelTest
class DatapathNeighTest
{
    private static final int TEST_RUN_IFINDEX = 1;
    private static final int OTHER_IFINDEX = 4242;
    private static final byte[] NODE_MAC = {0x02, 0x5b, 0, 0, 0, 0x01};
    private static final byte[] CLIENT_MAC = {0x02, 0, 0, 0, 0, 0x02};
    private static final byte[] BROADCAST = {-1, -1, -1, -1, -1, -1};
    private static final InetAddress CLIENT4 = address("198.18.0.2");
    private static final InetAddress CLIENT6 = address("fd00:18::2");
    private static final InetAddress LB4 = address("198.18.0.241");
    private static final InetAddress LB6 = address("fd00:18::f1");
    private static final InetAddress ELSEWHERE4 = address("198.18.0.242");
    private static final InetAddress ELSEWHERE6 = address("fd00:18::f2");

    private DatapathFixture datapath;

    @BeforeEach
    void announce()
    {
        datapath = DatapathFixture.load();
        announce(datapath);
    }

    /** The announcements below; answers on the test run's interface leave with XDP_TX. */
    private static void announce(final DatapathFixture datapath)
    {
        datapath.replies(TEST_RUN_IFINDEX, true);
        datapath.announce(LB4, TEST_RUN_IFINDEX, NODE_MAC);
        datapath.announce(LB6, TEST_RUN_IFINDEX, NODE_MAC);
        datapath.announce(ELSEWHERE4, OTHER_IFINDEX, NODE_MAC);
        datapath.announce(ELSEWHERE6, OTHER_IFINDEX, NODE_MAC);
    }

    @AfterEach
    void unload()
    {
        datapath.close();
    }

    @Test
    void anArpRequestForAnAnnouncedAddressIsAnsweredWithTheInterfacesMac()
    {
        final TestRunResult result = DatapathPacketTest.run(datapath.xdp(), Packet.arpRequest(CLIENT4, LB4));

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        assertThat(result.packet()).isEqualTo(arp(CLIENT_MAC, NODE_MAC, 2, NODE_MAC, LB4, CLIENT_MAC, CLIENT4));
        assertThat(datapath.stat("neigh_answered")).isEqualTo(1);
        assertThat(datapath.stat("not_ip")).isZero();
    }

    @Test
    void aNeighborSolicitationBecomesASolicitedAdvertisementWithAValidChecksum()
    {
        final TestRunResult result = DatapathPacketTest.run(datapath.xdp(), solicitation(LB6, true));

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        assertThat(result.packet()).isEqualTo(advertisement(LB6, CLIENT6, CLIENT_MAC, 0x60000000));
        assertThat(Packet.checksumsValid(result.packet())).isTrue();
        assertThat(datapath.stat("neigh_answered")).isEqualTo(1);
    }

    @Test
    void aSolicitationWithoutSourceLinkLayerOptionIsAnsweredToo()
    {
        final TestRunResult result = DatapathPacketTest.run(datapath.xdp(), solicitation(LB6, false));

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        assertThat(result.packet()).isEqualTo(advertisement(LB6, CLIENT6, CLIENT_MAC, 0x60000000));
    }

    @Test
    void requestsForAddressesNotAnnouncedOnThisInterfacePassUntouched()
    {
        for (final byte[] frame : new byte[][] {
            Packet.arpRequest(CLIENT4, address("198.18.0.1")), // not announced at all
            Packet.arpRequest(CLIENT4, ELSEWHERE4),            // announced on another interface
            Packet.arpRequest(LB4, LB4),                       // gratuitous: someone claims it
            solicitation(address("fd00:18::1"), true),
            solicitation(ELSEWHERE6, true)})
        {
            final TestRunResult result = DatapathPacketTest.run(datapath.xdp(), frame);

            assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
            assertThat(result.packet()).isEqualTo(frame);
        }
        assertThat(datapath.stat("neigh_ignored")).isEqualTo(5);
        assertThat(datapath.stat("neigh_answered")).isZero();
        assertThat(datapath.stat("passed")).isEqualTo(5);
    }

    /**
     * On an interface without XDP_TX ({@code sb_ifaces}) a request {@code sb_xdp} would answer passes with
     * the reply mark in its metadata, and the tc path answers it with the same bytes, redirected to the
     * interface it came from; what is not to be answered passes the tc path untouched.
     */
    @Test
    void withoutXdpTxRequestsAreHandedToTcWhichSendsTheSameAnswers()
    {
        final byte[][] requests = {Packet.arpRequest(CLIENT4, LB4), solicitation(LB6, true), solicitation(LB6, false),
            solicitation(LB6, true, address("::"))};
        try (DatapathFixture tcPath = DatapathFixture.load(DatapathFixture.TC_REPLY_TEST_OBJECT))
        {
            announce(tcPath);
            tcPath.replies(TEST_RUN_IFINDEX, false);
            for (final byte[] request : requests)
            {
                final TestRunResult xdpTx = DatapathPacketTest.run(datapath.xdp(), request);
                final TestRunResult handed = tcPath.xdp().testRun(request);
                final TestRunResult tc = DatapathPacketTest.run(tcPath.tcReply(), request);

                assertThat(xdpTx.returnValue()).isEqualTo(TestRunResult.XDP_TX);
                assertThat(handed.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
                assertThat(handed.packet()).isEqualTo(tcPath.handedOver(request));
                assertThat(tc.returnValue()).isEqualTo(DatapathPacketTest.TC_ACT_REDIRECT);
                assertThat(tc.packet()).isEqualTo(xdpTx.packet());
            }
            assertThat(tcPath.stat("neigh_answered")).as("by tc only").isEqualTo(requests.length);
            assertThat(tcPath.stat("reply_tc")).isEqualTo(requests.length);

            final byte[] elsewhere = Packet.arpRequest(CLIENT4, ELSEWHERE4);
            final TestRunResult notOurs = DatapathPacketTest.run(tcPath.tcReply(), elsewhere);
            assertThat(notOurs.returnValue()).isEqualTo(DatapathPacketTest.TC_ACT_OK);
            assertThat(notOurs.packet()).isEqualTo(elsewhere);
        }
    }

    /**
     * Built without XDP metadata: {@code sb_tc_from_ext} itself answers a request for an address announced on an
     * interface that answers by tc, and lets every other frame go on.
     */
    @Test
    void withoutXdpMetadataTcFromExtAnswersTheRequestsItself()
    {
        final byte[][] requests = {Packet.arpRequest(CLIENT4, LB4), solicitation(LB6, true)};
        try (DatapathFixture unmarked = DatapathFixture.load(DatapathAbi.OBJECT_RESOURCE, new DatapathLoadOptions(false)))
        {
            announce(unmarked);
            unmarked.replies(TEST_RUN_IFINDEX, false);
            for (final byte[] request : requests)
            {
                final TestRunResult xdpTx = DatapathPacketTest.run(datapath.xdp(), request);
                final TestRunResult handed = unmarked.xdp().testRun(request);
                final TestRunResult tc = DatapathPacketTest.run(unmarked.tcFromExt(), request);

                assertThat(handed.returnValue()).isEqualTo(TestRunResult.XDP_PASS);
                assertThat(handed.packet()).isEqualTo(request);
                assertThat(tc.returnValue()).isEqualTo(DatapathPacketTest.TC_ACT_REDIRECT);
                assertThat(tc.packet()).isEqualTo(xdpTx.packet());
            }
            final byte[] elsewhere = Packet.arpRequest(CLIENT4, ELSEWHERE4);
            final TestRunResult notOurs = DatapathPacketTest.run(unmarked.tcFromExt(), elsewhere);
            assertThat(notOurs.returnValue()).isEqualTo(DatapathPacketTest.TC_ACT_OK);
            assertThat(notOurs.packet()).isEqualTo(elsewhere);
            assertThat(unmarked.stat("neigh_answered")).isEqualTo(requests.length);
        }
    }

    @Test
    void aSolicitationForDuplicateAddressDetectionIsAnsweredToAllNodes()
    {
        final TestRunResult result = DatapathPacketTest.run(datapath.xdp(), solicitation(LB6, false, address("::")));

        assertThat(result.returnValue()).isEqualTo(TestRunResult.XDP_TX);
        final byte[] allNodesMac = {0x33, 0x33, 0, 0, 0, 1};
        assertThat(result.packet()).isEqualTo(advertisement(LB6, address("ff02::1"), allNodesMac, 0x20000000));
    }

    /** An Ethernet + ARP frame (RFC 826) with the given operation. */
    private static byte[] arp(final byte[] ethDst, final byte[] ethSrc, final int op, final byte[] sha,
        final InetAddress spa, final byte[] tha, final InetAddress tpa)
    {
        return ByteBuffer.allocate(42).put(ethDst).put(ethSrc).putShort((short)0x0806)
            .putShort((short)1).putShort((short)0x0800).put((byte)6).put((byte)4).putShort((short)op)
            .put(sha).put(spa.getAddress()).put(tha).put(tpa.getAddress()).array();
    }

    /** A Neighbor Solicitation from the client for {@code target}, to its solicited-node multicast address. */
    private static byte[] solicitation(final InetAddress target, final boolean sourceLinkLayerOption)
    {
        return solicitation(target, sourceLinkLayerOption, CLIENT6);
    }

    /** A solicitation from {@code source} (the unspecified address: duplicate address detection). */
    private static byte[] solicitation(final InetAddress target, final boolean sourceLinkLayerOption,
        final InetAddress source)
    {
        final byte[] t = target.getAddress();
        final byte[] group = address("ff02::1:ff00:0").getAddress();
        group[13] = t[13];
        group[14] = t[14];
        group[15] = t[15];
        final ByteBuffer icmp = ByteBuffer.allocate(sourceLinkLayerOption ? 32 : 24)
            .put((byte)135).put((byte)0).putShort((short)0).putInt(0).put(t);
        if (sourceLinkLayerOption)
        {
            icmp.put((byte)1).put((byte)1).put(CLIENT_MAC);
        }
        final byte[] ethDst = {0x33, 0x33, -1, t[13], t[14], t[15]};
        return ipv6Icmp(ethDst, CLIENT_MAC, source, addressOf(group), icmp.array());
    }

    /** The Neighbor Advertisement the node should send: solicited and override flags, target link-layer option. */
    private static byte[] advertisement(final InetAddress target, final InetAddress to, final byte[] toMac,
        final int flags)
    {
        final byte[] icmp = ByteBuffer.allocate(32).put((byte)136).put((byte)0).putShort((short)0).putInt(flags)
            .put(target.getAddress()).put((byte)2).put((byte)1).put(NODE_MAC).array();
        return ipv6Icmp(toMac, NODE_MAC, target, to, icmp);
    }

    /** Ethernet + IPv6 (hop limit 255) + the ICMPv6 message, its checksum filled in. */
    private static byte[] ipv6Icmp(final byte[] ethDst, final byte[] ethSrc, final InetAddress source,
        final InetAddress destination, final byte[] icmp)
    {
        final ByteBuffer frame = ByteBuffer.allocate(14 + 40 + icmp.length).put(ethDst).put(ethSrc)
            .putShort((short)0x86DD).putInt(0x60000000).putShort((short)icmp.length).put((byte)58).put((byte)255)
            .put(source.getAddress()).put(destination.getAddress()).put(icmp);
        final byte[] bytes = frame.array();
        final long pseudo = Packet.sum(bytes, 14 + 8, 32, 0) + 58 + icmp.length;
        final int checksum = Packet.fold(Packet.sum(bytes, 54, icmp.length, pseudo));
        bytes[56] = (byte)(checksum >> 8);
        bytes[57] = (byte)checksum;
        return bytes;
    }

    private static InetAddress addressOf(final byte[] raw)
    {
        try
        {
            return InetAddress.getByAddress(raw);
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
