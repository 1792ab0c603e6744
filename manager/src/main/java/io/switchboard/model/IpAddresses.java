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

    /** The textual form used in messages and keys: dotted quad, or RFC 5952 compressed IPv6 (as kubectl shows it). */
    public static String format(final InetAddress address)
    {
        if (address instanceof Inet4Address)
        {
            return address.getHostAddress();
        }
        final byte[] bytes = address.getAddress();
        final int[] groups = new int[8];
        for (int i = 0; i < 8; i++)
        {
            groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        // RFC 5952: the longest run of two or more zero groups (the first on a tie) becomes "::".
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; i++)
        {
            int length = 0;
            while (i + length < 8 && 0 == groups[i + length])
            {
                length++;
            }
            if (length > bestLength)
            {
                bestStart = i;
                bestLength = length;
            }
        }
        final StringBuilder text = new StringBuilder(39);
        for (int i = 0; i < 8; i++)
        {
            if (i == bestStart)
            {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (!text.isEmpty() && ':' != text.charAt(text.length() - 1))
            {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }
}
