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
            "update_visible_10k_us", "datapath_ns", "connect_latency_10k_us"})
        {
            assertThat(json).contains("\"" + key + "\": ");
        }
        assertThat(json).contains("\"program_10k_s\": {\"switchboard\": 0.5, \"iptables\": 10, \"nftables\": 1}");
        assertThat(json).contains("\"update_visible_10k_us\": {\"p50\": null, \"p99\": null, \"p999\": null, " +
            "\"max\": null}");
        assertThat(json).contains("\"datapath_ns\": {\"empty\": 10, \"new_flow\": {\"10\": 25, \"1000\": 25, " +
            "\"10000\": 25, \"100000\": 25}, \"established\": {", "\"affinity\": {", "\"not_service\": {");
        assertThat(json).contains("\"connect_latency_10k_us\": {\"switchboard\": {\"p50\": 100, \"p99\": 200");
        assertThat(json).contains("\"machine\": \"test \\\"box\\\"\"");
        assertThat(count(json, '{')).isEqualTo(count(json, '}'));
        assertThat(count(json, '[')).isEqualTo(count(json, ']'));
    }

    @Test
    void targetsAreJudgedFromTheNumbersNotTuned()
    {
        final var targets = sample().targets();
        // 20x iptables (met), 2x nft (needs 3x), p99 0.8 ms, 25 <= 3 x 10 ns, flat, p50 100 > nft's 90
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
            "| one change at 10k: p99 < 1 ms | **met** |");
        Chart.write(report, dir.resolve("chart.png"));
        assertThat(Files.size(dir.resolve("chart.png"))).isGreaterThan(1000);
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
