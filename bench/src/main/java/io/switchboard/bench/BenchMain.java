package io.switchboard.bench;

import io.switchboard.netns.LabNetwork;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The whole benchmark: kube-proxy's iptables and nftables modes and Switchboard side by side (programming,
 * one-endpoint change, new-connection latency), the same systems under open-loop connection load from a native
 * client ({@link ConnectUnderLoad}), the datapath's ns/packet, and the JMH suite. Writes
 * {@code results.json}, {@code results.md}, {@code chart.png} and the JMH JSON files under {@code bench.out}.
 * Run as root ({@code bench/run}); every address lives in namespaces made here and removed at the end.
 */
public final class BenchMain
{
    private BenchMain()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        if (args.length == 3 && args[0].equals("--chart"))
        {
            // draw chart.png again from a results.json: java -jar switchboard-bench.jar --chart IN.json OUT.png
            Chart.rewrite(Path.of(args[1]), Path.of(args[2]));
            return;
        }
        final BenchConfig config = BenchConfig.fromSystemProperties();
        Files.createDirectories(config.out());
        final Report report = new Report();
        report.date = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        report.machine = machine();
        final long start = System.nanoTime();

        for (final String part : config.parts())
        {
            if (!BenchConfig.PARTS.contains(part))
            {
                throw new IllegalArgumentException("bench.parts: unknown part " + part + " (" +
                    String.join(",", BenchConfig.PARTS) + ")");
            }
        }
        if (config.runs("systems") || config.runs("connect"))
        {
            for (final int services : config.services())
            {
                scale(config, report, services);
            }
        }
        if (config.runs("latency"))
        {
            for (final int services : config.latencyServices())
            {
                section(report, "update visible at " + services, () -> updateVisible(config, report, services));
            }
        }
        if (config.runs("datapath"))
        {
            section(report, "datapath", () -> datapath(config, report));
        }
        if (config.runs("mpps"))
        {
            section(report, "mpps", () -> mpps(config, report));
        }
        if (config.jmh() && config.runs("jmh"))
        {
            section(report, "jmh", () -> report.jmh.addAll(JmhSuite.run(config, config.out())));
        }
        report.notes.add(String.format(Locale.ROOT, "whole run took %.0f s", (System.nanoTime() - start) / 1e9));

        Files.writeString(config.out().resolve("results.json"), report.json());
        Files.writeString(config.out().resolve("results.md"), report.markdown());
        Chart.write(report, config.out().resolve("chart.png"));
        System.out.println(report.markdown());
        System.out.println("wrote " + config.out().toAbsolutePath());
    }

    private interface Section
    {
        void run() throws Exception;
    }

    /** Runs one part; a failure becomes a note and the rest still runs. */
    private static void section(final Report report, final String name, final Section section)
    {
        System.out.println("== " + name);
        final long start = System.nanoTime();
        try
        {
            section.run();
        }
        catch (final Exception | Error ex)
        {
            ex.printStackTrace();
            report.notes.add(name + " failed: " + ex);
        }
        System.out.printf(Locale.ROOT, "   %s: %.1f s%n", name, (System.nanoTime() - start) / 1e9);
    }

    /**
     * One scale: every system's {@link Testbed} (network, servers, services programmed) is built and kept up
     * while the systems part measures each in turn and the connect part interleaves them; then all are removed.
     */
    private static void scale(final BenchConfig config, final Report report, final int services)
    {
        final ServiceSet set = ServiceSet.onPods(services, config.endpoints(), config.pods());
        final List<String> systems = new ArrayList<>(config.runs("systems") ? config.systems() : List.of());
        if (config.runs("connect"))
        {
            config.connectSystems().stream().filter(system -> !systems.contains(system)).forEach(systems::add);
        }
        final Map<String, Testbed> beds = new LinkedHashMap<>();
        try
        {
            for (final String system : systems)
            {
                section(report, system + " at " + services + ": network and program", () ->
                {
                    final Testbed bed = Testbed.open(system, set, config);
                    beds.put(system, bed);
                    final double programSeconds = bed.programNanos / 1e9;
                    if (config.runs("systems"))
                    {
                        report.program(system, services, programSeconds);
                    }
                    System.out.printf(Locale.ROOT, "   program: %.3f s%n", programSeconds);
                });
            }
            if (config.runs("systems"))
            {
                for (final String system : config.systems())
                {
                    final Testbed bed = beds.get(system);
                    if (bed != null)
                    {
                        section(report, system + " at " + services, () -> sideBySide(config, report, bed, services));
                    }
                }
            }
            if (config.runs("connect"))
            {
                final List<Testbed> loaded = config.connectSystems().stream().map(beds::get)
                    .filter(java.util.Objects::nonNull).toList();
                section(report, "connect at " + services + " (" + loaded.stream().map(bed -> bed.system)
                    .collect(Collectors.joining(", ")) + ", interleaved)",
                    () -> ConnectUnderLoad.measure(config, report, loaded, services));
            }
        }
        finally
        {
            for (final Testbed bed : beds.values())
            {
                try
                {
                    bed.close();
                }
                catch (final RuntimeException ex)
                {
                    ex.printStackTrace();
                    report.notes.add("removing " + bed.system + "'s network at " + services + " failed: " + ex);
                }
            }
        }
    }

    /** The systems part on one system's testbed: pod-direct baseline, closed-loop connects, one-endpoint changes. */
    private static void sideBySide(final BenchConfig config, final Report report, final Testbed bed,
        final int services)
    {
        final String system = bed.system;
        final ServiceSet set = bed.set;
        final LabNetwork network = bed.network;
        final DataplaneUnderTest dataplane = bed.dataplane;
        // the same client code straight to a pod first: warms the JVM's socket path whichever system
        // runs first, and gives the no-service baseline of this network
        final ServiceSet.Endpoint direct = set.endpoints().getFirst();
        final ConnectLatency.Result baseline = ConnectLatency.measure(network.client(), direct.ip(),
            direct.port(), Math.max(500, config.connectWarmup()), config.connections());
        report.connect(system + " network, pod direct", services, new Report.Connect(
            baseline.percentileMicros(50), baseline.percentileMicros(99), baseline.ratePerSecond(),
            baseline.failures()));
        final ConnectLatency.Result latency = ConnectLatency.measure(network.client(),
            set.clusterIp(set.lastIndex()), ServiceSet.SERVICE_PORT, config.connectWarmup(),
            config.connections());
        if (latency.histogram().getTotalCount() > 0)
        {
            report.connect(system, services, new Report.Connect(latency.percentileMicros(50),
                latency.percentileMicros(99), latency.ratePerSecond(), latency.failures()));
        }
        if (latency.failures() > 0)
        {
            report.notes.add(system + " at " + services + ": " + latency.failures() + " of " +
                (config.connections() + config.connectWarmup()) + " connections failed");
        }
        System.out.printf(Locale.ROOT, "   connect: p50 %.0f us, p99 %.0f us, %.0f/s, %d failed%n",
            latency.percentileMicros(50), latency.percentileMicros(99), latency.ratePerSecond(),
            latency.failures());

        final int changes = system.startsWith("switchboard") ? config.switchboardChanges() : config.ruleChanges();
        final double[] millis = new double[changes];
        for (int c = 0; c < changes; c++)
        {
            millis[c] = dataplane.changeOneEndpoint(c + 1) / 1e6;
        }
        report.change(system, services, DatapathCost.median(millis));
        final double[] sorted = millis.clone();
        Arrays.sort(sorted);
        report.changeP99Millis.computeIfAbsent(system, k -> new java.util.TreeMap<>()).put(services,
            sorted[Math.min(sorted.length - 1, (int)Math.ceil(0.99 * sorted.length) - 1)]);
        System.out.printf(Locale.ROOT, "   one change: median %.3f ms of %d%n", DatapathCost.median(millis),
            changes);
        if (dataplane instanceof ProgrammerDataplane programmed)
        {
            cliWallTimes(report, programmed.pins(), services);
        }
        if (services == config.services().getLast())
        {
            report.notes.add(system + ": " + dataplane.note() + (dataplane instanceof SwitchboardDataplane sb
                ? "; XDP mode " + sb.xdpMode() : ""));
        }
    }

    /**
     * Issue 13's {@code cli_ms}: what an operator waits for {@code bin/switchboard get services} and {@code get stats}
     * against a datapath holding {@code services} services (the switchboard system's pins; no agent: {@code --agent
     * off}, an empty state directory), one warm-up call (it also makes the CLI's ahead-of-time cache), then the
     * median of 5, output discarded.
     */
    private static void cliWallTimes(final Report report, final Path pins, final int services)
    {
        final Path state = Path.of(System.getProperty("java.io.tmpdir"), "sb-bench-cli-state-" + ProcessHandle.current().pid());
        for (final String command : List.of("get services", "get stats"))
        {
            final List<String> argv = new ArrayList<>(List.of(Path.of("bin", "switchboard").toString()));
            argv.addAll(List.of(command.split(" ")));
            argv.addAll(List.of("--agent", "off", "--bpffs-dir", pins.toString(), "--state-dir", state.toString()));
            final double[] millis = new double[5];
            for (int run = -1; run < millis.length; run++)
            {
                final long start = System.nanoTime();
                try
                {
                    final Process process = new ProcessBuilder(argv).redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
                    if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0)
                    {
                        process.destroyForcibly();
                        report.notes.add("cli: " + String.join(" ", argv) + " failed (exit " +
                            (process.isAlive() ? "none" : process.exitValue()) + ")");
                        return;
                    }
                }
                catch (final IOException ex)
                {
                    report.notes.add("cli: " + String.join(" ", argv) + ": " + ex.getMessage());
                    return;
                }
                catch (final InterruptedException ex)
                {
                    Thread.currentThread().interrupt();
                    return;
                }
                if (run >= 0)
                {
                    millis[run] = (System.nanoTime() - start) / 1e6;
                }
            }
            final double median = DatapathCost.median(millis);
            report.cliMillis.computeIfAbsent(command, k -> new java.util.TreeMap<>()).put(services, median);
            System.out.printf(Locale.ROOT, "   cli %s: %.0f ms (median of 5)%n", command, median);
        }
    }

    static DataplaneUnderTest create(final String system, final LabNetwork network, final BenchConfig config)
    {
        return switch (system)
        {
            case "switchboard" -> new ProgrammerDataplane(network, config.pods());
            case "switchboard-abi" -> new SwitchboardDataplane(network, config.pods());
            case "iptables" -> new RuleFileDataplane(RuleFileDataplane.Mode.IPTABLES, network.node(),
                config.iptablesRestore());
            case "nftables" -> new RuleFileDataplane(RuleFileDataplane.Mode.NFTABLES, network.node(), null);
            default -> throw new IllegalArgumentException("unknown system " + system);
        };
    }

    private static void updateVisible(final BenchConfig config, final Report report, final int services)
        throws Exception
    {
        final UpdateVisibleLatency.Result result = UpdateVisibleLatency.measure(
            ServiceSet.onPods(services, config.endpoints(), config.pods()), config.latencyWarmup(),
            config.latencyChanges(), config.latencyRate(), config.latencyIdle());
        report.updateVisible(services, new Report.UpdateVisible(result.percentileMicros(50),
            result.percentileMicros(99), result.percentileMicros(99.9), result.maxMicros(),
            result.histogram().getTotalCount(), result.ratePerSecond(), result.snapshotSeconds(), result.lateOffers(),
            result.idle(), result.offerPercentileMicros(50), result.offerPercentileMicros(99),
            result.idleCpuPercent(), result.allocBytesPerUpdate(), result.mapMemoryMib()));
        System.out.printf(Locale.ROOT, "   snapshot through the stream: %.3f s; update visible: p50 %.0f us, " +
            "p99 %.0f us, p99.9 %.0f us, max %.0f us of %d (%d offered late; intended to offer returned: p50 %.0f us, " +
            "p99 %.0f us)%n", result.snapshotSeconds(), result.percentileMicros(50), result.percentileMicros(99),
            result.percentileMicros(99.9), result.maxMicros(), result.histogram().getTotalCount(), result.lateOffers(),
            result.offerPercentileMicros(50), result.offerPercentileMicros(99));
    }

    private static void datapath(final BenchConfig config, final Report report) throws Exception
    {
        final DatapathCost cost = new DatapathCost(config.datapathRepeat(), config.datapathSamples(),
            config.endpoints(), config.bpfDir().resolve("tests/empty_xdp.bpf.o"));
        cost.measureAll(config.datapathServices());
        System.out.println("   " + cost.results + ", empty " + cost.empty());
        report.datapathEmpty = cost.empty();
        report.datapath.putAll(cost.results);
        report.notes.add("datapath: repeat " + config.datapathRepeat() + ", median of " + config.datapathSamples() +
            "; counters: " + String.join("; ", cost.checks));
    }

    private static void mpps(final BenchConfig config, final Report report) throws Exception
    {
        final DatapathMpps mpps = new DatapathMpps(config.mppsFrames(), config.mppsSamples(),
            config.mppsConntrackEntries(), config.bpfDir().resolve("tests/mpps_xdp.bpf.o"));
        mpps.measure(config.mppsFlows());
        System.out.println("   Mpps " + mpps.mpps + "; ns/frame " + mpps.nanos);
        report.datapathMpps.putAll(mpps.mpps);
        report.datapathMppsMethod = mpps.method();
        report.notes.add("mpps: " + config.mppsFrames() + " frames a run (" + mpps.method() + "), median of " + config.mppsSamples() +
            ", sb_ct " + config.mppsConntrackEntries() + " entries; ns/frame " + mpps.nanos + "; counters: " +
            String.join("; ", mpps.checks));
    }

    static String machine()
    {
        String cpu = "unknown CPU";
        try
        {
            cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                .findFirst().map(l -> l.substring(l.indexOf(':') + 1).strip()).orElse(cpu);
        }
        catch (final IOException ignore)
        {
            // keep "unknown"
        }
        return String.format(Locale.ROOT, "%s, %d CPUs, %d GiB, Linux %s, %s %s", cpu,
            Runtime.getRuntime().availableProcessors(),
            Math.round(((com.sun.management.OperatingSystemMXBean)java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getTotalMemorySize() / 1073741824.0),
            System.getProperty("os.version"), System.getProperty("java.vm.name"), System.getProperty("java.version"));
    }
}
