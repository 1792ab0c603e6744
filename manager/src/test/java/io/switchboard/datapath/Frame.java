package io.switchboard.datapath;

import io.switchboard.testing.Packet;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * Test-only reader of an Ethernet frame a program sent back: IPv4 without options or IPv6 without
 * extension headers, then TCP, UDP, ICMP or ICMPv6, so assertions can name the fields they check.
 */
record Frame(byte[] bytes)
{
    static final int ETHERTYPE_IPV4 = 0x0800;
    static final int ETHERTYPE_IPV6 = 0x86DD;

    int etherType()
    {
        return u16(12);
    }

    boolean ipv4()
    {
        return etherType() == ETHERTYPE_IPV4;
    }

    int l4Offset()
    {
        return Packet.ETH_HLEN + (ipv4() ? 20 : 40);
    }

    int protocol()
    {
        return ipv4() ? u8(Packet.ETH_HLEN + 9) : u8(Packet.ETH_HLEN + 6);
    }

    InetAddress source()
    {
        return ipv4() ? address(Packet.ETH_HLEN + 12, 4) : address(Packet.ETH_HLEN + 8, 16);
    }

    InetAddress destination()
    {
        return ipv4() ? address(Packet.ETH_HLEN + 16, 4) : address(Packet.ETH_HLEN + 24, 16);
    }

    int sourcePort()
    {
        return u16(l4Offset());
    }

    int destinationPort()
    {
        return u16(l4Offset() + 2);
    }

    int tcpFlags()
    {
        return u8(l4Offset() + 13);
    }

    long sequence()
    {
        return u32(l4Offset() + 4);
    }

    long acknowledgement()
    {
        return u32(l4Offset() + 8);
    }

    int icmpType()
    {
        return u8(l4Offset());
    }

    int icmpCode()
    {
        return u8(l4Offset() + 1);
    }

    /** The bytes an ICMP error quotes: everything after its 8-byte header. */
    byte[] icmpQuote()
    {
        return Arrays.copyOfRange(bytes, l4Offset() + 8, bytes.length);
    }

    byte[] destinationMac()
    {
        return Arrays.copyOfRange(bytes, 0, 6);
    }

    byte[] sourceMac()
    {
        return Arrays.copyOfRange(bytes, 6, 12);
    }

    int length()
    {
        return bytes.length;
    }

    private int u8(final int offset)
    {
        return bytes[offset] & 0xFF;
    }

    private int u16(final int offset)
    {
        return (u8(offset) << 8) | u8(offset + 1);
    }

    private long u32(final int offset)
    {
        return ((long)u16(offset) << 16) | u16(offset + 2);
    }

    private InetAddress address(final int offset, final int length)
    {
        try
        {
            return InetAddress.getByAddress(Arrays.copyOfRange(bytes, offset, offset + length));
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(ex);
        }
    }
}
