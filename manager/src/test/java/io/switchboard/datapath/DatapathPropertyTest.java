package io.switchboard.datapath;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.TestRunResult;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Packet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;

import static io.switchboard.datapath.DatapathAbi.PROTO_TCP;
import static io.switchboard.datapath.DatapathAbi.PROTO_UDP;
import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Invariant 2 over thousands of generated frames (seeded, so a failure replays): random bytes, valid
 * packets with random bit flips and truncations, and valid packets to random addresses and ports.
 * Through {@code sb_xdp} and {@code sb_tc_from_pod}: a frame that is not a plain TCP/UDP packet to a
 * programmed frontend (nor a reply of a recorded flow) leaves byte-identical with PASS / OK; and every
 * frame that leaves changed has valid checksums if the one that came in had.
 */
@KernelTest
class DatapathPropertyTest
{
    private static final long SEED = 20261125L;
    private static final int FRAMES = 5_000;
    private static final int TC_ACT_OK = 0;

    private static final InetAddress CLUSTER_IP4 = address("10.96.0.10");
    private static final InetAddress CLUSTER_IP6 = address("fd00:96::10");
    private static final InetAddress EMPTY4 = address("10.96.0.20");
    private static final InetAddress NODE4 = address("198.18.0.1");
    /** (address, port, protocol) of every programmed frontend, as the oracle sees them. */
    private static final Set<String> FRONTENDS = Set.of(
        key(CLUSTER_IP4, 80, PROTO_TCP), key(CLUSTER_IP4, 80, PROTO_UDP), key(CLUSTER_IP6, 80, PROTO_TCP),
        key(EMPTY4, 80, PROTO_TCP), key(EMPTY4, 80, PROTO_UDP), key(NODE4, 30080, PROTO_TCP));
    private static final List<InetAddress> DESTINATIONS = List.of(CLUSTER_IP4, CLUSTER_IP6, EMPTY4, NODE4);

    @Test
    @Timeout(60)
    void framesNotForAFrontendLeaveUntouchedAndChangedFramesKeepValidChecksums()
    {
        final Random random = new Random(SEED);
        try (DatapathFixture datapath = DatapathFixture.load())
        {
            program(datapath);
            final List<BpfProgram> programs = List.of(datapath.xdp(), datapath.tcFromPod());
            int changed = 0;
            int notRunnable = 0;
            for (int i = 0; i < FRAMES; i++)
            {
                final byte[] frame = generate(random);
                final BpfProgram program = programs.get(i % 2);
                final boolean plainToFrontend = plainToFrontend(frame);
                final boolean recordedReply = !plainToFrontend && isRecordedReply(datapath, frame);
                final String what = "frame " + i + " (seed " + SEED + ") through " + program.name() + ": " +
                    hex(frame);

                final TestRunResult result;
                try
                {
                    result = program.testRun(frame);
                }
                catch (final BpfException ex)
                {
                    // BPF_PROG_TEST_RUN refuses an skb whose IP ethertype is not followed by a whole IP
                    // header (the stack would not hand tc such a frame either); nothing else may fail
                    assertThat(program.name().equals(DatapathAbi.PROGRAM_TC_FROM_POD) && shorterThanIpHeader(frame))
                        .as(what + ": " + ex.getMessage()).isTrue();
                    notRunnable++;
                    continue;
                }

                if (!plainToFrontend && !recordedReply)
                {
                    assertThat(result.returnValue()).as(what).isEqualTo(
                        program == programs.get(0) ? TestRunResult.XDP_PASS : TC_ACT_OK);
                    assertThat(result.packet()).as(what).isEqualTo(frame);
                }
                if (!Arrays.equals(result.packet(), frame))
                {
                    changed++;
                    assertThat(Packet.checksumsValid(result.packet()) || !Packet.checksumsValid(frame))
                        .as("checksums after " + what).isTrue();
                }
            }
            // the generator must reach the frontends, or the second property says nothing
            assertThat(changed).isGreaterThan(FRAMES / 20);
            assertThat(notRunnable).isLessThan(FRAMES / 10);
            assertThat(datapath.stat("service")).isGreaterThan(FRAMES / 20);
        }
    }

    private static void program(final DatapathFixture datapath)
    {
        // refusals are built here by XDP (XDP_TX), so their bytes are checked; handed to tc they would leave
        // untouched behind the reply mark
        datapath.replies(DatapathFixture.TEST_RUN_IFINDEX, true);
        datapath.backend(11, address("198.19.0.10"), 8080, true);
        datapath.backend(12, address("198.19.0.11"), 8080, true);
        datapath.backend(21, address("198.19.0.10"), 8080, true);
        datapath.backend(31, address("fd00:19::a"), 8080, true);
        datapath.maglevTable(1, DatapathFixture.spread(7, 11, 12));
        datapath.maglevTable(2, DatapathFixture.spread(7, 21));
        datapath.maglevTable(3, DatapathFixture.spread(7, 31));
        datapath.service(CLUSTER_IP4, 80, PROTO_TCP, 1, 0, 0);
        datapath.service(NODE4, 30080, PROTO_TCP, 1, DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT, 0);
        datapath.service(CLUSTER_IP4, 80, PROTO_UDP, 2, 0, 0);
        datapath.service(CLUSTER_IP6, 80, PROTO_TCP, 3, 0, 0);
        // no endpoints: the refusals are frames that leave changed, too
        datapath.service(EMPTY4, 80, PROTO_TCP, 4, 0, 0);
        datapath.service(EMPTY4, 80, PROTO_UDP, 4, 0, 0);
    }

    /** One generated frame: a quarter random bytes, a quarter valid packets, half valid packets mutated. */
    private static byte[] generate(final Random random)
    {
        final int kind = random.nextInt(4);
        if (kind == 0)
        {
            final byte[] bytes = new byte[14 + random.nextInt(120)];
            random.nextBytes(bytes);
            if (random.nextBoolean())
            {
                // an IP ethertype gets random bytes past the Ethernet header
                bytes[12] = (byte)(random.nextBoolean() ? 0x08 : 0x86);
                bytes[13] = (byte)(bytes[12] == 0x08 ? 0x00 : 0xDD);
            }
            return bytes;
        }
        final byte[] valid = validPacket(random);
        if (kind == 1)
        {
            return valid;
        }
        byte[] mutated = valid;
        if (random.nextBoolean())
        {
            final int flips = 1 + random.nextInt(4);
            for (int f = 0; f < flips; f++)
            {
                final int bit = random.nextInt(mutated.length * 8);
                mutated[bit / 8] ^= (byte)(1 << (bit % 8));
            }
        }
        else
        {
            mutated = Arrays.copyOf(mutated, 14 + random.nextInt(mutated.length - 14));
        }
        return mutated;
    }

    private static byte[] validPacket(final Random random)
    {
        final boolean v6 = random.nextInt(3) == 0;
        final InetAddress source = randomAddress(random, v6);
        final InetAddress destination;
        final int port;
        if (random.nextInt(3) == 0)
        {
            // aimed at a frontend's address (the port and protocol may still miss)
            destination = v6 ? CLUSTER_IP6 : DESTINATIONS.stream().filter(a -> a.getAddress().length == 4)
                .toList().get(random.nextInt(3));
            port = random.nextBoolean() ? (NODE4.equals(destination) ? 30080 : 80) : random.nextInt(65536);
        }
        else
        {
            destination = randomAddress(random, v6);
            port = random.nextInt(65536);
        }
        final byte[] payload = new byte[random.nextInt(64)];
        random.nextBytes(payload);
        final int sourcePort = 1024 + random.nextInt(64000);
        if (random.nextBoolean())
        {
            final int[] flags = {Packet.TCP_SYN, Packet.TCP_ACK, Packet.TCP_ACK | Packet.TCP_PSH, Packet.TCP_RST,
                Packet.TCP_FIN | Packet.TCP_ACK};
            return Packet.tcp(source, sourcePort, destination, port).flags(flags[random.nextInt(flags.length)])
                .sequence(random.nextInt() & 0xFFFFFFFFL, random.nextInt() & 0xFFFFFFFFL).payload(payload).build();
        }
        return Packet.udp(source, sourcePort, destination, port).payload(payload).build();
    }

    private static InetAddress randomAddress(final Random random, final boolean v6)
    {
        final byte[] raw = new byte[v6 ? 16 : 4];
        random.nextBytes(raw);
        try
        {
            return InetAddress.getByAddress(raw);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    /**
     * The oracle, from the ABI's definition of what the datapath handles (bpf/README.md, per-packet step 1):
     * Ethernet, then IPv4 with IHL 5 and not a fragment or IPv6 whose next header is TCP/UDP, the whole
     * TCP/UDP header present, and (destination, port, protocol) a programmed frontend.
     */
    private static boolean plainToFrontend(final byte[] frame)
    {
        final Tuple tuple = Tuple.of(frame);
        return null != tuple && FRONTENDS.contains(key(tuple.destination(), tuple.destinationPort(), tuple.protocol()));
    }

    /** Whether the frame is, on the wire, the reply of a flow the datapath recorded (reverse NAT applies). */
    private static boolean isRecordedReply(final DatapathFixture datapath, final byte[] frame)
    {
        final Tuple tuple = Tuple.of(frame);
        return null != tuple && datapath.conntrackBackend(tuple.source(), tuple.sourcePort(), tuple.destination(),
            tuple.destinationPort(), tuple.protocol(), DatapathAbi.CT_DIR_REPLY) >= 0;
    }

    private record Tuple(InetAddress source, int sourcePort, InetAddress destination, int destinationPort,
        int protocol)
    {
        /** The tuple of a plain TCP/UDP frame, or null when the datapath must not parse it as one. */
        static Tuple of(final byte[] frame)
        {
            if (frame.length < 14)
            {
                return null;
            }
            final int etherType = ((frame[12] & 0xFF) << 8) | (frame[13] & 0xFF);
            final int l4;
            final int protocol;
            if (etherType == 0x0800)
            {
                if (frame.length < 34 || (frame[14] & 0xFF) != 0x45 || ((frame[20] & 0x3F) | frame[21]) != 0)
                {
                    return null;
                }
                protocol = frame[23] & 0xFF;
                l4 = 34;
            }
            else if (etherType == 0x86DD)
            {
                if (frame.length < 54)
                {
                    return null;
                }
                protocol = frame[20] & 0xFF;
                l4 = 54;
            }
            else
            {
                return null;
            }
            final int l4Header = protocol == PROTO_TCP ? 20 : 8;
            if ((protocol != PROTO_TCP && protocol != PROTO_UDP) || frame.length < l4 + l4Header)
            {
                return null;
            }
            final boolean v4 = etherType == 0x0800;
            return new Tuple(addressAt(frame, v4 ? 26 : 22, v4 ? 4 : 16), port(frame, l4),
                addressAt(frame, v4 ? 30 : 38, v4 ? 4 : 16), port(frame, l4 + 2), protocol);
        }

        private static int port(final byte[] frame, final int offset)
        {
            return ((frame[offset] & 0xFF) << 8) | (frame[offset + 1] & 0xFF);
        }

        private static InetAddress addressAt(final byte[] frame, final int offset, final int length)
        {
            try
            {
                return InetAddress.getByAddress(Arrays.copyOfRange(frame, offset, offset + length));
            }
            catch (final UnknownHostException ex)
            {
                throw new IllegalStateException(ex);
            }
        }
    }

    private static boolean shorterThanIpHeader(final byte[] frame)
    {
        final int etherType = ((frame[12] & 0xFF) << 8) | (frame[13] & 0xFF);
        return (etherType == 0x0800 && frame.length < 34) || (etherType == 0x86DD && frame.length < 54);
    }

    private static String key(final InetAddress address, final int port, final int protocol)
    {
        return address.getHostAddress() + "|" + port + "|" + protocol;
    }

    private static String hex(final byte[] frame)
    {
        return java.util.HexFormat.of().formatHex(frame);
    }
}
