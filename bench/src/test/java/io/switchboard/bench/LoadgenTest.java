package io.switchboard.bench;

import io.switchboard.netns.LabNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The native load generator: it compiles, its output is read right, and (as root) one real small run. */
class LoadgenTest
{
    private static final Path SOURCE = Path.of("loadgen/loadgen.c");

    private static List<String> output(final String... connections)
    {
        final List<String> lines = new java.util.ArrayList<>(List.of("loadgen 1",
            "target 10.96.39.16:80 rate 1000 count " + connections.length + " inflight 1000 timeout_ms 3000 cpu -1 " +
                "source 198.18.0.3", "# index status errno connect_ns request_ns"));
        lines.addAll(List.of(connections));
        return lines;
    }

    @Test
    void parsesConnectionsAndSummary()
    {
        final List<String> lines = output("0 0 0 100000 150000", "1 0 0 200000 260000", "2 2 104 300000 -1",
            "3 3 110 -1 -1", "4 1 111 -1 -1");
        lines.add("summary ok 2 connect_failed 1 read_failed 1 timeouts 1 late_starts 1 inflight_capped 0 " +
            "elapsed_ns 2000000 user_us 12 sys_us 34 kernel_ticks 3 cpu_ns 5000000");
        final Loadgen.Run run = Loadgen.parse(lines);
        assertThat(run.offeredRate()).isEqualTo(1000);
        assertThat(run.ok()).isEqualTo(2);
        assertThat(run.connectFailed()).isEqualTo(1);
        assertThat(run.readFailed()).isEqualTo(1);
        assertThat(run.timeouts()).isEqualTo(1);
        assertThat(run.failures()).isEqualTo(3);
        assertThat(run.count()).isEqualTo(5);
        assertThat(run.lateStarts()).isEqualTo(1);
        // a connect that completed counts in the connect histogram even when the request then failed
        assertThat(run.connectNs().getTotalCount()).isEqualTo(3);
        assertThat(run.requestNs().getTotalCount()).isEqualTo(2);
        assertThat(run.requestNs().getMaxValue()).isBetween(259_000L, 261_000L);
        assertThat(run.achievedRate()).isEqualTo(1000.0); // 2 ok in 2 ms
        assertThat(run.kernelMicros()).isEqualTo(30_000);
        assertThat(run.cpuNanos()).isEqualTo(5_000_000);
        assertThat(run.sysMicros()).isEqualTo(34);
    }

    @Test
    void rejectsOutputThatDisagreesWithItself()
    {
        final List<String> cut = output("0 0 0 100000 150000", "1 0 0 100000 150000");
        assertThatThrownBy(() -> Loadgen.parse(cut)).hasMessageContaining("no summary");
        final List<String> wrong = output("0 0 0 100000 150000");
        wrong.add("summary ok 2 connect_failed 0 read_failed 0 timeouts 0 late_starts 0 inflight_capped 0 " +
            "elapsed_ns 1 user_us 0 sys_us 0 kernel_ticks 0 cpu_ns 0");
        assertThatThrownBy(() -> Loadgen.parse(wrong)).hasMessageContaining("disagree");
        assertThatThrownBy(() -> Loadgen.parse(List.of("something else"))).hasMessageContaining("not loadgen 1");
    }

    @Test
    void clientCommandCarriesEveryKnob()
    {
        assertThat(Loadgen.clientCommand(Path.of("lg"), "10.96.0.1:80", "198.18.0.3", 5000, 3000, 1000, 3000, 1,
            Path.of("out.txt"))).containsExactly("lg", "client", "--target", "10.96.0.1:80", "--rate", "5000",
            "--count", "3000", "--inflight", "1000", "--timeout-ms", "3000", "--out", "out.txt", "--source",
            "198.18.0.3", "--cpu", "1");
        assertThat(Loadgen.clientCommand(Path.of("lg"), "10.96.0.1:80", null, 1, 1, 1, 1, -1, Path.of("o")))
            .doesNotContain("--source", "--cpu");
    }

    /** Builds the C program as bench/run does (cc, else clang; warnings are errors); no root needed. */
    static Path compile(final Path dir) throws IOException, InterruptedException
    {
        final Path binary = dir.resolve("loadgen");
        final String compiler = Stream.of("cc", "clang").filter(name -> Stream.of(System.getenv("PATH").split(":"))
            .anyMatch(directory -> Files.isExecutable(Path.of(directory, name)))).findFirst().orElse("cc");
        final Process cc = new ProcessBuilder(compiler, "-O2", "-Wall", "-Wextra", "-Werror", "-o", binary.toString(),
            SOURCE.toString()).redirectErrorStream(true).start();
        final String messages = new String(cc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(cc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(cc.exitValue()).as(messages).isZero();
        return binary;
    }

    @Test
    void compilesAndRuns(@TempDir final Path dir) throws Exception
    {
        final Path binary = compile(dir);
        final Process version = new ProcessBuilder(binary.toString(), "--version").start();
        assertThat(new String(version.getInputStream().readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("loadgen 1\n");
        assertThat(version.waitFor()).isZero();
        final Process wrong = new ProcessBuilder(binary.toString(), "client", "--rate", "x").redirectErrorStream(true)
            .start();
        wrong.getInputStream().readAllBytes();
        assertThat(wrong.waitFor()).isEqualTo(2);
    }

    /** As root only: the servers and the client, processes of their own, straight to a pod of a lab network. */
    @Test
    void oneSmallRunAgainstThePodServers(@TempDir final Path dir) throws Exception
    {
        assumeThat(Files.readAllLines(Path.of("/proc/self/status")).stream().filter(l -> l.startsWith("Uid:"))
            .findFirst().orElse("").split("\\s+")[1]).as("needs root (network namespaces)").isEqualTo("0");
        final Path binary = compile(dir);
        try (LabNetwork network = LabNetwork.create(1))
        {
            final Loadgen.Servers servers = network.closeWithNetwork(Loadgen.Servers.start(binary, network, 8080,
                List.of(0)));
            final Loadgen.Run run = Loadgen.runClient(network.client(), binary, "198.19.0.10:8080", null, 1000, 200,
                100, 3000, -1);
            assertThat(run.ok()).isEqualTo(200);
            assertThat(run.failures()).isZero();
            assertThat(run.requestNs().getTotalCount()).isEqualTo(200);
            assertThat(run.cpuNanos()).isPositive();
            assertThat(servers.cpuNanos()).isPositive();
        }
    }
}
