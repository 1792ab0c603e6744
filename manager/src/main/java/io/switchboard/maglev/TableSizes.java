package io.switchboard.maglev;

import java.util.Arrays;

/**
 * Chooses a service port's Maglev table size M from a fixed list of primes: the smallest with
 * M ≥ {@value #SLOTS_PER_BACKEND} × backends, within a configured minimum and maximum.
 * <p>
 * M must be prime so that every skip in 1..M-1 walks all M slots. At 100 slots per backend the paper bounds
 * the imbalance between backends at about 1 %; above the maximum, large services trade a little balance for
 * bounded memory and rebuild time. The list is fixed (not computed) so that every node picks the same M for
 * the same backend count; changing it changes tables cluster-wide.
 */
public final class TableSizes
{
    /** Slots wanted per backend before the maximum caps the size. */
    public static final int SLOTS_PER_BACKEND = 100;
    /** The default smallest size: even a 1-backend service gets this many slots. */
    public static final int DEFAULT_MINIMUM = 251;
    /** The default largest size: 65521 slots of 4 bytes is 256 KiB per service port. */
    public static final int DEFAULT_MAXIMUM = 65521;

    // Primes close below each power of two from 2^8 to 2^17, so that table memory roughly doubles per step.
    private static final int[] SIZES = {251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071};

    private static final TableSizes DEFAULTS = new TableSizes(DEFAULT_MINIMUM, DEFAULT_MAXIMUM);

    private final int minimum;
    private final int maximum;

    /**
     * @param minimum the smallest size to choose; one of {@link #candidates()}
     * @param maximum the largest size to choose; one of {@link #candidates()}, not below {@code minimum}
     * @throws IllegalArgumentException if either is not a candidate or they are out of order
     */
    public TableSizes(final int minimum, final int maximum)
    {
        if (Arrays.binarySearch(SIZES, minimum) < 0)
        {
            throw new IllegalArgumentException(
                "Maglev minimum table size " + minimum + " is not one of " + Arrays.toString(SIZES));
        }
        if (Arrays.binarySearch(SIZES, maximum) < 0)
        {
            throw new IllegalArgumentException(
                "Maglev maximum table size " + maximum + " is not one of " + Arrays.toString(SIZES));
        }
        if (maximum < minimum)
        {
            throw new IllegalArgumentException(
                "Maglev maximum table size " + maximum + " is below the minimum " + minimum);
        }
        this.minimum = minimum;
        this.maximum = maximum;
    }

    /** Minimum {@value #DEFAULT_MINIMUM}, maximum {@value #DEFAULT_MAXIMUM}. */
    public static TableSizes defaults()
    {
        return DEFAULTS;
    }

    /** Every size this class may choose, ascending (a copy). */
    public static int[] candidates()
    {
        return SIZES.clone();
    }

    /** The configured smallest size. */
    public int minimum()
    {
        return minimum;
    }

    /** The configured largest size. */
    public int maximum()
    {
        return maximum;
    }

    /**
     * The table size for a service port with {@code backendCount} backends: the smallest candidate that is at
     * least {@code minimum} and at least {@value #SLOTS_PER_BACKEND} × {@code backendCount}, or
     * {@code maximum} if none within it is large enough.
     */
    public int sizeFor(final int backendCount)
    {
        if (backendCount < 0)
        {
            throw new IllegalArgumentException("backend count must be >= 0: " + backendCount);
        }
        final long wanted = Math.max((long)SLOTS_PER_BACKEND * backendCount, minimum);
        for (final int size : SIZES)
        {
            if (size >= wanted && size <= maximum)
            {
                return size;
            }
        }
        return maximum;
    }

    /** Trial division: table sizes are at most 2^31, so at most 46341 divisions, and usually a few hundred. */
    static boolean isPrime(final int n)
    {
        if (n < 2)
        {
            return false;
        }
        for (int divisor = 2; (long)divisor * divisor <= n; divisor++)
        {
            if (n % divisor == 0)
            {
                return false;
            }
        }
        return true;
    }
}
