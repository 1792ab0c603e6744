package io.switchboard.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * CPU time of processes and kernel threads from {@code /proc/PID/schedstat} (exact, ns), and the
 * per-1,000-connections arithmetic of the connect harness. {@code /proc/stat} counts in USER_HZ ticks (100 per
 * second on Linux, whatever the kernel's HZ); the load generator reports its growth in those ticks.
 */
final class CpuTimes
{
    static final long MICROS_PER_TICK = 10_000;

    private CpuTimes()
    {
    }

    /**
     * A thread's (for a single-threaded process, the process's) time on a CPU so far, ns: the first field of
     * {@code /proc/PID/schedstat}. Exact, unlike the tick-sampled utime/stime; on a kernel without
     * IRQ_TIME_ACCOUNTING it includes the interrupts and softirqs that ran on the thread's stack.
     */
    static long parseSchedstatNanos(final String schedstat)
    {
        return Long.parseLong(schedstat.strip().split("\\s+")[0]);
    }

    static long cpuNanos(final long pid)
    {
        return parseSchedstatNanos(read(Path.of("/proc", String.valueOf(pid), "schedstat")));
    }

    /** The pids of the kernel's {@code ksoftirqd/N} threads (softirq work deferred off the stacks it was raised on). */
    static List<Long> ksoftirqdPids()
    {
        try (Stream<Path> entries = Files.list(Path.of("/proc")))
        {
            return entries.filter(p -> p.getFileName().toString().chars().allMatch(Character::isDigit))
                .filter(p -> readOrEmpty(p.resolve("comm")).startsWith("ksoftirqd/"))
                .map(p -> Long.valueOf(p.getFileName().toString())).sorted().toList();
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** The summed {@link #cpuNanos} of {@code pids}. */
    static long cpuNanos(final List<Long> pids)
    {
        return pids.stream().mapToLong(CpuTimes::cpuNanos).sum();
    }

    private static String readOrEmpty(final Path path)
    {
        try
        {
            return Files.readString(path);
        }
        catch (final IOException ex)
        {
            return "";
        }
    }

    /** {@code nanos} spread over {@code connections}: µs per 1,000 of them; null without connections. */
    static Double microsPerThousand(final long nanos, final long connections)
    {
        return connections <= 0 ? null : nanos / 1000.0 * 1000.0 / connections;
    }

    private static String read(final Path path)
    {
        try
        {
            return Files.readString(path);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
