package io.switchboard.testing;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Builds Ethernet frames for {@code BPF_PROG_TEST_RUN} fixtures: IPv4 or IPv6 with TCP or UDP, valid
 * checksums, written so that a fixture reads like the packet it describes:
 * <pre>
 *   Packet.tcp(client, 40000, service, 80).syn().build()
 * </pre>
 * and checks checksums of what a program sent back ({@link #checksumsValid(byte[])}).
 */
public final class Packet
{
    public static final int ETH_HLEN = 14;
    public static final int PROTO_ICMP = 1;
    public static final int PROTO_TCP = 6;
    public static final int PROTO_UDP = 17;
    public static final int PROTO_ICMPV6 = 58;
    /** IPv6 next header value of a hop-by-hop options extension header. */
    public static final int IPV6_HOP_BY_HOP = 0;
    public static final byte TCP_FIN = 0x01;
    public static final byte TCP_SYN = 0x02;
    public static final byte TCP_RST = 0x04;
    public static final byte TCP_PSH = 0x08;
    public static final byte TCP_ACK = 0x10;

    private static final byte[] SRC_MAC = {0x02, 0, 0, 0, 0, 0x02};
    private static final byte[] DST_MAC = {0x02, 0, 0, 0, 0, 0x01};

    private final int protocol;
    private final InetAddress source;
    private final int sourcePort;
    private final InetAddress destination;
    private final int destinationPort;
    private byte tcpFlags = TCP_ACK;
    private long sequence = 1000;
    private long acknowledgement;
    private byte[] payload = new byte[0];
    private int ttl = 64;
    private boolean zeroUdpChecksum;
    private byte[] ipv4Options = new byte[0];
    private int fragmentOffset;
    private boolean moreFragments;
    private boolean hopByHop;

    private Packet(final int protocol, final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort)
    {
        if (source.getClass() != destination.getClass())
        {
            throw new IllegalArgumentException("source and destination must be the same family");
        }
        this.protocol = protocol;
        this.source = source;
        this.sourcePort = sourcePort;
        this.destination = destination;
        this.destinationPort = destinationPort;
    }

    public static Packet tcp(final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort)
    {
        return new Packet(PROTO_TCP, source, sourcePort, destination, destinationPort);
    }

    public static Packet udp(final InetAddress source, final int sourcePort, final InetAddress destination,
        final int destinationPort)
    {
        return new Packet(PROTO_UDP, source, sourcePort, destination, destinationPort);
    }

    /** A TCP SYN (the first packet of a connection). */
    public Packet syn()
    {
        tcpFlags = TCP_SYN;
        acknowledgement = 0;
        return this;
    }

    public Packet flags(final int flags)
    {
        tcpFlags = (byte)flags;
        return this;
    }

    public Packet sequence(final long sequence, final long acknowledgement)
    {
        this.sequence = sequence;
        this.acknowledgement = acknowledgement;
        return this;
    }

    public Packet payload(final byte[] payload)
    {
        this.payload = payload.clone();
        return this;
    }

    public Packet ttl(final int ttl)
    {
        this.ttl = ttl;
        return this;
    }

    /** An IPv4 UDP datagram without a checksum (0), which is legal and must stay 0. */
    public Packet withoutUdpChecksum()
    {
        zeroUdpChecksum = true;
        return this;
    }

    /** An ICMP (IPv4) or ICMPv6 echo request: neither TCP nor UDP, so the datapath must not touch it. */
    public static Packet icmpEcho(final InetAddress source, final InetAddress destination)
    {
        return new Packet(source instanceof Inet4Address ? PROTO_ICMP : PROTO_ICMPV6, source, 0, destination, 0);
    }

    /** IPv4 header options (a multiple of 4 bytes, at most 40), making IHL larger than 5. */
    public Packet ipv4Options(final byte[] options)
    {
        if (options.length % 4 != 0 || options.length > 40)
        {
            throw new IllegalArgumentException("IPv4 options are whole 32-bit words, at most 40 bytes");
        }
        ipv4Options = options.clone();
        return this;
    }

    /** An IPv4 fragment: offset in 8-byte units and the more-fragments flag (DF is cleared). */
    public Packet fragment(final int offsetIn8ByteUnits, final boolean more)
    {
        fragmentOffset = offsetIn8ByteUnits;
        moreFragments = more;
        return this;
    }

    /** An IPv6 hop-by-hop options header (8 bytes of padding) between the IPv6 header and L4. */
    public Packet hopByHop()
    {
        hopByHop = true;
        return this;
    }

    /** An ARP request "who has {@code target}? tell {@code sender}", broadcast. */
    public static byte[] arpRequest(final InetAddress sender, final InetAddress target)
    {
        final ByteBuffer frame = ByteBuffer.allocate(ETH_HLEN + 28).order(ByteOrder.BIG_ENDIAN);
        frame.put(new byte[] {-1, -1, -1, -1, -1, -1}).put(SRC_MAC).putShort((short)0x0806)
            .putShort((short)1).putShort((short)0x0800).put((byte)6).put((byte)4).putShort((short)1)
            .put(SRC_MAC).put(sender.getAddress()).put(new byte[6]).put(target.getAddress());
        return frame.array();
    }

    public byte[] build()
    {
        final byte[] l4 = switch (protocol)
        {
            case PROTO_TCP -> tcpSegment();
            case PROTO_UDP -> udpDatagram();
            default -> icmpEcho();
        };
        final byte[] l3 = source instanceof Inet4Address ? ipv4(l4) : ipv6(l4);
        final ByteBuffer frame = ByteBuffer.allocate(ETH_HLEN + l3.length).order(ByteOrder.BIG_ENDIAN);
        frame.put(DST_MAC).put(SRC_MAC).putShort((short)(source instanceof Inet4Address ? 0x0800 : 0x86DD)).put(l3);
        return frame.array();
    }

    private byte[] tcpSegment()
    {
        final ByteBuffer tcp = ByteBuffer.allocate(20 + payload.length).order(ByteOrder.BIG_ENDIAN);
        tcp.putShort((short)sourcePort).putShort((short)destinationPort)
            .putInt((int)sequence).putInt((int)acknowledgement)
            .put((byte)(5 << 4)).put(tcpFlags).putShort((short)65535)
            .putShort((short)0).putShort((short)0).put(payload);
        final byte[] bytes = tcp.array();
        final int checksum = l4Checksum(source.getAddress(), destination.getAddress(), PROTO_TCP, bytes);
        bytes[16] = (byte)(checksum >> 8);
        bytes[17] = (byte)checksum;
        return bytes;
    }

    private byte[] udpDatagram()
    {
        final ByteBuffer udp = ByteBuffer.allocate(8 + payload.length).order(ByteOrder.BIG_ENDIAN);
        udp.putShort((short)sourcePort).putShort((short)destinationPort).putShort((short)(8 + payload.length))
            .putShort((short)0).put(payload);
        final byte[] bytes = udp.array();
        if (!zeroUdpChecksum)
        {
            int checksum = l4Checksum(source.getAddress(), destination.getAddress(), PROTO_UDP, bytes);
            checksum = checksum == 0 ? 0xFFFF : checksum;
            bytes[6] = (byte)(checksum >> 8);
            bytes[7] = (byte)checksum;
        }
        return bytes;
    }

    private byte[] icmpEcho()
    {
        final ByteBuffer icmp = ByteBuffer.allocate(8 + payload.length).order(ByteOrder.BIG_ENDIAN);
        icmp.put((byte)(protocol == PROTO_ICMP ? 8 : 128)).put((byte)0).putShort((short)0)
            .putShort((short)0x4242).putShort((short)1).put(payload);
        final byte[] bytes = icmp.array();
        final int checksum = protocol == PROTO_ICMP ? fold(sum(bytes, 0, bytes.length, 0)) :
            l4Checksum(source.getAddress(), destination.getAddress(), PROTO_ICMPV6, bytes);
        bytes[2] = (byte)(checksum >> 8);
        bytes[3] = (byte)checksum;
        return bytes;
    }

    private byte[] ipv4(final byte[] l4)
    {
        final int headerLength = 20 + ipv4Options.length;
        // DF on whole datagrams; a fragment carries its offset and MF instead
        final int fragmentField = fragmentOffset != 0 || moreFragments ?
            (moreFragments ? 0x2000 : 0) | fragmentOffset : 0x4000;
        final ByteBuffer ip = ByteBuffer.allocate(headerLength + l4.length).order(ByteOrder.BIG_ENDIAN);
        ip.put((byte)(0x40 | headerLength / 4)).put((byte)0).putShort((short)(headerLength + l4.length))
            .putShort((short)0x1234).putShort((short)fragmentField)
            .put((byte)ttl).put((byte)protocol).putShort((short)0)
            .put(source.getAddress()).put(destination.getAddress()).put(ipv4Options).put(l4);
        final byte[] bytes = ip.array();
        final int checksum = fold(sum(bytes, 0, headerLength, 0));
        bytes[10] = (byte)(checksum >> 8);
        bytes[11] = (byte)checksum;
        return bytes;
    }

    private byte[] ipv6(final byte[] l4)
    {
        final int extensionLength = hopByHop ? 8 : 0;
        final ByteBuffer ip = ByteBuffer.allocate(40 + extensionLength + l4.length).order(ByteOrder.BIG_ENDIAN);
        ip.putInt(0x60000000).putShort((short)(extensionLength + l4.length))
            .put((byte)(hopByHop ? IPV6_HOP_BY_HOP : protocol)).put((byte)ttl)
            .put(source.getAddress()).put(destination.getAddress());
        if (hopByHop)
        {
            // next header, length 0 (8 bytes), then a PadN option filling the remaining 6 bytes
            ip.put((byte)protocol).put((byte)0).put((byte)1).put((byte)4).putInt(0);
        }
        ip.put(l4);
        return ip.array();
    }

    /** Ones'-complement sum of {@code length} bytes from {@code offset}, added to {@code initial}. */
    public static long sum(final byte[] data, final int offset, final int length, final long initial)
    {
        long sum = initial;
        for (int i = 0; i + 1 < length; i += 2)
        {
            sum += ((data[offset + i] & 0xFF) << 8) | (data[offset + i + 1] & 0xFF);
        }
        if ((length & 1) != 0)
        {
            sum += (data[offset + length - 1] & 0xFF) << 8;
        }
        return sum;
    }

    /** Folds a ones'-complement sum to 16 bits and complements it: the value a checksum field holds. */
    public static int fold(final long sum)
    {
        long folded = sum;
        while ((folded >>> 16) != 0)
        {
            folded = (folded & 0xFFFF) + (folded >>> 16);
        }
        return (int)(~folded & 0xFFFF);
    }

    private static int l4Checksum(final byte[] source, final byte[] destination, final int protocol, final byte[] l4)
    {
        long sum = sum(source, 0, source.length, 0);
        sum = sum(destination, 0, destination.length, sum);
        sum += protocol + l4.length;
        return fold(sum(l4, 0, l4.length, sum));
    }

    /**
     * Whether every checksum of an Ethernet frame is right: the IPv4 header's, and the TCP, UDP or
     * ICMP one (including an ICMP error's embedded IPv4 header). Non-IP frames count as valid; an IP
     * frame shorter than its headers claim does not.
     */
    public static boolean checksumsValid(final byte[] frame)
    {
        if (frame.length < ETH_HLEN)
        {
            return false;
        }
        final int etherType = ((frame[12] & 0xFF) << 8) | (frame[13] & 0xFF);
        if (etherType == 0x0800)
        {
            // a frame shorter than its headers claim has no checksums that could be right
            if (frame.length < ETH_HLEN + 20)
            {
                return false;
            }
            final int ihl = (frame[ETH_HLEN] & 0x0F) * 4;
            final int total = ((frame[ETH_HLEN + 2] & 0xFF) << 8) | (frame[ETH_HLEN + 3] & 0xFF);
            if (ihl < 20 || total < ihl || ETH_HLEN + total > frame.length)
            {
                return false;
            }
            if (fold(sum(frame, ETH_HLEN, ihl, 0)) != 0)
            {
                return false;
            }
            final int protocol = frame[ETH_HLEN + 9] & 0xFF;
            final int l4 = ETH_HLEN + ihl;
            final int l4Length = total - ihl;
            final int fragment = ((frame[ETH_HLEN + 6] & 0x1F) << 8) | (frame[ETH_HLEN + 7] & 0xFF);
            final boolean moreFragments = (frame[ETH_HLEN + 6] & 0x20) != 0;
            if (fragment != 0 || moreFragments)
            {
                return true; // only the whole datagram has an L4 checksum
            }
            if (protocol == 1)
            {
                return fold(sum(frame, l4, l4Length, 0)) == 0 && embeddedIpv4Valid(frame, l4 + 8, frame.length);
            }
            if ((protocol == PROTO_UDP && l4Length < 8) || (protocol == PROTO_TCP && l4Length < 20))
            {
                return false;
            }
            if (protocol == PROTO_UDP && frame[l4 + 6] == 0 && frame[l4 + 7] == 0)
            {
                return true;
            }
            if (protocol == PROTO_TCP || protocol == PROTO_UDP)
            {
                long pseudo = sum(frame, ETH_HLEN + 12, 8, 0) + protocol + l4Length;
                return fold(sum(frame, l4, l4Length, pseudo)) == 0;
            }
            return true;
        }
        if (etherType == 0x86DD)
        {
            if (frame.length < ETH_HLEN + 40)
            {
                return false;
            }
            final int payloadLength = ((frame[ETH_HLEN + 4] & 0xFF) << 8) | (frame[ETH_HLEN + 5] & 0xFF);
            if (ETH_HLEN + 40 + payloadLength > frame.length)
            {
                return false;
            }
            final int next = frame[ETH_HLEN + 6] & 0xFF;
            if (next == PROTO_TCP || next == PROTO_UDP || next == 58)
            {
                long pseudo = sum(frame, ETH_HLEN + 8, 32, 0) + next + payloadLength;
                return fold(sum(frame, ETH_HLEN + 40, payloadLength, pseudo)) == 0;
            }
            return true;
        }
        return true;
    }

    private static boolean embeddedIpv4Valid(final byte[] frame, final int offset, final int end)
    {
        if (offset + 20 > end || (frame[offset] & 0xF0) != 0x40)
        {
            return true;
        }
        final int ihl = (frame[offset] & 0x0F) * 4;
        return offset + ihl > end || fold(sum(frame, offset, ihl, 0)) == 0;
    }

    /** Parses a literal address for fixtures. */
    public static InetAddress address(final String literal)
    {
        try
        {
            final InetAddress address = InetAddress.getByName(literal);
            if (!(address instanceof Inet4Address) && !(address instanceof Inet6Address))
            {
                throw new IllegalArgumentException(literal);
            }
            return address;
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
        }
    }
}
