package io.switchboard.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/** Everything one run measured, rendered as the JSON file, the markdown table and the target verdicts. */
final class Report
{
    static final int HEADLINE_SERVICES = 10_000;
    static final List<String> SYSTEMS = List.of("switchboard", "iptables", "nftables");
    static final String ABI = "switchboard-abi";
    static final List<Integer> DATAPATH_KEYS = List.of(10, 1000, 10_000, 100_000);

    /** Connection latency at one scale. */
    record Connect(double p50Micros, double p99Micros, double ratePerSecond, int failures)
    {
    }

    /**
     * Open-loop connections from the native client at one offered rate, the rounds of one system summed
     * ({@link ConnectUnderLoad}). Latencies in µs from each connection's intended start: {@code p50}… to the
     * connect completed, {@code requestP50}… to the server's line read to EOF; null when none completed.
     * {@code cpuUsPer1k}: CPU time per 1,000 connections of the client, the servers and ksoftirqd (exact,
     * schedstat), which on this kernel includes every packet's path through the client, node and pod stacks run
     * on their stacks; its three parts beside it; {@code procStatKernelUsPer1k}: /proc/stat's tick-sampled
     * system + irq + softirq over every CPU in the same window (undercounts short bursts on a tickless idle CPU).
     */
    record ConnectLoad(int offeredRate, double achievedRate, long connections, long failures, long timeouts,
        Double p50, Double p99, Double p999, Double requestP50, Double requestP99, Double requestP999,
        Double cpuUsPer1k, Double clientUsPer1k, Double serversUsPer1k, Double ksoftirqdUsPer1k,
        Double procStatKernelUsPer1k, long slowConnects, long synRetransmits, long lateStarts, boolean saturated)
    {
    }

    /**
     * Update-visible latency at one scale: from a change's intended send time to the agent's maps written.
     *
     * @param updates    changes measured
     * @param rate       changes offered per second
     * @param snapshotS  the initial snapshot published and programmed through the stream, seconds
     * @param lateOffers changes the publisher offered more than one interval after their intended time
     * @param idle       the agent's idle strategy
     * @param offerP50Micros from intended send time to the publisher's offer returned (its share), median
     * @param offerP99Micros the same, p99
     */
    record UpdateVisible(double p50Micros, double p99Micros, double p999Micros, double maxMicros, long updates,
        int rate, double snapshotS, long lateOffers, String idle, double offerP50Micros, double offerP99Micros,
        double idleCpuPercent, double allocBytesPerUpdate, double mapMemoryMib)
    {
    }

    /** One target and whether this run met it. */
    record Target(String name, Boolean met, String detail)
    {
    }

    String date;
    String machine;
    final Map<String, Map<Integer, Double>> programSeconds = new LinkedHashMap<>();
    final Map<String, Map<Integer, Double>> changeMillis = new LinkedHashMap<>();
    final Map<String, Map<Integer, Double>> changeP99Millis = new LinkedHashMap<>();
    final Map<String, Map<Integer, Connect>> connect = new LinkedHashMap<>();
    final Map<String, Map<Integer, Map<Integer, ConnectLoad>>> connectLoad = new LinkedHashMap<>();
    final Map<Integer, UpdateVisible> updateVisible = new TreeMap<>();
    Double datapathEmpty;
    final Map<String, Map<Integer, Double>> datapath = new LinkedHashMap<>();
    /** Per {@link DatapathMpps#CASES} case, per number of distinct flows: Mpps on one core (empty: not measured). */
    final Map<String, Map<Integer, Double>> datapathMpps = new LinkedHashMap<>();
    /** How {@link #datapathMpps} was measured ({@link DatapathMpps#method()}); null: not measured. */
    String datapathMppsMethod;
    /** Per CLI command, per number of services: median wall time of {@code bin/switchboard} (ms). */
    final Map<String, Map<Integer, Double>> cliMillis = new LinkedHashMap<>();
    final List<JmhSuite.Score> jmh = new ArrayList<>();
    final List<String> notes = new ArrayList<>();

    void program(final String system, final int services, final double seconds)
    {
        programSeconds.computeIfAbsent(system, k -> new TreeMap<>()).put(services, seconds);
    }

    void change(final String system, final int services, final double millis)
    {
        changeMillis.computeIfAbsent(system, k -> new TreeMap<>()).put(services, millis);
    }

    void connect(final String system, final int services, final Connect result)
    {
        connect.computeIfAbsent(system, k -> new TreeMap<>()).put(services, result);
    }

    void connectLoad(final String system, final int services, final ConnectLoad result)
    {
        connectLoad.computeIfAbsent(system, k -> new TreeMap<>()).computeIfAbsent(services, k -> new TreeMap<>())
            .put(result.offeredRate(), result);
    }

    /**
     * The connect latency the headline key and target use: the full request at the lowest offered rate of the
     * open-loop harness when it ran, else the closed-loop client's.
     */
    private Connect headlineConnect(final String system, final int services)
    {
        final ConnectLoad load = lowestRate(system, services);
        if (load != null && load.requestP50() != null)
        {
            return new Connect(load.requestP50(), load.requestP99(), load.achievedRate(), (int)load.failures());
        }
        return connect.getOrDefault(system, Map.of()).get(services);
    }

    private ConnectLoad lowestRate(final String system, final int services)
    {
        final Map<Integer, ConnectLoad> byRate = connectLoad.getOrDefault(system, Map.of()).get(services);
        return byRate == null || byRate.isEmpty() ? null : byRate.values().iterator().next();
    }

    private String headlineSource(final String system, final int services)
    {
        final ConnectLoad load = lowestRate(system, services);
        return load != null && load.requestP50() != null ? "loadgen open loop at " + load.offeredRate() +
            "/s, full request" : "closed loop, full request";
    }

    void updateVisible(final int services, final UpdateVisible result)
    {
        updateVisible.put(services, result);
    }

    private static Double at(final Map<String, ? extends Map<Integer, Double>> bySystem, final String system,
        final int services)
    {
        final Map<Integer, Double> values = bySystem.get(system);
        return values == null ? null : values.get(services);
    }

    // ---------------------------------------------------------------- JSON

    String json()
    {
        final StringBuilder out = new StringBuilder("{\n");
        out.append("  \"date\": ").append(str(date)).append(",\n");
        out.append("  \"machine\": ").append(str(machine)).append(",\n");
        out.append("  \"program_10k_s\": ").append(perSystem(programSeconds)).append(",\n");
        out.append("  \"one_change_10k_ms\": ").append(perSystem(changeMillis)).append(",\n");
        out.append("  \"update_visible_10k_us\": ").append(updateVisibleJson(HEADLINE_SERVICES)).append(",\n");
        out.append("  \"update_visible_1k_us\": ").append(updateVisibleJson(1000)).append(",\n");
        out.append("  \"update_visible_note\": ").append(str(updateVisible.isEmpty() ? "not measured" :
            "one-endpoint EndpointSlice changes offered at a fixed rate on the agent's Aeron IPC stream, each " +
            "stamped with its intended send time (the publisher waits for it, so stalls count); latency = the " +
            "agent's nanoTime after the duty cycle's flush wrote the BPF maps minus that time; the agent on its " +
            "own thread; HdrHistogram, microseconds")).append(",\n");
        out.append("  \"datapath_ns\": {\"empty\": ").append(num(datapathEmpty));
        for (final String name : DatapathCost.CASES)
        {
            out.append(", ").append(str(name)).append(": {");
            for (int i = 0; i < DATAPATH_KEYS.size(); i++)
            {
                final Map<Integer, Double> values = datapath.getOrDefault(name, Map.of());
                out.append(i == 0 ? "" : ", ").append(str(String.valueOf(DATAPATH_KEYS.get(i)))).append(": ")
                    .append(num(values.get(DATAPATH_KEYS.get(i))));
            }
            out.append('}');
        }
        out.append("},\n");
        out.append("  \"datapath_mpps\": ").append(datapathMpps.isEmpty() ? "null" : nested(datapathMpps)).append(",\n");
        out.append("  \"cli_ms\": ").append(cliMillis.isEmpty() ? "null" : nested(cliMillis)).append(",\n");
        out.append("  \"datapath_mpps_method\": ").append(datapathMppsMethod == null ? "null" : str(datapathMppsMethod))
            .append(",\n");
        out.append("  \"connect_latency_10k_us\": {");
        for (int i = 0; i < SYSTEMS.size(); i++)
        {
            final Connect c = headlineConnect(SYSTEMS.get(i), HEADLINE_SERVICES);
            out.append(i == 0 ? "" : ", ").append(str(SYSTEMS.get(i))).append(": ");
            out.append(c == null ? "null" : "{\"p50\": " + num(c.p50Micros()) + ", \"p99\": " + num(c.p99Micros()) +
                ", \"rate_per_s\": " + num(c.ratePerSecond()) + ", \"source\": " +
                str(headlineSource(SYSTEMS.get(i), HEADLINE_SERVICES)) + "}");
        }
        out.append("},\n");
        out.append("  \"connect_us\": ").append(connectLoadJson()).append(",\n");
        out.append("  \"one_change_10k_p99_ms\": ").append(perSystem(changeP99Millis)).append(",\n");
        out.append("  \"by_services\": {");
        out.append("\"program_s\": ").append(nested(programSeconds)).append(", ");
        out.append("\"one_change_ms\": ").append(nested(changeMillis)).append(", ");
        final Map<String, Map<Integer, Double>> p50 = new LinkedHashMap<>();
        connect.forEach((system, values) -> values.forEach((n, c) ->
            p50.computeIfAbsent(system, k -> new TreeMap<>()).put(n, c.p50Micros())));
        out.append("\"connect_p50_us\": ").append(nested(p50)).append("},\n");
        out.append("  \"targets\": [");
        final List<Target> targets = targets();
        for (int i = 0; i < targets.size(); i++)
        {
            final Target t = targets.get(i);
            out.append(i == 0 ? "" : ", ").append("{\"name\": ").append(str(t.name())).append(", \"met\": ")
                .append(t.met()).append(", \"detail\": ").append(str(t.detail())).append('}');
        }
        out.append("],\n");
        out.append("  \"notes\": [");
        for (int i = 0; i < notes.size(); i++)
        {
            out.append(i == 0 ? "" : ", ").append(str(notes.get(i)));
        }
        out.append("]\n}\n");
        return out.toString();
    }

    private String connectLoadJson()
    {
        final StringBuilder out = new StringBuilder("{");
        boolean firstSystem = true;
        for (final var system : connectLoad.entrySet())
        {
            out.append(firstSystem ? "" : ", ").append(str(system.getKey())).append(": {");
            firstSystem = false;
            boolean firstScale = true;
            for (final var scale : system.getValue().entrySet())
            {
                out.append(firstScale ? "" : ", ").append(str(String.valueOf(scale.getKey()))).append(": {");
                firstScale = false;
                boolean firstRate = true;
                for (final ConnectLoad c : scale.getValue().values())
                {
                    out.append(firstRate ? "" : ", ").append(str(String.valueOf(c.offeredRate()))).append(": ")
                        .append("{\"rate\": {\"offered\": ").append(c.offeredRate()).append(", \"achieved\": ")
                        .append(num(c.achievedRate())).append("}, \"connections\": ").append(c.connections())
                        .append(", \"failures\": ").append(c.failures()).append(", \"timeouts\": ")
                        .append(c.timeouts()).append(", \"p50\": ").append(num(c.p50())).append(", \"p99\": ")
                        .append(num(c.p99())).append(", \"p999\": ").append(num(c.p999()))
                        .append(", \"request_p50\": ").append(num(c.requestP50())).append(", \"request_p99\": ")
                        .append(num(c.requestP99())).append(", \"request_p999\": ").append(num(c.requestP999()))
                        .append(", \"cpu_us_per_1k_connections\": ").append(num(c.cpuUsPer1k()))
                        .append(", \"client_us_per_1k_connections\": ").append(num(c.clientUsPer1k()))
                        .append(", \"servers_us_per_1k_connections\": ").append(num(c.serversUsPer1k()))
                        .append(", \"ksoftirqd_us_per_1k_connections\": ").append(num(c.ksoftirqdUsPer1k()))
                        .append(", \"proc_stat_kernel_us_per_1k_connections\": ")
                        .append(num(c.procStatKernelUsPer1k()))
                        .append(", \"connects_over_8ms\": ").append(c.slowConnects())
                        .append(", \"syn_retransmits\": ").append(c.synRetransmits())
                        .append(", \"late_starts\": ").append(c.lateStarts())
                        .append(", \"saturated\": ").append(c.saturated()).append('}');
                    firstRate = false;
                }
                out.append('}');
            }
            out.append('}');
        }
        return out.append('}').toString();
    }

    private String updateVisibleJson(final int services)
    {
        final UpdateVisible u = updateVisible.get(services);
        if (u == null)
        {
            return "{\"p50\": null, \"p99\": null, \"p999\": null, \"max\": null}";
        }
        return "{\"p50\": " + num(u.p50Micros()) + ", \"p99\": " + num(u.p99Micros()) + ", \"p999\": " +
            num(u.p999Micros()) + ", \"max\": " + num(u.maxMicros()) + ", \"updates\": " + u.updates() +
            ", \"rate_per_s\": " + u.rate() + ", \"snapshot_s\": " + num(u.snapshotS()) + ", \"late_offers\": " +
            u.lateOffers() + ", \"offer_p50\": " + num(u.offerP50Micros()) + ", \"offer_p99\": " +
            num(u.offerP99Micros()) + ", \"idle\": " + str(u.idle()) + ", \"agent_idle_cpu_percent\": " +
            num(u.idleCpuPercent()) + ", \"alloc_bytes_per_update\": " +
            (Double.isNaN(u.allocBytesPerUpdate()) ? "null" : Long.toString(Math.round(u.allocBytesPerUpdate()))) +
            ", \"map_memory_mib\": " + num(u.mapMemoryMib()) + "}";
    }

    private static String perSystem(final Map<String, Map<Integer, Double>> bySystem)
    {
        final StringBuilder out = new StringBuilder("{");
        for (int i = 0; i < SYSTEMS.size(); i++)
        {
            out.append(i == 0 ? "" : ", ").append(str(SYSTEMS.get(i))).append(": ")
                .append(num(at(bySystem, SYSTEMS.get(i), HEADLINE_SERVICES)));
        }
        // the harness's direct map writes, beside the agent's programmer, when they ran
        final Double direct = at(bySystem, ABI, HEADLINE_SERVICES);
        if (direct != null)
        {
            out.append(", ").append(str("switchboard_abi")).append(": ").append(num(direct));
        }
        return out.append('}').toString();
    }

    private static String nested(final Map<String, Map<Integer, Double>> bySystem)
    {
        final StringBuilder out = new StringBuilder("{");
        boolean first = true;
        for (final var entry : bySystem.entrySet())
        {
            out.append(first ? "" : ", ").append(str(entry.getKey())).append(": {");
            first = false;
            boolean firstValue = true;
            for (final var value : entry.getValue().entrySet())
            {
                out.append(firstValue ? "" : ", ").append(str(String.valueOf(value.getKey()))).append(": ")
                    .append(num(value.getValue()));
                firstValue = false;
            }
            out.append('}');
        }
        return out.append('}').toString();
    }

    private static String micros(final Double value)
    {
        return value == null ? "–" : String.format(Locale.ROOT, "%.0f µs", value);
    }

    private static String whole(final Double value)
    {
        return value == null ? "–" : String.format(Locale.ROOT, "%.0f", value);
    }

    static String num(final Double value)
    {
        if (value == null || value.isNaN() || value.isInfinite())
        {
            return "null";
        }
        return String.format(Locale.ROOT, "%.4g", value).replaceAll("(\\.\\d*?)0+(e|$)", "$1$2")
            .replaceAll("\\.(e|$)", "$1").replace("e+", "e");
    }

    static String str(final String value)
    {
        if (value == null)
        {
            return "null";
        }
        final StringBuilder out = new StringBuilder("\"");
        for (final char c : value.toCharArray())
        {
            switch (c)
            {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> out.append(c < 0x20 ? String.format("\\u%04x", (int)c) : String.valueOf(c));
            }
        }
        return out.append('"').toString();
    }

    // ---------------------------------------------------------------- targets

    List<Target> targets()
    {
        final List<Target> targets = new ArrayList<>();
        final Double sb = at(programSeconds, "switchboard", HEADLINE_SERVICES);
        final Double ipt = at(programSeconds, "iptables", HEADLINE_SERVICES);
        final Double nft = at(programSeconds, "nftables", HEADLINE_SERVICES);
        targets.add(sb == null || ipt == null ? new Target("program 10k: 10x faster than iptables-restore", null,
            "not measured") : new Target("program 10k: 10x faster than iptables-restore", sb * 10 <= ipt,
            String.format(Locale.ROOT, "%.3f s vs %.3f s (%.1fx)", sb, ipt, ipt / sb)));
        targets.add(sb == null || nft == null ? new Target("program 10k: 3x faster than nft -f", null,
            "not measured") : new Target("program 10k: 3x faster than nft -f", sb * 3 <= nft,
            String.format(Locale.ROOT, "%.3f s vs %.3f s (%.1fx)", sb, nft, nft / sb)));
        final Double p99 = at(changeP99Millis, "switchboard", HEADLINE_SERVICES);
        final Double abiP99 = at(changeP99Millis, ABI, HEADLINE_SERVICES);
        final String abiDetail = abiP99 == null ? "" : String.format(Locale.ROOT, "; direct ABI writes p99 %.3f ms",
            abiP99);
        // the target: a one-endpoint change at 10,000 services visible in the datapath, p99 < 1 ms from
        // the publisher's offer; judged on the update-visible latency through the agent, the rest is context
        final UpdateVisible visible = updateVisible.get(HEADLINE_SERVICES);
        final String applyDetail = (p99 == null ? "programmer apply not measured" :
            String.format(Locale.ROOT, "programmer apply alone p99 %.3f ms", p99)) + abiDetail;
        targets.add(visible == null
            ? new Target("one change at 10k: p99 < 1 ms", null, "update-visible latency through the agent's " +
            "stream not measured; " + applyDetail)
            : new Target("one change at 10k: p99 < 1 ms", visible.p99Micros() < 1000.0, String.format(Locale.ROOT,
            "offer to maps written through the agent: p99 %.3f ms (p50 %.3f, p99.9 %.3f, max %.3f, %d changes at " +
            "%d/s); ", visible.p99Micros() / 1000, visible.p50Micros() / 1000, visible.p999Micros() / 1000,
            visible.maxMicros() / 1000, visible.updates(), visible.rate()) + applyDetail));
        final Map<Integer, Double> newFlow = datapath.getOrDefault("new_flow", Map.of());
        if (datapathEmpty == null || newFlow.isEmpty())
        {
            targets.add(new Target("new flow <= 3x empty program", null, "not measured"));
        }
        else
        {
            final double worst = newFlow.values().stream().mapToDouble(Double::doubleValue).max().orElseThrow();
            targets.add(new Target("new flow <= 3x empty program", worst <= 3 * datapathEmpty,
                String.format(Locale.ROOT, "worst new flow %.0f ns vs empty %.0f ns (%.1fx)", worst, datapathEmpty,
                    worst / datapathEmpty)));
        }
        final Double at10 = newFlow.get(10);
        final Double at100k = newFlow.get(100_000);
        targets.add(at10 == null || at100k == null ? new Target("new flow at 100k within 10% of 10", null,
            "not measured") : new Target("new flow at 100k within 10% of 10", at100k <= at10 * 1.10,
            String.format(Locale.ROOT, "%.0f ns vs %.0f ns (%+.1f%%)", at100k, at10, 100 * (at100k / at10 - 1))));
        final Connect cs = headlineConnect("switchboard", HEADLINE_SERVICES);
        final Connect ci = headlineConnect("iptables", HEADLINE_SERVICES);
        final Connect cn = headlineConnect("nftables", HEADLINE_SERVICES);
        targets.add(cs == null || ci == null || cn == null
            ? new Target("connect latency at 10k lower than both", null, "not measured")
            : new Target("connect latency at 10k lower than both",
            cs.p50Micros() < Math.min(ci.p50Micros(), cn.p50Micros()) &&
                cs.p99Micros() < Math.min(ci.p99Micros(), cn.p99Micros()),
            String.format(Locale.ROOT, "p50/p99 us: switchboard %.0f/%.0f, iptables %.0f/%.0f, nftables %.0f/%.0f " +
                "(%s)", cs.p50Micros(), cs.p99Micros(), ci.p50Micros(), ci.p99Micros(), cn.p50Micros(),
                cn.p99Micros(), headlineSource("switchboard", HEADLINE_SERVICES))));
        return targets;
    }

    // ---------------------------------------------------------------- markdown

    String markdown()
    {
        final StringBuilder out = new StringBuilder();
        out.append("Run ").append(date).append(" on ").append(machine).append(".\n\n");
        final TreeSet<Integer> scales = new TreeSet<>();
        programSeconds.values().forEach(m -> scales.addAll(m.keySet()));
        connect.values().forEach(m -> scales.addAll(m.keySet()));
        out.append("| services × 10 endpoints | system | program from nothing | one-endpoint change (median) | " +
            "change p99 | connect p50 | connect p99 | connections/s |\n" +
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (final int n : scales)
        {
            final List<String> rows = new ArrayList<>(SYSTEMS);
            connect.keySet().stream().filter(name -> !SYSTEMS.contains(name)).forEach(rows::add);
            for (final String system : rows)
            {
                final Double program = at(programSeconds, system, n);
                final Double change = at(changeMillis, system, n);
                final Connect c = connect.getOrDefault(system, Map.of()).get(n);
                if (program == null && change == null && c == null)
                {
                    continue;
                }
                final Double changeP99 = at(changeP99Millis, system, n);
                out.append(String.format(Locale.ROOT, "| %,d | %s | %s | %s | %s | %s | %s | %s |\n", n, system,
                    program == null ? "–" : String.format(Locale.ROOT, "%.3f s", program),
                    change == null ? "–" : String.format(Locale.ROOT, "%.3f ms", change),
                    changeP99 == null ? "–" : String.format(Locale.ROOT, "%.3f ms", changeP99),
                    c == null ? "–" : String.format(Locale.ROOT, "%.0f µs", c.p50Micros()),
                    c == null ? "–" : String.format(Locale.ROOT, "%.0f µs", c.p99Micros()),
                    c == null ? "–" : String.format(Locale.ROOT, "%.0f", c.ratePerSecond())));
            }
        }
        if (!connectLoad.isEmpty())
        {
            out.append("\nConnect under load: the native open-loop client (its own process, in the client's " +
                "namespace) to the last ClusterIP:80, systems in interleaved rounds; latencies from each " +
                "connection's intended start (µs, HdrHistogram); CPU per 1,000 connections = the client's, the " +
                "servers' and ksoftirqd's time on a CPU (schedstat), which includes the packets' path through the " +
                "client, node and pod stacks run on their stacks:\n\n| services × 10 endpoints | system | offered/s | " +
                "achieved/s | connect p50 | connect p99 | connect p99.9 | request p50 | request p99 | request p99.9 | " +
                "failed (timed out) | connects ≥ 8 ms | SYN retransmissions | CPU µs/1k | client/servers/ksoftirqd " +
                "µs/1k |\n| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | " +
                "---: | ---: | ---: |\n");
            final TreeSet<Integer> loadScales = new TreeSet<>();
            final TreeSet<Integer> rates = new TreeSet<>();
            connectLoad.values().forEach(m -> m.forEach((n, byRate) ->
            {
                loadScales.add(n);
                rates.addAll(byRate.keySet());
            }));
            for (final int n : loadScales)
            {
                for (final int rate : rates)
                {
                    for (final var system : connectLoad.entrySet())
                    {
                        final ConnectLoad c = system.getValue().getOrDefault(n, Map.of()).get(rate);
                        if (c != null)
                        {
                            out.append(String.format(Locale.ROOT, "| %,d | %s | %d | %.0f%s | %s | %s | %s | %s | " +
                                "%s | %s | %d (%d) | %d | %d | %s | %s/%s/%s |\n", n, system.getKey(), rate,
                                c.achievedRate(), c.saturated() ? " (saturated)" : "", micros(c.p50()),
                                micros(c.p99()), micros(c.p999()), micros(c.requestP50()), micros(c.requestP99()),
                                micros(c.requestP999()), c.failures(), c.timeouts(), c.slowConnects(),
                                c.synRetransmits(), whole(c.cpuUsPer1k()), whole(c.clientUsPer1k()),
                                whole(c.serversUsPer1k()), whole(c.ksoftirqdUsPer1k())));
                        }
                    }
                }
            }
        }
        out.append("\nDatapath, `sb_xdp` through BPF_PROG_TEST_RUN (ns/packet, median of kernel averages; empty XDP " +
            "program: ").append(num(datapathEmpty)).append(" ns):\n\n| case |");
        for (final int key : DATAPATH_KEYS)
        {
            out.append(String.format(Locale.ROOT, " %,d services |", key));
        }
        out.append("\n| --- |").append(" ---: |".repeat(DATAPATH_KEYS.size())).append('\n');
        for (final String name : DatapathCost.CASES)
        {
            out.append("| ").append(name.replace('_', ' ')).append(" |");
            for (final int key : DATAPATH_KEYS)
            {
                final Double v = datapath.getOrDefault(name, Map.of()).get(key);
                out.append(' ').append(v == null ? "–" : String.format(Locale.ROOT, "%.0f", v)).append(" |");
            }
            out.append('\n');
        }
        if (!datapathMpps.isEmpty())
        {
            final List<Integer> flowCounts = datapathMpps.values().stream().flatMap(m -> m.keySet().stream())
                .distinct().sorted().toList();
            out.append("\nDatapath packets per second, `sb_xdp` on one core, BPF_PROG_TEST_RUN: ")
                .append(datapathMppsMethod == null ? "live frames" : datapathMppsMethod).append(" (Mpps, median):\n\n| case |");
            flowCounts.forEach(n -> out.append(String.format(Locale.ROOT, " %,d flows |", n)));
            out.append("\n| --- |").append(" ---: |".repeat(flowCounts.size())).append('\n');
            datapathMpps.forEach((name, values) ->
            {
                out.append("| ").append(name.replace('_', ' ')).append(" |");
                flowCounts.forEach(n -> out.append(' ').append(values.get(n) == null ? "–"
                    : String.format(Locale.ROOT, "%.2f", values.get(n))).append(" |"));
                out.append('\n');
            });
        }
        if (!cliMillis.isEmpty())
        {
            out.append("\nCLI wall time, `bin/switchboard` against the switchboard system's pins (`--agent off`), median " +
                "of 5 after one warm-up (ms):\n\n| command |");
            final List<Integer> counts = cliMillis.values().stream().flatMap(m -> m.keySet().stream()).distinct()
                .sorted().toList();
            counts.forEach(n -> out.append(String.format(Locale.ROOT, " %,d services |", n)));
            out.append("\n| --- |").append(" ---: |".repeat(counts.size())).append('\n');
            cliMillis.forEach((command, values) ->
            {
                out.append("| `").append(command).append("` |");
                counts.forEach(n -> out.append(' ').append(values.get(n) == null ? "–"
                    : String.format(Locale.ROOT, "%.0f", values.get(n))).append(" |"));
                out.append('\n');
            });
        }
        if (!updateVisible.isEmpty())
        {
            out.append("\nUpdate visible: a one-endpoint EndpointSlice change from its intended send time (stamped " +
                "by the publisher, which waits for it) to the agent's duty cycle having written the BPF maps, " +
                "through the Aeron IPC stream (µs, HdrHistogram):\n\n| services × 10 endpoints | changes | rate | " +
                "p50 | p99 | p99.9 | max | publisher's share p50/p99 | offered late | snapshot through the stream | " +
                "agent idle strategy | idle agent's CPU | agent allocation per update | maps' memlock |\n" +
                "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: |\n");
            updateVisible.forEach((n, u) -> out.append(String.format(Locale.ROOT,
                "| %,d | %d | %d/s | %.0f µs | %.0f µs | %.0f µs | %.0f µs | %.0f/%.0f µs | %d | %.3f s | %s | %.2f %% | " +
                "%,.0f B | %.1f MiB |\n",
                n, u.updates(), u.rate(), u.p50Micros(), u.p99Micros(), u.p999Micros(), u.maxMicros(),
                u.offerP50Micros(), u.offerP99Micros(), u.lateOffers(), u.snapshotS(), u.idle(), u.idleCpuPercent(),
                u.allocBytesPerUpdate(), u.mapMemoryMib())));
        }
        out.append("\nTargets:\n\n| target | result | detail |\n| --- | --- | --- |\n");
        for (final Target t : targets())
        {
            out.append("| ").append(t.name()).append(" | ")
                .append(t.met() == null ? "not measured" : t.met() ? "**met**" : "**missed**").append(" | ")
                .append(t.detail()).append(" |\n");
        }
        if (!jmh.isEmpty())
        {
            out.append("\nJMH (1 fork, short iterations: indicative):\n\n| benchmark | score | ± | unit |\n" +
                "| --- | ---: | ---: | --- |\n");
            for (final JmhSuite.Score s : jmh)
            {
                out.append(String.format(Locale.ROOT, "| %s | %.4g | %.2g | %s |\n", s.label(), s.score(),
                    s.error(), s.unit()));
            }
        }
        if (!notes.isEmpty())
        {
            out.append("\nNotes:\n\n");
            notes.forEach(note -> out.append("- ").append(note).append('\n'));
        }
        return out.toString();
    }
}
