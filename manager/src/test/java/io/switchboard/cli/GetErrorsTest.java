package io.switchboard.cli;

import io.switchboard.agent.ErrorLog;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code switchboard get errors} shows what the agent wrote under its state directory, no agent needed. */
class GetErrorsTest
{
    @TempDir
    Path state;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    @Test
    void theAgentsDistinctErrorsAreListedMostRecentFirstAsATableOrJson()
    {
        final ErrorLog errors = new ErrorLog(state.resolve(ErrorLog.FILE), ErrorLog.CAPACITY, line -> { });
        errors.record(ErrorLog.Kind.VALIDATION, "Service default/np2", "spec.ports[0].nodePort: 30080 is allocated");
        errors.record(ErrorLog.Kind.PROGRAM, "Service port default/c:http/TCP", "all 2 service ids are in use");
        errors.write();

        assertThat(get()).isZero();
        final String[] lines = out.toString().split("\n");
        assertThat(lines[0]).contains("LAST SEEN", "KIND", "SUBJECT", "COUNT", "ERROR");
        assertThat(lines[1]).contains("program", "Service port default/c:http/TCP", "all 2 service ids are in use");
        assertThat(lines[2]).contains("validation", "Service default/np2", "30080 is allocated");

        out.getBuffer().setLength(0);
        assertThat(get("--no-headers")).isZero();
        assertThat(out.toString().split("\n")).hasSize(2).allMatch(line -> !line.contains("LAST SEEN"));

        out.getBuffer().setLength(0);
        assertThat(get("-o", "json")).isZero();
        assertThat(out.toString()).contains("\"kind\"", "\"program\"", "\"count\"");
    }

    @Test
    void noLogYetIsNoResourcesFoundAndAFileOfSomethingElseIsOneClearError() throws Exception
    {
        assertThat(get()).isZero();
        assertThat(out.toString()).as("as kubectl: nothing on stdout").isEmpty();
        assertThat(err.toString().strip()).isEqualTo("No resources found.");
        err.getBuffer().setLength(0);

        Files.writeString(state.resolve(ErrorLog.FILE), "{\"not\": \"a list\"}");
        assertThat(get()).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: " + state.resolve(ErrorLog.FILE) +
            " is not an error log the agent wrote");
    }

    private int get(final String... options)
    {
        final CommandLine get = new CommandLine(new GetCommand());
        get.setOut(new PrintWriter(out));
        get.setErr(new PrintWriter(err));
        final String[] args = new String[3 + options.length];
        args[0] = "errors";
        args[1] = "--state-dir";
        args[2] = state.toString();
        System.arraycopy(options, 0, args, 3, options.length);
        return get.execute(args);
    }
}
