package io.switchboard.maglev;

import java.util.ArrayList;
import java.util.List;

/** Backend lists for the Maglev tests. */
final class TestBackends
{
    private TestBackends()
    {
    }

    /** {@code count} IPv4 backends 10.{i/65536}.{..}.{..}:8080 with ids first, first+1, ... and the given weights. */
    static List<Backend> ipv4(final int count, final int firstId, final int... weightCycle)
    {
        final List<Backend> backends = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            backends.add(ipv4Backend(firstId + i, i, weightCycle.length == 0 ? 1 : weightCycle[i % weightCycle.length]));
        }
        return backends;
    }

    /** One IPv4 backend at 10.0.0.0 + {@code hostNumber}, port 8080. */
    static Backend ipv4Backend(final int id, final int hostNumber, final int weight)
    {
        final byte[] address = {10, (byte)(hostNumber >>> 16), (byte)(hostNumber >>> 8), (byte)hostNumber};
        return new Backend(id, address, 8080, weight);
    }

    /** One IPv6 backend at fd00::{@code hostNumber}, port 443. */
    static Backend ipv6Backend(final int id, final int hostNumber, final int weight)
    {
        final byte[] address = new byte[16];
        address[0] = (byte)0xfd;
        address[14] = (byte)(hostNumber >>> 8);
        address[15] = (byte)hostNumber;
        return new Backend(id, address, 443, weight);
    }
}
