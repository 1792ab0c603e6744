package io.switchboard.bench;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * Every size and count of a run, from system properties ({@code -Dbench.NAME=VALUE}); {@code bench.quick=true}
 * shrinks the defaults to a smoke run of a minute or two.
 */
record BenchConfig(
    List<Integer> services, int endpoints, int pods, int connections, int connectWarmup, int ruleChanges,
    int switchboardChanges, List<Integer> datapathServices, int datapathRepeat, int datapathSamples, boolean jmh,
    int jmhForks, int jmhWarmupIterations, int jmhIterations, int jmhIterationMillis, List<String> systems,
    String iptablesRestore, Path out, Path bpfDir, List<String> parts, List<Integer> latencyServices,
    int latencyWarmup, int latencyChanges, int latencyRate, String latencyIdle, List<Integer> connectRates,
    int connectRoundConnections, int connectRounds, int connectLoadWarmup, int connectInflight,
    int connectTimeoutMillis, List<String> connectSystems, Path loadgen, int loadgenCpu, List<Integer> mppsFlows,
    int mppsFrames, int mppsSamples, int mppsConntrackEntries)
{
    /** The parts of a run, in order; {@code bench.parts} picks some (e.g. {@code latency} for a quick check). */
    static final List<String> PARTS = List.of("systems", "connect", "latency", "datapath", "mpps", "jmh");

    boolean runs(final String part)
    {
        if (!PARTS.contains(part))
        {
            throw new IllegalArgumentException("unknown part " + part);
        }
        return parts.contains(part);
    }

    static BenchConfig fromSystemProperties()
    {
        final boolean quick = Boolean.getBoolean("bench.quick");
        return new BenchConfig(
            ints("bench.services", quick ? "100,1000" : "1000,10000"),
            Integer.getInteger("bench.endpoints", 10),
            Integer.getInteger("bench.pods", 11),
            Integer.getInteger("bench.connections", quick ? 200 : 2000),
            Integer.getInteger("bench.connectWarmup", quick ? 50 : 200),
            Integer.getInteger("bench.ruleChanges", quick ? 1 : 3),
            Integer.getInteger("bench.switchboardChanges", quick ? 20 : 200),
            ints("bench.datapath.services", quick ? "10,1000" : "10,1000,10000,100000"),
            Integer.getInteger("bench.datapath.repeat", 100_000),
            Integer.getInteger("bench.datapath.samples", quick ? 3 : 7),
            Boolean.parseBoolean(System.getProperty("bench.jmh", "true")),
            Integer.getInteger("bench.jmh.forks", 1),
            Integer.getInteger("bench.jmh.warmupIterations", quick ? 1 : 2),
            Integer.getInteger("bench.jmh.iterations", quick ? 1 : 3),
            Integer.getInteger("bench.jmh.iterationMillis", quick ? 100 : 300),
            System.getProperty("bench.systems", "switchboard,switchboard-abi,iptables,nftables").isBlank() ? List.of()
                : List.of(System.getProperty("bench.systems", "switchboard,switchboard-abi,iptables,nftables")
                .split(",")),
            System.getProperty("bench.iptables", "iptables-restore"),
            Path.of(System.getProperty("bench.out", "bench/results")),
            Path.of(System.getProperty("bench.bpfDir", "bpf/build")),
            List.of(System.getProperty("bench.parts", String.join(",", PARTS)).split(",")).stream().map(String::strip).toList(),
            ints("bench.latency.services", quick ? "1000" : "1000,10000"),
            Integer.getInteger("bench.latency.warmup", quick ? 100 : 200),
            Integer.getInteger("bench.latency.changes", quick ? 400 : 2000),
            Integer.getInteger("bench.latency.rate", 200),
            System.getProperty("bench.latency.idle", "adaptive"),
            ints("bench.connect.rates", quick ? "1000,5000" : "1000,5000,20000"),
            Integer.getInteger("bench.connect.connections", quick ? 1000 : 3000),
            Integer.getInteger("bench.connect.rounds", quick ? 2 : 3),
            Integer.getInteger("bench.connect.warmup", quick ? 200 : 500),
            Integer.getInteger("bench.connect.inflight", 1000),
            Integer.getInteger("bench.connect.timeoutMs", 3000),
            List.of(System.getProperty("bench.connect.systems", "switchboard,iptables,nftables").split(",")).stream()
                .map(String::strip).filter(name -> !name.isEmpty()).toList(),
            Path.of(System.getProperty("bench.loadgen", "bench/target/loadgen")),
            Integer.getInteger("bench.loadgen.cpu", -1),
            ints("bench.mpps.flows", "1,100000"),
            Integer.getInteger("bench.mpps.frames", quick ? 200_000 : 1_000_000),
            Integer.getInteger("bench.mpps.samples", quick ? 3 : 5),
            Integer.getInteger("bench.mpps.conntrackEntries", 262_144));
    }

    private static List<Integer> ints(final String property, final String defaults)
    {
        return Arrays.stream(System.getProperty(property, defaults).split(",")).map(String::strip)
            .map(Integer::valueOf).toList();
    }
}
