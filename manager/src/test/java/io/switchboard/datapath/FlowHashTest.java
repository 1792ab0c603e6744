package io.switchboard.datapath;

import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link FlowHash} against vectors taken from the real {@code sb_xdp} ({@link FlowHashKernelTest} derives
 * and re-checks them): seed {@link DatapathFixture#MAGLEV_SEED}, IPv4 flows in a table of 127 slots, IPv6
 * flows in one of 113.
 */
class FlowHashTest
{
    record Vector(InetAddress source, int sourcePort, InetAddress destination, int destinationPort, int protocol,
        int slot)
    {
        @Override
        public String toString()
        {
            return source.getHostAddress() + ":" + sourcePort + " -> " + destination.getHostAddress() + ":" +
                destinationPort + "/" + protocol;
        }
    }

    static final List<Vector> VECTORS = List.of(
        vector("198.18.0.2", 40000, "198.18.0.1", 30080, 6, 11),
        vector("198.18.0.2", 40001, "198.18.0.1", 30080, 6, 46),
        vector("198.18.0.2", 40002, "198.18.0.1", 30080, 6, 55),
        vector("198.18.0.3", 40000, "198.18.0.1", 30080, 6, 107),
        vector("10.0.0.1", 1, "10.96.0.10", 80, 6, 10),
        vector("10.0.0.1", 65535, "10.96.0.10", 80, 6, 112),
        vector("192.168.77.200", 51234, "10.96.0.10", 80, 17, 24),
        vector("203.0.113.9", 12345, "198.51.100.7", 443, 17, 101),
        vector("2001:db8::2", 40000, "fd00::10", 80, 6, 74),
        vector("2001:db8::3", 5353, "fd00::10", 53, 17, 56),
        vector("fe80::1", 33000, "fd00::10", 80, 6, 75));

    @Test
    void theHashLandsOnTheSlotTheDatapathChose()
    {
        for (final Vector vector : VECTORS)
        {
            final int m = vector.destination().getAddress().length == 16 ? FlowHashKernelTest.M6 : FlowHashKernelTest.M4;
            assertThat(FlowHash.slot(FlowHash.hash(DatapathFixture.MAGLEV_SEED, vector.source(), vector.sourcePort(),
                vector.destination(), vector.destinationPort(), vector.protocol()), m))
                .as("%s", vector).isEqualTo(vector.slot());
        }
    }

    @Test
    void slotsAreUnsignedRemainders()
    {
        assertThat(FlowHash.slot(-1, 7)).isEqualTo((int)(0xFFFF_FFFFL % 7));
    }

    private static Vector vector(final String source, final int sourcePort, final String destination,
        final int destinationPort, final int protocol, final int slot)
    {
        try
        {
            return new Vector(InetAddress.getByName(source), sourcePort, InetAddress.getByName(destination),
                destinationPort, protocol, slot);
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
    }
}
