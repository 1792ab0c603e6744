package io.switchboard.agent;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The agent of the previous release, built from the repository's own history, for the upgrade test: the
 * commit's tree ({@code git archive}) built as {@code bin/switchboard} builds (its BPF object inside its jar),
 * once per checkout, kept under {@code manager/target/previous-release/}.
 */
final class PreviousRelease
{
    /**
     * The release operators run before this one: main as it stood before port remap, the closed DNS port and the
     * source's restarts (SB_ABI_VERSION 3, sb_stats 22 counters).
     */
    static final String COMMIT = "eed659821ecccbde10cf460e07493933f9a87d3b";

    private PreviousRelease()
    {
    }

    /** The previous release's shaded jar, built on first use. */
    static synchronized Path jar()
    {
        final Path cached = Path.of("target", "previous-release", COMMIT + ".jar").toAbsolutePath();
        if (Files.isRegularFile(cached))
        {
            return cached;
        }
        try
        {
            final Path repository = Path.of(run(Path.of("."), List.of("git", "rev-parse", "--show-toplevel")).strip());
            final Path source = Files.createTempDirectory("switchboard-release-");
            try
            {
                run(repository, List.of("sh", "-c", "git archive --format=tar " + COMMIT + " | tar -x -C " + source));
                run(source, List.of("mvn", "-B", "-q", "-ntp", "-DskipTests", "-pl", "manager", "-am", "package"));
                Files.createDirectories(cached.getParent());
                Files.copy(source.resolve("manager/target/switchboard.jar"), cached,
                    StandardCopyOption.REPLACE_EXISTING);
                return cached;
            }
            finally
            {
                run(Path.of("."), List.of("rm", "-rf", source.toString()));
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("building the previous release " + COMMIT, ex);
        }
    }

    /**
     * Why the previous release cannot run on this kernel ({@code jar}'s own {@code switchboard doctor -o json}: not
     * ok, and its problems), or empty when it can. A kernel it refuses has nothing to upgrade from. Its verdict, not
     * its lines: a release that does without a missing feature says so in lines that also begin "kernel lacks".
     */
    static String kernelRefusal(final Path jar) throws IOException
    {
        final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        final Path output = Files.createTempFile("switchboard-previous-doctor", ".json");
        try
        {
            final Process doctor = new ProcessBuilder(java.toString(), "--enable-native-access=ALL-UNNAMED", "-jar",
                jar.toString(), "doctor", "-o", "json").redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!doctor.waitFor(5, TimeUnit.MINUTES))
            {
                doctor.destroyForcibly();
                throw new IllegalStateException("the previous release's doctor did not finish:\n" +
                    Files.readString(output));
            }
            final String text = Files.readString(output);
            final com.fasterxml.jackson.databind.JsonNode verdict;
            try
            {
                verdict = new com.fasterxml.jackson.databind.ObjectMapper().readTree(text.substring(text.indexOf('{')));
            }
            catch (final RuntimeException | IOException ex)
            {
                throw new IllegalStateException("the previous release's doctor printed no verdict:\n" + text, ex);
            }
            if (verdict.path("ok").asBoolean(false))
            {
                return "";
            }
            final List<String> problems = new java.util.ArrayList<>();
            verdict.path("problems").forEach(problem -> problems.add(problem.asText()));
            return String.join("; ", problems);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: the previous release's doctor", ex);
        }
        finally
        {
            Files.deleteIfExists(output);
        }
    }

    /**
     * Runs {@code command} in {@code directory} (JAVA_HOME: this JVM's) for at most 15 minutes; its output, or an
     * error with it.
     */
    static String run(final Path directory, final List<String> command) throws IOException
    {
        final ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile()).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        final Process process = builder.start();
        final String output = new String(process.getInputStream().readAllBytes());
        try
        {
            if (!process.waitFor(15, TimeUnit.MINUTES) || process.exitValue() != 0)
            {
                throw new IllegalStateException(String.join(" ", command) + " in " + directory + " failed:\n" + output);
            }
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted: " + String.join(" ", command), ex);
        }
        return output;
    }
}
