package io.switchboard.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code --xdp-iface=auto}: the node's external interfaces, found as Cilium's device detection finds them: every
 * interface that holds a default route and every interface on whose connected subnet one of the node's addresses
 * lies ({@code --node-ip}, the InternalIP in the DaemonSet), loopback excepted. Read from the routing tables of the
 * calling thread's network namespace ({@code /proc/thread-self/net/route} and {@code ipv6_route}), so it holds for
 * a thread moved into another namespace too (Java's interface list does not).
 */
public final class ExternalInterfaces
{
    private static final Path NET = Path.of("/proc/thread-self/net");
    private static final int RTF_UP = 0x1;
    private static final int RTF_GATEWAY = 0x2;
    private static final int RTF_REJECT = 0x200;

    private ExternalInterfaces()
    {
    }

    /** The external interfaces of this network namespace for {@code nodeAddresses}, in a stable order. */
    public static List<String> detect(final List<InetAddress> nodeAddresses)
    {
        try
        {
            final List<String> routes4 = Files.readAllLines(NET.resolve("route"));
            final List<String> routes6 = Files.exists(NET.resolve("ipv6_route")) ?
                Files.readAllLines(NET.resolve("ipv6_route")) : List.of();
            final Set<String> found = new LinkedHashSet<>();
            found.addAll(defaultRouteInterfaces4(routes4));
            found.addAll(defaultRouteInterfaces6(routes6));
            found.addAll(connectedInterfaces(routes4, routes6, nodeAddresses));
            found.remove("lo");
            return List.copyOf(found);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("--xdp-iface=auto: reading " + NET + "/route and ipv6_route", ex);
        }
    }

    /** Interfaces of IPv4 default routes: {@code /proc/net/route} rows whose destination and mask are 0. */
    static Set<String> defaultRouteInterfaces4(final List<String> lines)
    {
        final Set<String> interfaces = new LinkedHashSet<>();
        for (final String[] row : rows4(lines))
        {
            if (0 == hex(row[1]) && 0 == hex(row[7]) && (hex(row[3]) & RTF_UP) != 0)
            {
                interfaces.add(row[0]);
            }
        }
        return interfaces;
    }

    /** Interfaces of IPv6 default routes: {@code /proc/net/ipv6_route} rows for ::/0 that are up, not rejects. */
    static Set<String> defaultRouteInterfaces6(final List<String> lines)
    {
        final Set<String> interfaces = new LinkedHashSet<>();
        for (final String[] row : rows6(lines))
        {
            if (0 == Integer.parseInt(row[1], 16) && new BigInteger(row[0], 16).signum() == 0 && usable6(row))
            {
                interfaces.add(row[9]);
            }
        }
        return interfaces;
    }

    /** Interfaces whose connected (gateway-less) routes hold one of {@code addresses}. */
    static Set<String> connectedInterfaces(final List<String> routes4, final List<String> routes6,
        final List<InetAddress> addresses)
    {
        final Set<String> interfaces = new LinkedHashSet<>();
        for (final InetAddress address : addresses)
        {
            if (address instanceof Inet4Address)
            {
                final long value = new BigInteger(1, address.getAddress()).longValue();
                for (final String[] row : rows4(routes4))
                {
                    // the table prints network-order words as host-order (little-endian) hex
                    final long dest = Integer.toUnsignedLong(Integer.reverseBytes((int)hex(row[1])));
                    final long mask = Integer.toUnsignedLong(Integer.reverseBytes((int)hex(row[7])));
                    if (0 != mask && 0 == (hex(row[3]) & RTF_GATEWAY) && (hex(row[3]) & RTF_UP) != 0 &&
                        (value & mask) == dest)
                    {
                        interfaces.add(row[0]);
                    }
                }
            }
            else
            {
                final BigInteger value = new BigInteger(1, address.getAddress());
                for (final String[] row : rows6(routes6))
                {
                    final int length = Integer.parseInt(row[1], 16);
                    if (length > 0 && usable6(row) && new BigInteger(row[4], 16).signum() == 0 &&
                        value.shiftRight(128 - length).equals(new BigInteger(row[0], 16).shiftRight(128 - length)))
                    {
                        interfaces.add(row[9]);
                    }
                }
            }
        }
        return interfaces;
    }

    private static boolean usable6(final String[] row)
    {
        final long flags = Long.parseLong(row[8], 16);
        return (flags & RTF_UP) != 0 && (flags & RTF_REJECT) == 0 && !"lo".equals(row[9]);
    }

    /** Rows of {@code /proc/net/route} after its header: Iface Destination Gateway Flags ... Mask ... */
    private static List<String[]> rows4(final List<String> lines)
    {
        return lines.stream().skip(1).map(line -> line.trim().split("\\s+")).filter(row -> row.length >= 8).toList();
    }

    /** Rows of {@code /proc/net/ipv6_route}: dest len src len nexthop metric refcnt use flags iface. */
    private static List<String[]> rows6(final List<String> lines)
    {
        return lines.stream().map(line -> line.trim().split("\\s+")).filter(row -> row.length >= 10).toList();
    }

    private static long hex(final String field)
    {
        return Long.parseLong(field, 16);
    }
}
