package io.switchboard.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

class ReportTest
{
    private static Report sample()
    {
        final Report report = new Report();
        report.date = "2026-11-25T12:00:00Z";
        report.machine = "test \"box\"";
        report.program("switchboard", 10_000, 0.5);
        report.program("iptables", 10_000, 10.0);
        report.program("nftables", 10_000, 1.0);
        report.program("iptables", 1000, 1.0);
        report.change("switchboard", 10_000, 0.2);
        report.change("iptables", 10_000, 900.0);
        report.change("nftables", 10_000, 50.0);
        report.changeP99Millis.put("switchboard", new java.util.TreeMap<>(java.util.Map.of(10_000, 0.8)));
        report.connect("switchboard", 10_000, new Report.Connect(100, 200, 5000, 0));
        report.connect("iptables", 10_000, new Report.Connect(150, 300, 4000, 0));
        report.connect("nftables", 10_000, new Report.Connect(90, 400, 6000, 0));
        report.updateVisible(10_000, new Report.UpdateVisible(250, 800, 1500, 4000, 2000, 200, 12.5, 3, "backoff", 40, 90, 0.5, 30000, 12.5));
        report.updateVisible(1000, new Report.UpdateVisible(200, 600, 900, 1200, 2000, 200, 1.25, 0, "backoff", 30, 70, 0.5, 30000, 12.5));
        report.datapathEmpty = 10.0;
        for (final String name : DatapathCost.CASES)
        {
            for (final int n : Report.DATAPATH_KEYS)
            {
                report.datapath.computeIfAbsent(name, k -> new java.util.TreeMap<>()).put(n, 25.0);
            }
        }
        return report;
    }

    @Test
    void jsonHasTheAgreedKeys()
    {
        final String json = sample().json();
        for (final String key : new String[] {"date", "machine", "program_10k_s", "one_change_10k_ms",
            "update_visible_10k_us", "datapath_ns", "connect_latency_10k_us", "update_visible_1k_us", "connect_us"})
        {
            assertThat(json).contains("\"" + key + "\": ");
        }
        assertThat(json).contains("\"program_10k_s\": {\"switchboard\": 0.5, \"iptables\": 10, \"nftables\": 1}");
        assertThat(json).contains("\"update_visible_10k_us\": {\"p50\": 250, \"p99\": 800, \"p999\": 1500, " +
            "\"max\": 4000, \"updates\": 2000, \"rate_per_s\": 200, \"snapshot_s\": 12.5, \"late_offers\": 3, " +
            "\"offer_p50\": 40, \"offer_p99\": 90, \"idle\": \"backoff\", \"agent_idle_cpu_percent\": 0.5, " +
            "\"alloc_bytes_per_update\": 30000, \"map_memory_mib\": 12.5}");
        assertThat(json).contains("\"update_visible_1k_us\": {\"p50\": 200, \"p99\": 600, \"p999\": 900, " +
            "\"max\": 1200, ");
        assertThat(json).contains("\"datapath_ns\": {\"empty\": 10, \"new_flow\": {\"10\": 25, \"1000\": 25, " +
            "\"10000\": 25, \"100000\": 25}, \"established\": {", "\"affinity\": {", "\"not_service\": {");
        assertThat(json).contains("\"connect_latency_10k_us\": {\"switchboard\": {\"p50\": 100, \"p99\": 200");
        assertThat(json).contains("\"machine\": \"test \\\"box\\\"\"");
        assertThat(count(json, '{')).isEqualTo(count(json, '}'));
        assertThat(count(json, '[')).isEqualTo(count(json, ']'));
    }

    @Test
    void updateVisibleKeysStayWhenNotMeasured()
    {
        final Report report = new Report();
        final String json = report.json();
        assertThat(json).contains("\"update_visible_10k_us\": {\"p50\": null, \"p99\": null, \"p999\": null, " +
            "\"max\": null}", "\"update_visible_1k_us\": {\"p50\": null, ");
        assertThat(report.targets().get(2).met()).isNull();
        assertThat(report.markdown()).doesNotContain("Update visible:");
    }

    @Test
    void oneChangeTargetIsJudgedOnUpdateVisibleNotOnApplyAlone()
    {
        final Report report = sample();
        report.updateVisible(10_000, new Report.UpdateVisible(250, 1001, 1500, 4000, 2000, 200, 12.5, 0, "backoff", 40, 90, 0.5, 30000, 12.5));
        final Report.Target target = report.targets().get(2);
        assertThat(target.met()).isFalse();
        assertThat(target.detail()).contains("p99 1.001 ms", "programmer apply alone p99 0.800 ms");
    }

    @Test
    void targetsAreJudgedFromTheNumbersNotTuned()
    {
        final var targets = sample().targets();
        // 20x iptables (met), 2x nft (needs 3x), update visible p99 0.8 ms, 25 <= 3 x 10 ns, flat, p50 100 > nft's 90
        assertThat(targets).extracting(Report.Target::met).containsExactly(true, false, true, true, true, false);
    }

    @Test
    void markdownHasOneRowPerSystemAndScaleAndTheTargets(@org.junit.jupiter.api.io.TempDir final Path dir)
        throws Exception
    {
        final Report report = sample();
        final String markdown = report.markdown();
        assertThat(markdown).contains("| 10,000 | switchboard | 0.500 s | 0.200 ms | 0.800 ms | 100 µs | 200 µs | 5000 |",
            "| 1,000 | iptables | 1.000 s | – | – | – | – | – |", "| new flow | 25 | 25 | 25 | 25 |",
            "| one change at 10k: p99 < 1 ms | **met** |",
            "| 10,000 | 2000 | 200/s | 250 µs | 800 µs | 1500 µs | 4000 µs | 40/90 µs | 3 | 12.500 s | backoff |",
            "| 1,000 | 2000 | 200/s | 200 µs | 600 µs | 900 µs | 1200 µs | 30/70 µs | 0 | 1.250 s | backoff |");
        Chart.write(report, dir.resolve("chart.png"));
        assertThat(Files.size(dir.resolve("chart.png"))).isGreaterThan(1000);
    }

    private static Report.ConnectLoad load(final int rate, final double requestP50, final double requestP99)
    {
        return new Report.ConnectLoad(rate, rate * 0.99, 9000, 0, 0, 80.0, 300.0, 900.0, requestP50, requestP99, 1200.0,
            60_000.0, 40_000.0, 18_000.0, 2_000.0, 30_000.0, 3, 2, 5, false);
    }

    @Test
    void connectUnderLoadHasItsKeysAndFeedsTheHeadline()
    {
        final Report report = sample();
        report.connectLoad("switchboard", 10_000, load(5000, 95, 400));
        report.connectLoad("switchboard", 10_000, load(1000, 90, 250));
        report.connectLoad("iptables", 10_000, load(1000, 120, 350));
        report.connectLoad("nftables", 10_000, load(1000, 110, 300));
        report.connectLoad("nftables", 1000, new Report.ConnectLoad(20_000, 12_000, 9000, 4, 4, null, null, null,
            null, null, null, null, null, null, null, null, 0, 0, 0, true));
        final String json = report.json();
        assertThat(json).contains("\"connect_us\": {\"switchboard\": {\"10000\": {\"1000\": {\"rate\": " +
            "{\"offered\": 1000, \"achieved\": 990}, \"connections\": 9000, \"failures\": 0, \"timeouts\": 0, " +
            "\"p50\": 80, \"p99\": 300, \"p999\": 900, \"request_p50\": 90, \"request_p99\": 250, " +
            "\"request_p999\": 1200, \"cpu_us_per_1k_connections\": 6e04, \"client_us_per_1k_connections\": 4e04, " +
            "\"servers_us_per_1k_connections\": 1.8e04, \"ksoftirqd_us_per_1k_connections\": 2000, " +
            "\"proc_stat_kernel_us_per_1k_connections\": 3e04, \"connects_over_8ms\": 3, \"syn_retransmits\": 2, " +
            "\"late_starts\": 5, \"saturated\": false}, \"5000\": {\"rate\": {\"offered\": 5000, ");
        assertThat(json).contains("\"nftables\": {\"1000\": {\"20000\": {\"rate\": {\"offered\": 20000, " +
            "\"achieved\": 1.2e04}, \"connections\": 9000, \"failures\": 4, \"timeouts\": 4, \"p50\": null, ");
        // the headline key and target take the lowest rate's full request, and say so
        assertThat(json).contains("\"connect_latency_10k_us\": {\"switchboard\": {\"p50\": 90, \"p99\": 250, " +
            "\"rate_per_s\": 990, \"source\": \"loadgen open loop at 1000/s, full request\"}");
        final Report.Target target = report.targets().get(5);
        assertThat(target.met()).isTrue();
        assertThat(target.detail()).contains("switchboard 90/250", "loadgen open loop at 1000/s");
        assertThat(count(json, '{')).isEqualTo(count(json, '}'));
        assertThat(report.markdown()).contains("Connect under load:",
            "| 10,000 | switchboard | 1000 | 990 | 80 µs | 300 µs | 900 µs | 90 µs | 250 µs | 1200 µs | 0 (0) | 3 | 2 | " +
                "60000 | 40000/18000/2000 |",
            "| 1,000 | nftables | 20000 | 12000 (saturated) | – | – | – | – | – | – | 4 (4) | 0 | 0 | – | –/–/– |");
    }

    @Test
    void withoutTheHarnessTheHeadlineIsTheClosedLoopClient()
    {
        final String json = sample().json();
        assertThat(json).contains("\"connect_latency_10k_us\": {\"switchboard\": {\"p50\": 100, \"p99\": 200, " +
            "\"rate_per_s\": 5000, \"source\": \"closed loop, full request\"}", "\"connect_us\": {}");
        assertThat(sample().markdown()).doesNotContain("Connect under load:");
    }

    @Test
    void datapathMppsHasOneEntryPerCaseAndFlowCountAndIsNullWhenNotMeasured()
    {
        final Report report = sample();
        assertThat(report.json()).contains("\"datapath_mpps\": null,", "\"datapath_mpps_method\": null,",
            "\"cli_ms\": null,");
        report.cliMillis.put("get services", new java.util.TreeMap<>(java.util.Map.of(1000, 412.0, 10_000, 655.5)));
        assertThat(report.json()).contains("\"cli_ms\": {\"get services\": {\"1000\": 412, \"10000\": 655.5}},");
        assertThat(report.markdown()).contains("| command | 1,000 services | 10,000 services |",
            "| `get services` | 412 | 656 |");
        for (final String name : DatapathMpps.CASES)
        {
            report.datapathMpps.put(name, new java.util.TreeMap<>(java.util.Map.of(1, 4.5, 100_000, 3.25)));
        }
        final String json = report.json();
        assertThat(json).contains("\"datapath_mpps\": {\"new_flow\": {\"1\": 4.5, \"100000\": 3.25}, " +
            "\"established\": {\"1\": 4.5, \"100000\": 3.25}, \"not_service\": {");
        assertThat(json).contains("\"datapath_ns\": {\"empty\": 10, ");
        assertThat(report.markdown()).contains("| case | 1 flows | 100,000 flows |", "| new flow | 4.50 | 3.25 |",
            "| harness | 4.50 | 3.25 |");
        assertThat(report.markdown()).contains("BPF_PROG_TEST_RUN: live frames (Mpps");

        report.datapathMppsMethod = "plain test runs (program only)";
        assertThat(report.json()).contains("\"datapath_mpps_method\": \"plain test runs (program only)\",");
        assertThat(report.markdown()).contains("BPF_PROG_TEST_RUN: plain test runs (program only) (Mpps");
    }

    @Test
    void numbersAreCompact()
    {
        assertThat(Report.num(0.5)).isEqualTo("0.5");
        assertThat(Report.num(113.282)).isEqualTo("113.3");
        assertThat(Report.num(1264.3)).isEqualTo("1264");
        assertThat(Report.num(Double.NaN)).isEqualTo("null");
        assertThat(Report.num(null)).isEqualTo("null");
    }

    private static long count(final String text, final char c)
    {
        final Matcher matcher = Pattern.compile(Pattern.quote(String.valueOf(c))).matcher(text);
        return matcher.results().count();
    }
}
