package io.switchboard.maglev;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

class MaglevTableDigestTest
{
    /**
     * The digest of {@link MaglevTableDigest#ofFixedInput()}, pinned. If this test fails, the hash, its keys,
     * the identity bytes, the ordering, the fill or the size list changed: every node running the new code
     * then computes different tables from nodes running the old one, so during a rolling upgrade the same
     * flow may go to different backends on different nodes (DESIGN invariant 5). Change this constant only
     * on purpose, and say so in the release notes.
     */
    private static final String PINNED_DIGEST = "e00dc4c3077d15cbb3149f668a669515193293396f0db6c870497011b4374d08";

    @Test
    void fixedInputGivesThePinnedDigest()
    {
        assertThat(MaglevTableDigest.ofFixedInput()).isEqualTo(PINNED_DIGEST);
    }

    @Test
    void repeatedBuildsInOneJvmGiveTheSameDigest()
    {
        final String first = MaglevTableDigest.ofFixedInput();

        assertThat(MaglevTableDigest.ofFixedInput()).isEqualTo(first);
    }

    @Test
    void anotherJvmComputesTheSameDigest() throws IOException, InterruptedException
    {
        final String java = ProcessHandle.current().info().command().orElseThrow();
        // Other JVM settings than the test's (interpreter only, another collector, no class-data sharing),
        // so that nothing that varies between JVMs can hide in the table.
        final Process process = new ProcessBuilder(List.of(java, "-Xint", "-XX:+UseSerialGC", "-Xshare:off",
            "-cp", System.getProperty("java.class.path"), MaglevTableDigest.class.getName()))
            .redirectErrorStream(true)
            .start();
        final String output;
        try
        {
            output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            assertThat(process.waitFor(30, TimeUnit.SECONDS)).as("second JVM finished").isTrue();
        }
        finally
        {
            process.destroyForcibly();
        }

        assertThat(process.exitValue()).as("second JVM exit status; output: %s", output).isZero();
        assertThat(output).isEqualTo(MaglevTableDigest.ofFixedInput());
    }
}
