package io.switchboard.maglev;

/**
 * The two stable hashes of a backend's identity that place it in a Maglev table: {@code offset}, where its
 * preference list starts, and {@code skip}, its stride (Maglev paper §3.4).
 * <p>
 * Both are SipHash-2-4 over the backend's address bytes followed by its port (2 bytes, big-endian), under two
 * different 128-bit keys derived from one cluster-wide 32-bit seed. Nothing here depends on the JVM, the
 * node or the order of backends, so every node with the same seed and the same backends computes the same
 * table (DESIGN invariant 5). Changing the key constants, the message layout or the hash function changes
 * every table: nodes running different versions would then disagree during an upgrade.
 */
public final class MaglevHash
{
    /** The seed used when the cluster configures none. */
    public static final int DEFAULT_SEED = 0;

    // One fixed key per hash, so that offset and skip are independent functions of the same bytes (SipHash
    // under two different keys). The keys spell "sb.maglev.offset" and "sb.maglev.skip.." in ASCII, each
    // 8-byte half read big-endian.
    private static final long OFFSET_KEY0 = 0x73622e6d61676c65L;
    private static final long OFFSET_KEY1 = 0x762e6f6666736574L;
    private static final long SKIP_KEY0 = 0x73622e6d61676c65L;
    private static final long SKIP_KEY1 = 0x762e736b69702e2eL;

    private final int seed;
    private final long offsetKey0;
    private final long offsetKey1;
    private final long skipKey0;
    private final long skipKey1;

    /**
     * @param seed the cluster-wide seed; every node of a cluster must use the same one to agree on tables
     */
    public MaglevHash(final int seed)
    {
        this.seed = seed;
        // The seed goes into both key words of both keys: low word plainly, high word shifted, so that no
        // seed value leaves either key unchanged.
        final long unsignedSeed = seed & 0xffff_ffffL;
        this.offsetKey0 = OFFSET_KEY0 ^ unsignedSeed;
        this.offsetKey1 = OFFSET_KEY1 ^ (unsignedSeed << 32);
        this.skipKey0 = SKIP_KEY0 ^ unsignedSeed;
        this.skipKey1 = SKIP_KEY1 ^ (unsignedSeed << 32);
    }

    /** The cluster-wide seed. */
    public int seed()
    {
        return seed;
    }

    /** The 64-bit hash that {@link #offset} reduces; also the primary key that orders backends. */
    public long offsetHash(final Backend backend)
    {
        final byte[] identity = backend.identity();
        return SipHash.hash(offsetKey0, offsetKey1, identity, 0, identity.length);
    }

    /** The 64-bit hash that {@link #skip} reduces. */
    public long skipHash(final Backend backend)
    {
        final byte[] identity = backend.identity();
        return SipHash.hash(skipKey0, skipKey1, identity, 0, identity.length);
    }

    /** {@code offsetHash mod tableSize}, unsigned: the backend's first preferred slot. */
    public int offset(final Backend backend, final int tableSize)
    {
        return offset(offsetHash(backend), tableSize);
    }

    /**
     * {@code skipHash mod (tableSize - 1) + 1}, unsigned: the backend's stride, in 1..tableSize-1, so that
     * with a prime table size its preference list visits every slot.
     */
    public int skip(final Backend backend, final int tableSize)
    {
        return skip(skipHash(backend), tableSize);
    }

    static int offset(final long offsetHash, final int tableSize)
    {
        return (int)Long.remainderUnsigned(offsetHash, tableSize);
    }

    static int skip(final long skipHash, final int tableSize)
    {
        return (int)Long.remainderUnsigned(skipHash, tableSize - 1) + 1;
    }
}
