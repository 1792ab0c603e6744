package io.switchboard.demo;

import io.switchboard.cli.SwitchboardCommand;
import io.switchboard.netns.Names;
import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

@KernelTest
class DemoCommandTest
{
    @Test
    void theDemoServesTheSeedServicesFromEveryPodAndLeavesNothingBehind() throws Exception
    {
        final PrintStream original = System.out;
        final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        final int exitCode;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try
        {
            exitCode = new CommandLine(new SwitchboardCommand()).execute("demo", "--requests", "15");
        }
        finally
        {
            System.setOut(original);
        }
        final String output = captured.toString(StandardCharsets.UTF_8);

        assertThat(exitCode).as(output).isZero();
        assertThat(output.lines().filter(line -> line.contains(" ClusterIP ") || line.contains(" NodePort ") ||
            line.contains(" LoadBalancer "))).as(output)
            .hasSize(5)
            .allMatch(line -> line.contains("pod-0=") && line.contains("pod-1=") && line.contains("pod-2="))
            .noneMatch(line -> line.contains("failed"));
        assertThat(output).contains("web-nodeport NodePort 198.18.0.1:30080")
            .containsPattern("web-lb LoadBalancer 198\\.18\\.0\\.2(4[1-9]|5[0-4]):80"); // the pool on the client's segment
        // what this JVM made carries its pid (other test runs may share the machine)
        final String ours = Names.PREFIX + ProcessHandle.current().pid() + "-";
        assertThat(Shell.run("ip", "netns", "list")).doesNotContain(ours);
        assertThat(names(Path.of("/sys/fs/bpf"))).noneMatch(name -> name.contains(ours));
        assertThat(names(Path.of("/dev/shm"))).noneMatch(name -> name.contains(ours));
    }

    private static java.util.List<String> names(final Path directory) throws Exception
    {
        try (Stream<Path> entries = Files.list(directory))
        {
            return entries.map(path -> path.getFileName().toString()).toList();
        }
    }
}
