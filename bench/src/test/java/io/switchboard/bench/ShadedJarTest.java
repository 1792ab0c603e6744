package io.switchboard.bench;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's shaded jar ({@code manager/target/switchboard.jar}, what {@code bin/switchboard} and the image
 * run) resolves names with the JVM's own resolver: a dependency that registers itself as the resolver
 * (dnsjava does) must not break every name lookup there, as it once did. Here because the reactor packages
 * the manager before this module's tests run; the manager's own tests run before its jar exists.
 */
class ShadedJarTest
{
    private static final Path AGENT_JAR = Path.of("..", "manager", "target", "switchboard.jar");

    @Test
    void aNameLookupWorksWithTheAgentsShadedJarOnTheClassPath() throws IOException, InterruptedException
    {
        assertThat(AGENT_JAR).as("built by the manager module's package phase").exists();
        final Path directory = Files.createTempDirectory("switchboard-shaded-jar");
        try
        {
            final Path source = Files.writeString(directory.resolve("Lookup.java"), """
                public class Lookup
                {
                    public static void main(final String[] args) throws Exception
                    {
                        System.out.println("resolved " + java.net.InetAddress.getByName("localhost").isLoopbackAddress());
                    }
                }
                """);
            final String java = ProcessHandle.current().info().command().orElse("java");
            final Process process = new ProcessBuilder(java, "-cp", AGENT_JAR.toString(), source.toString())
                .redirectErrorStream(true).start();
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).as(output).isZero();
            assertThat(output).contains("resolved true");
        }
        finally
        {
            Files.deleteIfExists(directory.resolve("Lookup.java"));
            Files.deleteIfExists(directory);
        }
    }

    /** {@code switchboard -V} names the commit the jar was built from (this checkout's HEAD: the build just made it). */
    @Test
    void theJarsVersionNamesTheCommitItWasBuiltFrom() throws IOException, InterruptedException
    {
        final Process head = new ProcessBuilder("git", "rev-parse", "--short=12", "HEAD").start();
        final String commit = new String(head.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        assertThat(head.waitFor(30, TimeUnit.SECONDS) && head.exitValue() == 0).as("git rev-parse").isTrue();
        final String java = ProcessHandle.current().info().command().orElse("java");
        final Process version = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-jar",
            AGENT_JAR.toString(), "-V").redirectErrorStream(true).start();
        final String output = new String(version.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(version.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(output).startsWith("switchboard 0.1.0-SNAPSHOT (commit " + commit + " of ");
        assertThat(version.exitValue()).isZero();
    }

    /**
     * bin/switchboard makes the CLI's ahead-of-time cache beside the jar on the first CLI call after a build (a
     * training run), and later calls use it: the same answer, and the cache is not made again.
     */
    @Test
    void theFirstCliCallMakesTheAheadOfTimeCacheAndLaterCallsKeepIt() throws IOException, InterruptedException
    {
        final Path cache = Path.of("..", "manager", "target", "switchboard-cli.aot");
        Files.deleteIfExists(cache);

        final String first = run(Path.of("..", "bin", "switchboard").toString(), "-V");
        assertThat(cache).as("made by the first call").isNotEmptyFile();
        final long made = Files.getLastModifiedTime(cache).toMillis();
        final String second = run(Path.of("..", "bin", "switchboard").toString(), "-V");

        assertThat(second).isEqualTo(first).startsWith("switchboard 0.1.0-SNAPSHOT (commit ");
        assertThat(Files.getLastModifiedTime(cache).toMillis()).as("kept, not made again").isEqualTo(made);
    }

    private static String run(final String... command) throws IOException, InterruptedException
    {
        final Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("finished: %s", output).isTrue();
        assertThat(process.exitValue()).as(output).isZero();
        return output;
    }
}
