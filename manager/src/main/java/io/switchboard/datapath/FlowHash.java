package io.switchboard.datapath;

import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The datapath's flow hash, {@code sb_hash_flow} in {@code bpf/include/sb_lb.h}, ported bit for bit: a
 * Murmur3-style mix over the four little-endian words of the source address, the four of the destination
 * (both as in the ABI, v4-mapped), the word {@code (sport << 16) | dport} of the ports as a little-endian
 * load of their network-order bytes, and the protocol, seeded with {@code sb_config.maglev_seed} and
 * finalised with length 40. A packet's Maglev slot is {@code 1 + unsigned(hash) % M}.
 */
public final class FlowHash
{
    private FlowHash()
    {
    }

    /** The hash the packet path computes for a flow (ports are ordinary port numbers). */
    public static int hash(final int seed, final InetAddress source, final int sourcePort,
        final InetAddress destination, final int destinationPort, final int protocol)
    {
        final ByteBuffer words = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
        words.put(abiAddress(source)).put(abiAddress(destination)).flip();
        int h = seed;
        for (int i = 0; i < 8; i++)
        {
            h = mix(h, words.getInt());
        }
        h = mix(h, (loadedPort(sourcePort) << 16) | loadedPort(destinationPort));
        h = mix(h, protocol & 0xFF);
        return finish(h, 40);
    }

    /** The Maglev slot index (0-based, after the size slot) a flow with {@code hash} takes in a table of {@code m}. */
    public static int slot(final int hash, final int m)
    {
        return (int)Integer.remainderUnsigned(hash, m);
    }

    /** A {@code __be16} port as the C code loads it on a little-endian CPU. */
    private static int loadedPort(final int port)
    {
        return Short.toUnsignedInt(Short.reverseBytes((short)port));
    }

    private static byte[] abiAddress(final InetAddress address)
    {
        final byte[] raw = address.getAddress();
        if (raw.length == 16)
        {
            return raw;
        }
        final byte[] mapped = new byte[16];
        mapped[10] = (byte)0xFF;
        mapped[11] = (byte)0xFF;
        System.arraycopy(raw, 0, mapped, 12, 4);
        return mapped;
    }

    private static int mix(final int h, final int word)
    {
        int k = word * 0xcc9e2d51;
        k = Integer.rotateLeft(k, 15);
        k *= 0x1b873593;
        int mixed = h ^ k;
        mixed = Integer.rotateLeft(mixed, 13);
        return mixed * 5 + 0xe6546b64;
    }

    private static int finish(final int h, final int length)
    {
        int f = h ^ length;
        f ^= f >>> 16;
        f *= 0x85ebca6b;
        f ^= f >>> 13;
        f *= 0xc2b2ae35;
        f ^= f >>> 16;
        return f;
    }
}
