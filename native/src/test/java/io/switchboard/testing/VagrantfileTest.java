package io.switchboard.testing;

import io.switchboard.netns.Shell;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The Vagrant VMs cannot boot here; their file can at least be valid Ruby that runs the test command. */
class VagrantfileTest
{
    private static final Path VAGRANTFILE = Path.of("../Vagrantfile");

    @Test
    void vagrantfileIsValidRuby()
    {
        final boolean rubyInstalled = Shell.tryRun("sh", "-c", "command -v ruby").exitCode() == 0;
        if (!KernelSupport.required())
        {
            Assumptions.assumeTrue(rubyInstalled, "ruby is not installed (bin/prereqs installs it)");
        }

        final Shell.Result check = Shell.tryRun("ruby", "-c", VAGRANTFILE.toString());

        assertThat(check.exitCode()).as(check.output()).isZero();
        assertThat(check.output()).contains("Syntax OK");
    }

    @Test
    void everyBoxProvisionsThePrerequisitesAndRunsTheTestCommand() throws IOException
    {
        final String text = Files.readString(VAGRANTFILE);

        assertThat(text).contains("debian/bookworm64").contains("ubuntu-24.04")
            .contains("bin/prereqs").contains("bin/test");
    }
}
