package io.switchboard.bench;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The connection tail of issue 16, reproduced small: a {@link LabNetwork} (client, node, 3 pods with servers on
 * 8080), the datapath attached as the agent attaches it ({@code sb_xdp} native on {@code ext0}, {@code sb_tc_from_pod}
 * on tc ingress and {@code sb_tc_to_client} on tc egress of every pod link), a NodePort over the 3 pods. Rounds of
 * {@code CONNECTIONS} sequential TCP connections (connect, read the pod's one-line answer, close; the client's
 * ephemeral ports, as a plain client gets them) interleaved across targets: the NodePort, and pod 0 directly
 * (routed, no service: traffic the datapath must leave untouched). Per target and round: p50 / p99 / p99.9 / max,
 * connections slower than 5 ms / 100 ms / 900 ms, and what the kernels counted meanwhile ({@code nstat} deltas in
 * the client's and the pods' namespaces: SYN retransmissions, tail loss probes, ...), plus {@code sb_stats} deltas.
 * <p>
 * With {@code TAIL_SYSTEM=nftables} the NodePort is an nftables DNAT as kube-proxy's nftables mode makes it,
 * and no program is attached.
 * <p>
 * Run: {@code [TAIL_SYSTEM=switchboard|nftables] [TAIL_ROUNDS=5] [TAIL_CONNECTIONS=2000] [TAIL_TIMEOUT_MS=40000] [TAIL_TARGETS=nodeport,direct]
 * mvn -B -q -ntp -pl bench -am -DskipTests verify -Dbench=ConnectionTailBenchmark} (root; bounded: rounds x
 * connections per target, each with the deadline given).
 */
public final class ConnectionTailBenchmark
{
    private static final String NFTABLES = "nftables";
    private static final int PODS = 3;
    private static final int TARGET_PORT = 8080;
    private static final int NODE_PORT = 30080;
    /** TCP counters that every connection moves: left out of the report. */
    private static final List<String> ROUTINE = List.of("TcpActiveOpens", "TcpPassiveOpens", "TcpInSegs",
        "TcpOutSegs", "TcpCurrEstab", "TcpEstabResets", "TcpExtTCPHPHits", "TcpExtTCPPureAcks", "TcpExtTCPHPAcks",
        "TcpExtTCPOrigDataSent", "TcpExtTCPDelivered", "TcpExtTCPBacklogCoalesce", "TcpExtTCPRcvCoalesce",
        "TcpExtTCPAutoCorking", "TcpExtDelayedACKs", "TcpExtTCPTimestampsRecv?");

    private ConnectionTailBenchmark()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final int rounds = Integer.parseInt(System.getenv().getOrDefault("TAIL_ROUNDS", "5"));
        final int connections = Integer.parseInt(System.getenv().getOrDefault("TAIL_CONNECTIONS", "2000"));
        final int timeoutMillis = Integer.parseInt(System.getenv().getOrDefault("TAIL_TIMEOUT_MS", "40000"));
        final List<String> targets =
            List.of(System.getenv().getOrDefault("TAIL_TARGETS", "nodeport,direct").split(","));
        try (LabNetwork network = LabNetwork.create(PODS);
            BpfObject datapath = XdpForwardingBenchmark.loadWithServers(network))
        {
            final List<BpfMap> tables = XdpForwardingBenchmark.program(datapath, network);
            try
            {
                if (NFTABLES.equals(System.getenv("TAIL_SYSTEM")))
                {
                    nftablesNodePort(network);
                }
                else
                {
                    XdpForwardingBenchmark.attach(datapath, network);
                    network.node().run(() ->
                    {
                        for (int i = 0; i < PODS; i++)
                        {
                            datapath.program(DatapathAbi.PROGRAM_TC_TO_CLIENT).attachTc(
                                Interfaces.index(network.podInterface(i)), TcDirection.EGRESS, 1, 1);
                        }
                    });
                    XdpForwardingBenchmark.writeConfig(datapath, false);
                }
                run(datapath, network, new Plan(rounds, connections, timeoutMillis, targets));
            }
            finally
            {
                tables.forEach(BpfMap::close);
            }
        }
    }

    /**
     * The same NodePort as kube-proxy's nftables mode would make it, for comparison ({@code TAIL_SYSTEM=nftables};
     * no program attached): DNAT in prerouting to one of the pods at random, a postrouting nat chain.
     */
    private static void nftablesNodePort(final LabNetwork network) throws IOException
    {
        final StringBuilder rules = new StringBuilder("table ip tail {\n  chain pre {\n"
            + "    type nat hook prerouting priority dstnat; policy accept;\n    ip daddr "
            + network.node().address4().getHostAddress() + " tcp dport " + NODE_PORT + " numgen random mod " + PODS
            + " vmap { ");
        for (int i = 0; i < PODS; i++)
        {
            rules.append(i == 0 ? "" : ", ").append(i).append(" : jump pod").append(i);
        }
        rules.append(" }\n  }\n  chain post {\n    type nat hook postrouting priority srcnat; policy accept;\n  }\n");
        for (int i = 0; i < PODS; i++)
        {
            rules.append("  chain pod").append(i).append(" {\n    meta l4proto tcp dnat to ")
                .append(network.pod(i).address4().getHostAddress()).append(':').append(TARGET_PORT).append("\n  }\n");
        }
        rules.append("}\n");
        final Path file = Files.createTempFile("tail-nft", ".conf");
        try
        {
            Files.writeString(file, rules);
            network.node().exec("nft", "-f", file.toString());
        }
        finally
        {
            Files.delete(file);
        }
    }

    /** Rounds of {@code connections} per target, each connection given {@code timeoutMillis} to connect and read. */
    private record Plan(int rounds, int connections, int timeoutMillis, List<String> targets)
    {
    }

    private static void run(final BpfObject datapath, final LabNetwork network, final Plan plan)
    {
        final Map<String, InetSocketAddress> all = Map.of(
            "nodeport", new InetSocketAddress(network.node().address4(), NODE_PORT),
            "direct", new InetSocketAddress(network.pod(0).address4(), TARGET_PORT));
        final Map<String, InetSocketAddress> targets = new LinkedHashMap<>();
        plan.targets().forEach(name -> targets.put(name, all.get(name)));
        final int rounds = plan.rounds();
        final int connections = plan.connections();
        final int timeout = plan.timeoutMillis();
        final Host client = network.client();
        client.call(() -> connect(targets.values().iterator().next(), 300, timeout, new Histogram(3), new long[3]));
        System.out.printf("%d rounds x %d sequential connections per target (%s), interleaved, %d ms deadline each; "
            + "%d CPUs%n", rounds, connections, targets.keySet(), timeout, Runtime.getRuntime().availableProcessors());
        System.out.printf("%-5s %-9s %8s %8s %8s %10s %6s %6s %6s  %s%n", "round", "target", "p50 us", "p99 us",
            "p99.9 us", "max us", ">5ms", ">100ms", ">900ms", "counters (client | pods | sb_stats)");
        for (int round = 1; round <= rounds; round++)
        {
            for (final Map.Entry<String, InetSocketAddress> target : targets.entrySet())
            {
                final Map<String, Long> clientBefore = nstat(client);
                final Map<String, Long> podsBefore = podsNstat(network);
                final long[] statsBefore = stats(datapath);
                final Histogram histogram = new Histogram(3);
                final long[] slow = new long[3];
                client.call(() -> connect(target.getValue(), connections, timeout, histogram, slow));
                final String counters = delta(clientBefore, nstat(client)) + " | " +
                    delta(podsBefore, podsNstat(network)) + " | " + statsDelta(statsBefore, stats(datapath));
                System.out.printf("%-5d %-9s %8.1f %8.1f %8.1f %10.1f %6d %6d %6d  %s%n", round, target.getKey(),
                    histogram.getValueAtPercentile(50) / 1e3, histogram.getValueAtPercentile(99) / 1e3,
                    histogram.getValueAtPercentile(99.9) / 1e3, histogram.getMaxValue() / 1e3, slow[0], slow[1],
                    slow[2], counters);
            }
        }
    }

    /**
     * {@code count} sequential connections to {@code target}, each timed (a failed one with the time it took to
     * fail, and said); slow[0..2]: over 5 ms, 100 ms, 900 ms.
     */
    private static Void connect(final InetSocketAddress target, final int count, final int timeoutMillis,
        final Histogram histogram, final long[] slow)
    {
        final byte[] buffer = new byte[128];
        for (int i = 0; i < count; i++)
        {
            final long start = System.nanoTime();
            try
            {
                XdpForwardingBenchmark.shortConnection(target, timeoutMillis, buffer);
            }
            catch (final IOException ex)
            {
                System.out.println("failed: " + target + ": " + ex);
            }
            final long nanos = System.nanoTime() - start;
            histogram.recordValue(nanos);
            slow[0] += nanos > 5_000_000 ? 1 : 0;
            slow[1] += nanos > 100_000_000 ? 1 : 0;
            slow[2] += nanos > 900_000_000 ? 1 : 0;
        }
        return null;
    }

    /** The TCP counters of a namespace but {@link #ROUTINE}, absolute ({@code nstat -asz}: no history written). */
    private static Map<String, Long> nstat(final Host host)
    {
        final Map<String, Long> values = new TreeMap<>();
        for (final String line : host.exec("nstat", "-asz").lines().toList())
        {
            final String[] fields = line.trim().split("\\s+");
            if (fields.length >= 2 && fields[0].startsWith("Tcp") && !ROUTINE.contains(fields[0]))
            {
                values.put(fields[0], Long.parseLong(fields[1]));
            }
        }
        return values;
    }

    private static Map<String, Long> podsNstat(final LabNetwork network)
    {
        final Map<String, Long> sum = new TreeMap<>();
        for (final Host pod : network.pods())
        {
            nstat(pod).forEach((name, value) -> sum.merge(name, value, Long::sum));
        }
        return sum;
    }

    private static String delta(final Map<String, Long> before, final Map<String, Long> after)
    {
        final List<String> moved = new ArrayList<>();
        after.forEach((name, value) ->
        {
            final long d = value - before.getOrDefault(name, 0L);
            if (d != 0)
            {
                moved.add(name.replace("TcpExt", "").replace("Tcp", "") + "=" + d);
            }
        });
        return moved.isEmpty() ? "-" : String.join(" ", moved);
    }

    private static long[] stats(final BpfObject datapath)
    {
        final String[] names = DatapathAbi.GLOBAL_COUNTERS;
        final long[] sums = new long[names.length];
        try (BpfMap map = datapath.map(DatapathAbi.STATS, DatapathAbi.STATS_SPEC); Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(map.valueBufferSize(), 8);
            for (int i = 0; i < names.length; i++)
            {
                if (!map.lookup(arena.allocateFrom(ValueLayout.JAVA_INT, i), value))
                {
                    continue;
                }
                for (long cpu = 0; cpu < value.byteSize(); cpu += map.perCpuStride())
                {
                    sums[i] += value.get(ValueLayout.JAVA_LONG, cpu);
                }
            }
        }
        return sums;
    }

    private static String statsDelta(final long[] before, final long[] after)
    {
        final List<String> moved = new ArrayList<>();
        for (int i = 0; i < after.length; i++)
        {
            if (after[i] != before[i] && !List.of("passed", "no_service", "service").contains(
                DatapathAbi.GLOBAL_COUNTERS[i]))
            {
                moved.add(DatapathAbi.GLOBAL_COUNTERS[i] + "=" + (after[i] - before[i]));
            }
        }
        return moved.isEmpty() ? "-" : String.join(" ", moved);
    }
}
