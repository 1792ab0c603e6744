package io.switchboard.bench;

import java.net.Inet4Address;
import java.nio.ByteBuffer;

/** IPv4/TCP Ethernet frames with valid checksums, for {@code BPF_PROG_TEST_RUN}. */
final class Frames
{
    static final int TCP_SYN = 0x02;
    static final int TCP_ACK = 0x10;

    private static final int ETH_HLEN = 14;
    private static final int IP_HLEN = 20;
    private static final int TCP_HLEN = 20;

    private Frames()
    {
    }

    static byte[] tcp(final Inet4Address source, final int sourcePort, final Inet4Address destination,
        final int destinationPort, final int flags)
    {
        final ByteBuffer frame = ByteBuffer.allocate(ETH_HLEN + IP_HLEN + TCP_HLEN);
        frame.put(new byte[] {0x02, 0, 0, 0, 0, 0x01}).put(new byte[] {0x02, 0, 0, 0, 0, 0x02}).putShort((short)0x0800);
        frame.put((byte)0x45).put((byte)0).putShort((short)(IP_HLEN + TCP_HLEN)).putShort((short)1)
            .putShort((short)0x4000).put((byte)64).put((byte)6).putShort((short)0)
            .put(source.getAddress()).put(destination.getAddress());
        frame.putShort((short)sourcePort).putShort((short)destinationPort).putInt(1000)
            .putInt(flags == TCP_SYN ? 0 : 1).put((byte)0x50).put((byte)flags).putShort((short)65535)
            .putShort((short)0).putShort((short)0);
        final byte[] bytes = frame.array();
        putShort(bytes, ETH_HLEN + 10, checksum(bytes, ETH_HLEN, IP_HLEN, 0));
        long pseudo = 0;
        for (int i = 0; i < 8; i += 2)
        {
            pseudo += ((bytes[ETH_HLEN + 12 + i] & 0xff) << 8) | (bytes[ETH_HLEN + 13 + i] & 0xff);
        }
        pseudo += 6 + TCP_HLEN;
        putShort(bytes, ETH_HLEN + IP_HLEN + 16, checksum(bytes, ETH_HLEN + IP_HLEN, TCP_HLEN, pseudo));
        return bytes;
    }

    private static int checksum(final byte[] bytes, final int offset, final int length, final long initial)
    {
        long sum = initial;
        for (int i = 0; i < length; i += 2)
        {
            sum += ((bytes[offset + i] & 0xff) << 8) | (bytes[offset + i + 1] & 0xff);
        }
        while ((sum >>> 16) != 0)
        {
            sum = (sum & 0xffff) + (sum >>> 16);
        }
        return (int)(~sum & 0xffff);
    }

    private static void putShort(final byte[] bytes, final int offset, final int value)
    {
        bytes[offset] = (byte)(value >>> 8);
        bytes[offset + 1] = (byte)value;
    }
}
