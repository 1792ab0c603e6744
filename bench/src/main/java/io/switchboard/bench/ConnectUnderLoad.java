package io.switchboard.bench;

import org.HdrHistogram.Histogram;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The connect part: open-loop load from the native client ({@link Loadgen}) to the last ClusterIP:80 of every
 * system's {@link Testbed}, all networks up at once and measured in interleaved rounds (at each rate: round 1 of
 * every system in turn, then round 2, …), so that noise on the shared machine falls on every system alike. Rates
 * rise until the first rate at which any system saturates ({@link #saturated}); that rate is still reported.
 * Per round, the CPU time of the client, the servers and the ksoftirqd threads ({@code /proc/PID/schedstat});
 * the client also reports {@code /proc/stat}'s kernel columns over its run, kept beside for comparison.
 */
final class ConnectUnderLoad
{
    /** Achieved below this share of the offered rate is saturation. */
    static final double SATURATION_SHARE = 0.9;

    /** A connect latency at least this long is, on this kernel (HZ 250), most likely a SYN retransmission. */
    static final long SLOW_CONNECT_NS = 8_000_000;

    private ConnectUnderLoad()
    {
    }

    /** The saturation rule: fewer than 90% of the offered connections per second achieved, or any failure. */
    static boolean saturated(final double offered, final double achieved, final long failures)
    {
        return failures > 0 || achieved < SATURATION_SHARE * offered;
    }

    /** The rounds of one system at one rate, summed. */
    static final class Totals
    {
        final int offeredRate;
        final Histogram connectNs = new Histogram(Loadgen.HIGHEST_NS, 3);
        final Histogram requestNs = new Histogram(Loadgen.HIGHEST_NS, 3);
        long ok;
        long failures;
        long timeouts;
        long lateStarts;
        long elapsedNs;
        long procStatKernelMicros;
        long clientCpuNanos;
        long serversCpuNanos;
        long ksoftirqdNanos;
        long synRetransmits;

        Totals(final int offeredRate)
        {
            this.offeredRate = offeredRate;
        }

        void add(final Loadgen.Run run, final long serversCpuNanos, final long ksoftirqdNanos,
            final long synRetransmits)
        {
            connectNs.add(run.connectNs());
            requestNs.add(run.requestNs());
            ok += run.ok();
            failures += run.failures();
            timeouts += run.timeouts();
            lateStarts += run.lateStarts();
            elapsedNs += run.elapsedNs();
            procStatKernelMicros += run.kernelMicros();
            clientCpuNanos += run.cpuNanos();
            this.serversCpuNanos += serversCpuNanos;
            this.ksoftirqdNanos += ksoftirqdNanos;
            this.synRetransmits += synRetransmits;
        }

        long connections()
        {
            return ok + failures;
        }

        double achievedRate()
        {
            return elapsedNs <= 0 ? 0 : ok * 1e9 / elapsedNs;
        }

        Report.ConnectLoad result()
        {
            final long slow = connectNs.getTotalCount() - connectNs.getCountBetweenValues(0, SLOW_CONNECT_NS - 1);
            return new Report.ConnectLoad(offeredRate, achievedRate(), connections(), failures, timeouts,
                micros(connectNs, 50), micros(connectNs, 99), micros(connectNs, 99.9), micros(requestNs, 50),
                micros(requestNs, 99), micros(requestNs, 99.9),
                CpuTimes.microsPerThousand(clientCpuNanos + serversCpuNanos + ksoftirqdNanos, connections()),
                CpuTimes.microsPerThousand(clientCpuNanos, connections()),
                CpuTimes.microsPerThousand(serversCpuNanos, connections()),
                CpuTimes.microsPerThousand(ksoftirqdNanos, connections()),
                CpuTimes.microsPerThousand(procStatKernelMicros * 1000, connections()), slow, synRetransmits, lateStarts,
                saturated(offeredRate, achievedRate(), failures));
        }

        private static Double micros(final Histogram histogram, final double percentile)
        {
            return histogram.getTotalCount() == 0 ? null : histogram.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    /** Measures every bed at {@code services} services and puts the results in {@code report}. */
    static void measure(final BenchConfig config, final Report report, final List<Testbed> beds, final int services)
    {
        final List<Long> ksoftirqd = CpuTimes.ksoftirqdPids();
        final String target = beds.isEmpty() ? null : beds.getFirst().set.clusterIp(beds.getFirst().set.lastIndex()) +
            ":" + ServiceSet.SERVICE_PORT;
        for (final Testbed bed : beds)
        {
            // not recorded: first ARP, first conntrack entries, the page cache of the binary
            final Loadgen.Run warm = run(config, bed, target, config.connectRates().getFirst(), config.connectLoadWarmup());
            System.out.printf(Locale.ROOT, "   %s warm-up: %d ok, %d failed%n", bed.system, warm.ok(), warm.failures());
        }
        for (final int rate : config.connectRates())
        {
            final Map<String, Totals> totals = new LinkedHashMap<>();
            for (int round = 0; round < config.connectRounds(); round++)
            {
                for (final Testbed bed : beds)
                {
                    final long synBefore = synRetransmits(bed);
                    final long serversBefore = bed.serversCpuNanos();
                    final long softirqBefore = CpuTimes.cpuNanos(ksoftirqd);
                    final Loadgen.Run run = run(config, bed, target, rate, config.connectRoundConnections());
                    final long softirq = CpuTimes.cpuNanos(ksoftirqd) - softirqBefore;
                    totals.computeIfAbsent(bed.system, k -> new Totals(rate)).add(run,
                        bed.serversCpuNanos() - serversBefore, softirq, synRetransmits(bed) - synBefore);
                }
            }
            boolean stop = false;
            for (final Map.Entry<String, Totals> entry : totals.entrySet())
            {
                final Report.ConnectLoad result = entry.getValue().result();
                report.connectLoad(entry.getKey(), services, result);
                System.out.printf(Locale.ROOT, "   %s at %d/s: achieved %.0f/s; connect p50/p99/p99.9 %.0f/%.0f/%.0f " +
                    "us; request %.0f/%.0f/%.0f us; %d failed (%d timed out) of %d; %d connects >= 8 ms, %d SYN " +
                    "retransmissions; CPU %.0f us per 1k connections (client %.0f, servers %.0f, ksoftirqd %.0f; " +
                    "/proc/stat kernel %.0f)%s%n",
                    entry.getKey(), rate, result.achievedRate(), result.p50(), result.p99(), result.p999(),
                    result.requestP50(), result.requestP99(), result.requestP999(), result.failures(), result.timeouts(),
                    result.connections(), result.slowConnects(), result.synRetransmits(), result.cpuUsPer1k(),
                    result.clientUsPer1k(), result.serversUsPer1k(), result.ksoftirqdUsPer1k(),
                    result.procStatKernelUsPer1k(), result.saturated() ? "; SATURATED" : "");
                stop |= result.saturated();
            }
            if (stop)
            {
                report.notes.add(String.format(Locale.ROOT, "connect at %d services: stopped at %d/s, the first " +
                    "rate at which a system saturated", services, rate));
                break;
            }
        }
    }

    private static Loadgen.Run run(final BenchConfig config, final Testbed bed, final String target, final int rate,
        final int count)
    {
        return Loadgen.runClient(bed.network.client(), config.loadgen(), target, Testbed.LOADGEN_SOURCE, rate, count,
            config.connectInflight(), config.connectTimeoutMillis(), config.loadgenCpu());
    }

    /** The client namespace's TcpExt TCPSynRetrans counter. */
    static long synRetransmits(final Testbed bed)
    {
        return netstat(bed.network.client().exec("cat", "/proc/net/netstat"), "TcpExt", "TCPSynRetrans");
    }

    /** One counter of {@code /proc/net/netstat}'s text (a header line and a value line per group). */
    static long netstat(final String text, final String group, final String name)
    {
        final List<String> lines = new ArrayList<>(text.lines().toList());
        for (int i = 0; i + 1 < lines.size(); i++)
        {
            if (lines.get(i).startsWith(group + ":") && lines.get(i + 1).startsWith(group + ":"))
            {
                final String[] names = lines.get(i).split("\\s+");
                final String[] values = lines.get(i + 1).split("\\s+");
                for (int f = 1; f < names.length; f++)
                {
                    if (names[f].equals(name))
                    {
                        return Long.parseLong(values[f]);
                    }
                }
            }
        }
        throw new IllegalArgumentException("no " + group + " " + name + " in netstat");
    }
}
