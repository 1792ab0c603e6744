package io.switchboard.maglev;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The SHA-256 of the table for one fixed input, computed the same way in the test JVM and, through
 * {@link #main}, in a second JVM, so that the test can show that a table does not depend on the process.
 */
public final class MaglevTableDigest
{
    /** The cluster seed of the fixed input. */
    static final int SEED = 0x5eed;

    private MaglevTableDigest()
    {
    }

    /** Prints the fixed input's digest on standard output. */
    public static void main(final String[] args)
    {
        System.out.println(ofFixedInput());
    }

    /**
     * 40 IPv4 and 10 IPv6 backends with weights 1..3, default table sizes (M = 8191), seed {@link #SEED};
     * the digest of the table built from them, in hex.
     */
    static String ofFixedInput()
    {
        final List<Backend> backends = new ArrayList<>(TestBackends.ipv4(40, 1, 1, 2, 3));
        for (int i = 0; i < 10; i++)
        {
            backends.add(TestBackends.ipv6Backend(100 + i, i + 1, 1 + i % 3));
        }
        return of(new MaglevTableBuilder(new MaglevHash(SEED), TableSizes.defaults()).build(backends));
    }

    /** SHA-256 over M and then every slot, each a big-endian 32-bit integer; hex. */
    static String of(final MaglevTable table)
    {
        final ByteBuffer bytes = ByteBuffer.allocate(4 * (table.size() + 1));
        bytes.putInt(table.size());
        for (int slot = 0; slot < table.size(); slot++)
        {
            bytes.putInt(table.slot(slot));
        }
        try
        {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
        }
        catch (final NoSuchAlgorithmException e)
        {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
