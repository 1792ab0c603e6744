package io.switchboard.model;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.util.regex.Pattern;

/**
 * Parses IP address literals without ever resolving names ({@link InetAddress#getByName} would query DNS).
 * Stricter than {@link InetAddress#ofLiteral}: only dotted-quad IPv4 (no {@code 127.1} or hex forms), no
 * brackets, no IPv6 zone ids and no IPv4-mapped IPv6, as current Kubernetes API validation requires.
 */
public final class IpAddresses
{
    private static final Pattern DOTTED_QUAD = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");

    private IpAddresses()
    {
    }

    /**
     * The address a literal names.
     *
     * @throws IllegalArgumentException naming why the text is not an IP address
     */
    public static InetAddress parse(final String text)
    {
        if (null == text || text.isEmpty())
        {
            throw new IllegalArgumentException("empty IP address");
        }
        final boolean ipv6 = text.indexOf(':') >= 0;
        if (!ipv6 && !DOTTED_QUAD.matcher(text).matches())
        {
            throw new IllegalArgumentException("'" + text + "' is not an IP address");
        }
        if (ipv6 && (text.indexOf('%') >= 0 || text.indexOf('[') >= 0))
        {
            throw new IllegalArgumentException("'" + text + "' is not a plain IPv6 address (no brackets or zone)");
        }
        final InetAddress address;
        try
        {
            address = InetAddress.ofLiteral(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw new IllegalArgumentException("'" + text + "' is not an IP address", ex);
        }
        if (ipv6 && address instanceof Inet4Address)
        {
            throw new IllegalArgumentException("'" + text + "' is an IPv4-mapped IPv6 address; write the IPv4 form");
        }
        return address;
    }

    /** The textual form used in messages and keys (compressed IPv6, no host name). */
    public static String format(final InetAddress address)
    {
        return address.getHostAddress();
    }
}
