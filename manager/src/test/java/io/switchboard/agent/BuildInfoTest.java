package io.switchboard.agent;

import org.junit.jupiter.api.Test;

import java.util.jar.Attributes;

import static org.assertj.core.api.Assertions.assertThat;

class BuildInfoTest
{
    @Test
    void aBuildFromAGitCheckoutNamesItsCommitAndWhetherItsTreeHadChanges()
    {
        final Attributes main = manifest("64f59fd1a2b3", "2026-12-02T17:05:00Z", "true");

        assertThat(BuildInfo.of(main)).hasToString(
            "switchboard 0.1.0-SNAPSHOT (commit 64f59fd1a2b3 of 2026-12-02T17:05:00Z, with uncommitted changes)");
    }

    @Test
    void aBuildWithoutGitSaysSoInsteadOfPrintingMavensPlaceholders()
    {
        final Attributes main = manifest("${git.commit.id.abbrev}", "${git.commit.time}", "${git.dirty}");

        assertThat(BuildInfo.of(main)).hasToString("switchboard 0.1.0-SNAPSHOT (no commit recorded)");
        assertThat(BuildInfo.of(main).commit()).isNull();
    }

    /** A manifest's main attributes as the build writes them. */
    private static Attributes manifest(final String commit, final String commitTime, final String dirty)
    {
        final Attributes main = new Attributes();
        main.putValue("Implementation-Version", "0.1.0-SNAPSHOT");
        main.putValue("Switchboard-Commit", commit);
        main.putValue("Switchboard-Commit-Time", commitTime);
        main.putValue("Switchboard-Dirty", dirty);
        return main;
    }
}
