package io.switchboard.agent;

import io.switchboard.netns.Host;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * {@code switchboard agent} as its own process inside a host's network namespace (only the network
 * namespace: bpffs and cgroups stay visible), started from this JVM's own class path, so the demo and
 * the tests run a real agent and can kill it with SIGKILL and start another.
 */
public final class AgentProcess implements AutoCloseable
{
    private final Process process;
    private final List<String> output = new CopyOnWriteArrayList<>();

    private AgentProcess(final Process process)
    {
        this.process = process;
        Thread.ofPlatform().daemon().name("agent-output").start(() ->
        {
            try (BufferedReader reader = new BufferedReader(
                new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)))
            {
                String line;
                while (null != (line = reader.readLine()))
                {
                    output.add(line);
                }
            }
            catch (final IOException ignore)
            {
                // the process ended
            }
        });
    }

    /** Starts an agent in {@code node}'s namespace and waits until it says it is ready. */
    public static AgentProcess start(final Host node, final List<String> arguments)
    {
        return start(node, System.getProperty("java.class.path"), arguments);
    }

    /**
     * Starts an agent of {@code classPath} (another release's jar, for upgrades; this JVM's own class path by
     * default) in {@code node}'s namespace and waits until it says it is ready.
     */
    public static AgentProcess start(final Host node, final String classPath, final List<String> arguments)
    {
        final List<String> command = new ArrayList<>(List.of("nsenter", "--net=/var/run/netns/" + node.namespace(),
            ProcessHandle.current().info().command().orElse("java"),
            "--enable-native-access=ALL-UNNAMED",
            "--add-opens=java.base/jdk.internal.misc=ALL-UNNAMED",
            "--add-opens=java.base/java.util.zip=ALL-UNNAMED",
            "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
            "-cp", classPath,
            "io.switchboard.cli.SwitchboardCommand", "agent"));
        command.addAll(arguments);
        try
        {
            final AgentProcess agent = new AgentProcess(new ProcessBuilder(command).redirectErrorStream(true).start());
            try
            {
                agent.awaitOutput("agent ready", 30);
            }
            catch (final AssertionError ex)
            {
                // an agent that never became ready must not outlive the caller's attempt
                agent.kill();
                throw ex;
            }
            return agent;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    public void awaitOutput(final String text, final int seconds)
    {
        final long deadline = System.nanoTime() + scaled(Duration.ofSeconds(seconds)).toNanos();
        while (output.stream().noneMatch(line -> line.contains(text)))
        {
            if (!process.isAlive())
            {
                throw new AssertionError("the agent exited " + exitCode() + ":\n" + String.join("\n", output));
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("the agent did not print '" + text + "':\n" + String.join("\n", output));
            }
            sleep(20);
        }
    }

    /**
     * {@code duration} times {@code -Dswitchboard.test.timeScale} (default 1): deadlines of waits on agent
     * processes. {@code bin/test --kernel} raises it where JVMs start 10-50 times slower (an emulated VM).
     */
    public static Duration scaled(final Duration duration)
    {
        final double scale = Double.parseDouble(System.getProperty("switchboard.test.timeScale", "1"));
        if (!(scale >= 1))
        {
            throw new IllegalArgumentException("switchboard.test.timeScale must be a number >= 1: " + scale);
        }
        return Duration.ofNanos((long) (duration.toNanos() * scale));
    }

    public List<String> output()
    {
        return List.copyOf(output);
    }

    /** SIGKILL: no shutdown hook, no cleanup, as when the node's kubelet or the OOM killer ends it. */
    public void kill()
    {
        process.destroyForcibly();
        try
        {
            process.waitFor(10, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * SIGTERM, as a rolling update or {@code kubectl delete pod} sends it: how long the agent took to exit,
     * or empty if it was still running after {@code limit} (it is then killed).
     */
    public Optional<Duration> terminate(final Duration limit)
    {
        final long start = System.nanoTime();
        process.destroy();
        try
        {
            if (process.waitFor(limit.toNanos(), TimeUnit.NANOSECONDS))
            {
                return Optional.of(Duration.ofNanos(System.nanoTime() - start));
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        // still running: its threads' stacks on this process's standard error, for whoever reads why
        try
        {
            final String java = ProcessHandle.current().info().command().orElse("java");
            new ProcessBuilder(java.replaceFirst("java$", "jcmd"), Long.toString(process.pid()), "Thread.print")
                .redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT)
                .start().waitFor(10, TimeUnit.SECONDS);
        }
        catch (final IOException | InterruptedException ignore)
        {
            // the dump is a courtesy
        }
        kill();
        return Optional.empty();
    }

    private int exitCode()
    {
        try
        {
            return process.waitFor();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    public static void sleep(final long millis)
    {
        try
        {
            Thread.sleep(millis);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close()
    {
        if (process.isAlive())
        {
            process.destroy();
            try
            {
                if (!process.waitFor(10, TimeUnit.SECONDS))
                {
                    process.destroyForcibly();
                }
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
                process.destroyForcibly();
            }
        }
    }
}
