package io.switchboard.model;

import java.net.InetAddress;
import java.net.UnknownHostException;

/**
 * An address range such as {@code 10.0.0.0/8}, as used by {@code loadBalancerSourceRanges}. Host bits set in
 * the text are cleared (as Go's {@code net.ParseCIDR} does, which Kubernetes uses).
 *
 * @param network      the first address of the range (host bits zero)
 * @param prefixLength the number of leading bits that must match, 0..32 or 0..128
 */
public record Cidr(InetAddress network, int prefixLength)
{
    /** A range checked for a prefix length that fits its family. */
    public Cidr
    {
        final int bits = network.getAddress().length * 8;
        if (prefixLength < 0 || prefixLength > bits)
        {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is outside 0.." + bits);
        }
    }

    /**
     * Parses {@code address/prefix}; surrounding white space is ignored, as kube-proxy trims it.
     *
     * @throws IllegalArgumentException naming why the text is not a CIDR
     */
    public static Cidr parse(final String text)
    {
        final String trimmed = null == text ? "" : text.strip();
        final int slash = trimmed.indexOf('/');
        if (slash < 0)
        {
            throw new IllegalArgumentException("'" + trimmed + "' is not a CIDR (address/prefix)");
        }
        final InetAddress address = IpAddresses.parse(trimmed.substring(0, slash));
        final String prefixText = trimmed.substring(slash + 1);
        if (prefixText.isEmpty() || prefixText.length() > 3 || !prefixText.chars().allMatch(Character::isDigit))
        {
            throw new IllegalArgumentException("'" + trimmed + "' has no valid prefix length");
        }
        return new Cidr(clearHostBits(address, Integer.parseInt(prefixText)), Integer.parseInt(prefixText));
    }

    /** The family of this range. */
    public IpFamily family()
    {
        return IpFamily.of(network);
    }

    /** Whether an address lies inside this range (an address of the other family never does). */
    public boolean contains(final InetAddress address)
    {
        return IpFamily.of(address) == family() && network.equals(clearHostBits(address, prefixLength));
    }

    @Override
    public String toString()
    {
        return IpAddresses.format(network) + "/" + prefixLength;
    }

    private static InetAddress clearHostBits(final InetAddress address, final int prefixLength)
    {
        final byte[] bytes = address.getAddress();
        if (prefixLength > bytes.length * 8)
        {
            throw new IllegalArgumentException("prefix length " + prefixLength + " is too long for " + IpAddresses.format(address));
        }
        for (int bit = prefixLength; bit < bytes.length * 8; bit++)
        {
            bytes[bit / 8] &= (byte)~(0x80 >>> (bit % 8));
        }
        try
        {
            return InetAddress.getByAddress(bytes);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalStateException("a 4 or 16 byte address was refused", ex);
        }
    }
}
