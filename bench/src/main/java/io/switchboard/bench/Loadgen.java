package io.switchboard.bench;

import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import org.HdrHistogram.Histogram;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The native load generator and pod servers ({@code bench/loadgen/loadgen.c}, built by {@code bench/run}), run
 * as processes of their own: the client inside the client's namespace through {@code nsenter}, the servers as
 * one process holding a listening socket in every pod's namespace. This class starts them and reads the
 * client's output file ({@link #parse}).
 */
final class Loadgen
{
    /** Latencies above this many ns do not fit the histograms (an hour). */
    static final long HIGHEST_NS = 3_600_000_000_000L;

    /**
     * What one client run measured, from its output file. {@code kernelMicros}: /proc/stat's system + irq +
     * softirq, every CPU, from just before the first intended start to just after the last completion (tick
     * sampled); {@code cpuNanos}: the client's own time on a CPU over the same window (schedstat, exact).
     */
    record Run(long offeredRate, Histogram connectNs, Histogram requestNs, long ok, long connectFailed,
        long readFailed, long timeouts, long lateStarts, long elapsedNs, long userMicros, long sysMicros,
        long kernelMicros, long cpuNanos)
    {
        long count()
        {
            return ok + failures();
        }

        long failures()
        {
            return connectFailed + readFailed + timeouts;
        }

        /** Connections that completed, per second from the first intended start to the last completion. */
        double achievedRate()
        {
            return elapsedNs <= 0 ? 0 : ok * 1e9 / elapsedNs;
        }
    }

    private Loadgen()
    {
    }

    /**
     * Parses the client's output: a {@code loadgen 1} line, a {@code target …} line with the run's settings,
     * one line per connection ({@code index status errno connect_ns request_ns}; status 0 ok, 1 connect failed,
     * 2 read failed, 3 timed out; -1 for a latency not reached), a {@code summary …} line. A connection's
     * connect latency is recorded whenever its connect completed, even if the request then failed.
     */
    static Run parse(final List<String> lines)
    {
        if (lines.isEmpty() || !lines.getFirst().equals("loadgen 1"))
        {
            throw new IllegalArgumentException("not loadgen 1 output: " + (lines.isEmpty() ? "empty" :
                lines.getFirst()));
        }
        final Map<String, String> settings = pairs(lines.get(1), "target");
        final Histogram connect = new Histogram(HIGHEST_NS, 3);
        final Histogram request = new Histogram(HIGHEST_NS, 3);
        final long[] statuses = new long[4];
        Map<String, String> summary = null;
        for (final String line : lines.subList(2, lines.size()))
        {
            if (line.isBlank() || line.startsWith("#"))
            {
                continue;
            }
            if (line.startsWith("summary "))
            {
                summary = pairs(line, "summary");
                continue;
            }
            final String[] fields = line.strip().split(" ");
            if (fields.length != 5)
            {
                throw new IllegalArgumentException("bad connection line: " + line);
            }
            final int status = Integer.parseInt(fields[1]);
            final long connectNs = Long.parseLong(fields[3]);
            final long requestNs = Long.parseLong(fields[4]);
            statuses[status]++;
            if (connectNs >= 0)
            {
                connect.recordValue(Math.min(connectNs, HIGHEST_NS));
            }
            if (status == 0)
            {
                request.recordValue(Math.min(requestNs, HIGHEST_NS));
            }
        }
        if (summary == null)
        {
            throw new IllegalArgumentException("loadgen output has no summary line (cut short?)");
        }
        final Run run = new Run(Long.parseLong(settings.get("rate")), connect, request, statuses[0], statuses[1],
            statuses[2], statuses[3], Long.parseLong(summary.get("late_starts")),
            Long.parseLong(summary.get("elapsed_ns")), Long.parseLong(summary.get("user_us")),
            Long.parseLong(summary.get("sys_us")), Long.parseLong(summary.get("kernel_ticks")) * CpuTimes.MICROS_PER_TICK,
            Long.parseLong(summary.get("cpu_ns")));
        if (run.ok() != Long.parseLong(summary.get("ok")) || run.timeouts() != Long.parseLong(summary.get("timeouts")) ||
            run.count() != Long.parseLong(settings.get("count")))
        {
            throw new IllegalArgumentException("loadgen output: connection lines disagree with the summary: " +
                summary + ", " + settings);
        }
        return run;
    }

    /** "word k1 v1 k2 v2 …" (or "target ADDRESS k1 v1 …") as a map. */
    private static Map<String, String> pairs(final String line, final String first)
    {
        final String[] fields = line.strip().split(" ");
        final int from = first.equals("target") ? 2 : 1;
        if (!fields[0].equals(first) || (fields.length - from) % 2 != 0)
        {
            throw new IllegalArgumentException("bad " + first + " line: " + line);
        }
        final Map<String, String> map = new HashMap<>();
        for (int i = from; i < fields.length; i += 2)
        {
            map.put(fields[i], fields[i + 1]);
        }
        return map;
    }

    /** The client's command line (without the nsenter prefix). */
    static List<String> clientCommand(final Path binary, final String target, final String source, final int rate,
        final int count, final int inflight, final int timeoutMillis, final int cpu, final Path out)
    {
        final List<String> command = new ArrayList<>(List.of(binary.toString(), "client", "--target", target,
            "--rate", String.valueOf(rate), "--count", String.valueOf(count), "--inflight", String.valueOf(inflight),
            "--timeout-ms", String.valueOf(timeoutMillis), "--out", out.toString()));
        if (source != null)
        {
            command.addAll(List.of("--source", source));
        }
        if (cpu >= 0)
        {
            command.addAll(List.of("--cpu", String.valueOf(cpu)));
        }
        return command;
    }

    /**
     * Runs the client in {@code client}'s namespace, a process of its own, and parses its output. The wait is
     * bounded: the schedule, plus the per-connection deadline, plus 30 s.
     */
    static Run runClient(final Host client, final Path binary, final String target, final String source,
        final int rate, final int count, final int inflight, final int timeoutMillis, final int cpu)
    {
        try
        {
            final Path out = Files.createTempFile("sb-loadgen", ".txt");
            try
            {
                final List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" +
                    client.namespace()));
                command.addAll(clientCommand(binary, target, source, rate, count, inflight, timeoutMillis, cpu, out));
                final Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                final long boundMillis = 1000L * count / rate + timeoutMillis + 30_000;
                if (!process.waitFor(boundMillis, TimeUnit.MILLISECONDS))
                {
                    process.destroyForcibly();
                    throw new IllegalStateException("loadgen client still running after " + boundMillis + " ms");
                }
                if (process.exitValue() != 0)
                {
                    throw new IllegalStateException(String.join(" ", command) + " exited " + process.exitValue());
                }
                return parse(Files.readAllLines(out, StandardCharsets.US_ASCII));
            }
            finally
            {
                Files.deleteIfExists(out);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    /** The pod servers: one process, a listening socket in each pod's namespace; stopped on close. */
    static final class Servers implements AutoCloseable
    {
        private final Process process;

        private Servers(final Process process)
        {
            this.process = process;
        }

        /** Starts servers on {@code port} in the pods {@code pods} (indexes) and waits until every socket listens. */
        static Servers start(final Path binary, final LabNetwork network, final int port,
            final Collection<Integer> pods)
        {
            final List<String> command = new ArrayList<>(List.of(binary.toString(), "serve", "--port",
                String.valueOf(port)));
            for (final int p : pods)
            {
                command.addAll(List.of("--netns", network.pod(p).role() + "=/var/run/netns/" +
                    network.pod(p).namespace()));
            }
            try
            {
                final Process process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT)
                    .start();
                final Servers servers = new Servers(process);
                final BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.US_ASCII));
                final String line = reader.readLine();
                if (!"ready".equals(line))
                {
                    servers.close();
                    throw new IllegalStateException(String.join(" ", command) + " did not start (" + line + ")");
                }
                return servers;
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        long pid()
        {
            return process.pid();
        }

        /** The servers' time on a CPU so far (schedstat: user, kernel and the softirqs on their stack), ns. */
        long cpuNanos()
        {
            return CpuTimes.cpuNanos(process.pid());
        }

        @Override
        public void close()
        {
            process.destroy();
            try
            {
                if (!process.waitFor(5, TimeUnit.SECONDS))
                {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
    }
}
