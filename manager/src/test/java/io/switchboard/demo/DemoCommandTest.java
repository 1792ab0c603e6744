package io.switchboard.demo;

import io.switchboard.cli.SwitchboardCommand;
import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

@KernelTest
class DemoCommandTest
{
    @Test
    void theDemoSendsRealRequestsThroughXdpAndLeavesNoNamespaceBehind()
    {
        final String namespacesBefore = Shell.run("ip", "netns", "list");
        final PrintStream original = System.out;
        final ByteArrayOutputStream captured = new ByteArrayOutputStream();
        final int exitCode;
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try
        {
            exitCode = new CommandLine(new SwitchboardCommand()).execute("demo", "--pods", "2", "--requests", "3");
        }
        finally
        {
            System.setOut(original);
        }
        final String output = captured.toString(StandardCharsets.UTF_8);

        assertThat(exitCode).as(output).isZero();
        assertThat(output)
            .contains("attached to ext0 in native mode")
            .contains("pod-0  198.19.0.10   answered 3/3 TCP, 3/3 UDP; it saw the caller as 198.18.0.2")
            .contains("pod-1  198.19.0.11   answered 3/3 TCP, 3/3 UDP")
            .containsPattern("udp +[1-9]\\d* packets");
        assertThat(Shell.run("ip", "netns", "list")).isEqualTo(namespacesBefore);
    }
}
