package io.switchboard.agent;

import org.junit.jupiter.api.Test;

import java.util.jar.Attributes;

import static org.assertj.core.api.Assertions.assertThat;

class BuildInfoTest
{
    @Test
    void aBuildFromAGitCheckoutNamesItsCommitAndWhetherItsTreeHadChanges()
    {
        final Attributes main = new Attributes();
        main.putValue("Implementation-Version", "0.1.0-SNAPSHOT");
        main.putValue("Switchboard-Commit", "64f59fd1a2b3");
        main.putValue("Switchboard-Commit-Time", "2026-12-02T17:05:00Z");
        main.putValue("Switchboard-Dirty", "true");

        assertThat(BuildInfo.of(main)).hasToString(
            "switchboard 0.1.0-SNAPSHOT (commit 64f59fd1a2b3 of 2026-12-02T17:05:00Z, with uncommitted changes)");
    }

    @Test
    void aBuildWithoutGitSaysSoInsteadOfPrintingMavensPlaceholders()
    {
        final Attributes main = new Attributes();
        main.putValue("Implementation-Version", "0.1.0-SNAPSHOT");
        main.putValue("Switchboard-Commit", "${git.commit.id.abbrev}");
        main.putValue("Switchboard-Commit-Time", "${git.commit.time}");
        main.putValue("Switchboard-Dirty", "${git.dirty}");

        assertThat(BuildInfo.of(main)).hasToString("switchboard 0.1.0-SNAPSHOT (no commit recorded)");
        assertThat(BuildInfo.of(main).commit()).isNull();
    }
}
