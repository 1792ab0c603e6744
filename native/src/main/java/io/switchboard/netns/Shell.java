package io.switchboard.netns;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command and fails loudly, with its output, when it does not succeed. */
public final class Shell
{
    private static final long TIMEOUT_SECONDS = 30;

    private Shell()
    {
    }

    /** Runs {@code command}; returns its standard output; throws if it exits non-zero. */
    public static String run(final String... command)
    {
        final Result result = tryRun(command);
        if (result.exitCode() != 0)
        {
            throw new IllegalStateException("'" + String.join(" ", command) + "' exited " + result.exitCode() +
                ": " + result.output().strip());
        }
        return result.output();
    }

    /** Runs {@code command} and returns its exit code and combined output. */
    public static Result tryRun(final String... command)
    {
        try
        {
            final Process process = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
            process.getOutputStream().close();
            final byte[] output = process.getInputStream().readAllBytes();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS))
            {
                process.destroyForcibly();
                throw new IllegalStateException("'" + String.join(" ", command) + "' did not finish in " +
                    TIMEOUT_SECONDS + " s");
            }
            return new Result(process.exitValue(), new String(output, StandardCharsets.UTF_8));
        }
        catch (final IOException ex)
        {
            throw new IllegalStateException("cannot run '" + String.join(" ", command) + "': " + ex.getMessage(), ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running '" + String.join(" ", command) + "'", ex);
        }
    }

    /** Exit code and combined standard output and error of a command. */
    public record Result(int exitCode, String output)
    {
    }
}
