package io.switchboard.agent;

import io.switchboard.bpf.KernelFeature;
import io.switchboard.bpf.KernelProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * An agent on a kernel without one feature refuses to start: one line naming the feature and the oldest
 * kernel that has it, a non-zero exit, and nothing made on the machine (no pins, no state, no Aeron
 * directory). The kernel is a fake probe's, so this runs on any host.
 */
class AgentKernelCheckTest
{
    @TempDir
    Path directory;

    @Test
    void aKernelWithoutBpfRedirectNeighForTcIsRefusedInOneLineBeforeAnythingIsChanged()
    {
        final KernelFeature absent = new KernelFeature.Helper(3, 0, 152);
        final StringWriter err = new StringWriter();
        final CommandLine agent = new CommandLine(new AgentCommand(
            feature -> feature.equals(absent) ? KernelProbe.Result.MISSING : KernelProbe.Result.PRESENT));
        agent.setErr(new PrintWriter(err));

        final int exit = agent.execute("--bpffs-dir", directory.resolve("pins").toString(),
            "--state-dir", directory.resolve("state").toString(), "--aeron-dir", directory.resolve("aeron").toString(),
            "--metrics-address", "off", "--xdp-iface", "eth0");

        assertThat(exit).isEqualTo(1);
        final String[] lines = err.toString().split("\n");
        assertThat(Arrays.stream(lines).filter(line -> line.contains("kernel lacks")))
            .singleElement().asString()
            .endsWith("switchboard: kernel lacks helper bpf_redirect_neigh for sched_cls (needs Linux 5.10+)");
        assertThat(lines).hasSize(2);
        assertThat(lines[1]).contains("the datapath cannot run on Linux", "nothing was changed", "switchboard doctor");
        assertThat(directory.resolve("pins")).doesNotExist();
        assertThat(directory.resolve("state")).doesNotExist();
        assertThat(directory.resolve("aeron")).doesNotExist();
    }

    @Test
    void aFeatureTheDatapathDoesWithoutIsReportedWithWhatItDoesInsteadAndRefusesNothing()
    {
        final KernelFeature redirectNeigh = new KernelFeature.Helper(3, 0, 152);
        final KernelFeature adjustMeta = new KernelFeature.Helper(6, 0, 54);
        final StringWriter err = new StringWriter();
        final CommandLine agent = new CommandLine(new AgentCommand(feature ->
            feature.equals(redirectNeigh) || feature.equals(adjustMeta) ? KernelProbe.Result.MISSING :
                KernelProbe.Result.PRESENT));
        agent.setErr(new PrintWriter(err));

        final int exit = agent.execute("--bpffs-dir", directory.resolve("pins").toString(),
            "--state-dir", directory.resolve("state").toString(), "--aeron-dir", directory.resolve("aeron").toString(),
            "--metrics-address", "off", "--xdp-iface", "eth0");

        assertThat(exit).as("refused for bpf_redirect_neigh alone").isEqualTo(1);
        final String[] lines = err.toString().split("\n");
        assertThat(lines).hasSize(3);
        assertThat(lines[0]).endsWith(" ERROR switchboard: kernel lacks helper bpf_redirect_neigh for sched_cls " +
            "(needs Linux 5.10+)");
        assertThat(lines[1]).contains(" WARN  switchboard: kernel lacks helper bpf_xdp_adjust_meta for xdp " +
            "(needs Linux 4.15+): sb_xdp hands generated replies to tc unmarked");
        assertThat(lines[2]).contains("the datapath cannot run on Linux");
        assertThat(directory.resolve("pins")).doesNotExist();
    }
}
