package io.switchboard.maglev;

/**
 * SipHash-2-4 (Aumasson and Bernstein, 2012) with a 64-bit output, written out here so that its result is
 * fixed by the published algorithm and nothing else: the same bytes and key give the same value on every JVM,
 * every architecture and every Switchboard version. Maglev slot ownership rests on that (DESIGN invariant 5).
 */
final class SipHash
{
    private static final int COMPRESSION_ROUNDS = 2;
    private static final int FINALIZATION_ROUNDS = 4;

    private SipHash()
    {
    }

    /**
     * SipHash-2-4 of {@code length} bytes of {@code message} from {@code offset}.
     *
     * @param key0 the first key word: key bytes 0..7 read little-endian, as the reference code reads them
     * @param key1 the second key word: key bytes 8..15 read little-endian
     */
    static long hash(final long key0, final long key1, final byte[] message, final int offset, final int length)
    {
        long v0 = key0 ^ 0x736f6d6570736575L;
        long v1 = key1 ^ 0x646f72616e646f6dL;
        long v2 = key0 ^ 0x6c7967656e657261L;
        long v3 = key1 ^ 0x7465646279746573L;

        final int wholeWords = length >>> 3;
        // One pass per message word, then one more pass for the finalization (which mixes in no word, and
        // flips v2 instead). The last message word carries the length in its top byte, as in the reference
        // code, so a message and its zero-padded extension never collide.
        for (int word = 0; word <= wholeWords + 1; word++)
        {
            final boolean finalization = word > wholeWords;
            final int start = offset + (word << 3);
            final long m;
            if (finalization)
            {
                m = 0;
                v2 ^= 0xff;
            }
            else if (word < wholeWords)
            {
                m = littleEndianWord(message, start, 8);
            }
            else
            {
                m = littleEndianWord(message, start, length & 7) | ((long)length << 56);
            }
            v3 ^= m;
            final int rounds = finalization ? FINALIZATION_ROUNDS : COMPRESSION_ROUNDS;
            for (int round = 0; round < rounds; round++)
            {
                v0 += v1; v1 = Long.rotateLeft(v1, 13); v1 ^= v0; v0 = Long.rotateLeft(v0, 32);
                v2 += v3; v3 = Long.rotateLeft(v3, 16); v3 ^= v2;
                v0 += v3; v3 = Long.rotateLeft(v3, 21); v3 ^= v0;
                v2 += v1; v1 = Long.rotateLeft(v1, 17); v1 ^= v2; v2 = Long.rotateLeft(v2, 32);
            }
            v0 ^= m;
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }

    private static long littleEndianWord(final byte[] bytes, final int start, final int count)
    {
        long word = 0;
        for (int i = 0; i < count; i++)
        {
            word |= (bytes[start + i] & 0xffL) << (i << 3);
        }
        return word;
    }
}
