package io.switchboard.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.switchboard.bpf.KernelFeature;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code switchboard doctor} on kernels of a fake probe's making, and on this one. */
class DoctorCommandTest
{
    private static final String MOUNTS = """
        sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0
        cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0
        bpf /sys/fs/bpf bpf rw,nosuid,nodev,noexec,relatime,mode=700 0 0
        """;

    @TempDir
    Path directory;

    private final StringWriter out = new StringWriter();

    @Test
    void aKernelWithoutAtomicsIsMissingOneFeatureAndExitsOne() throws IOException
    {
        final int exit = doctor(feature -> feature instanceof KernelFeature.Atomics ? KernelProbe.Result.MISSING :
            KernelProbe.Result.PRESENT, MOUNTS);

        assertThat(exit).isEqualTo(1);
        final List<String> missing = new ArrayList<>();
        for (final String line : out.toString().split("\n"))
        {
            if (line.endsWith("MISSING"))
            {
                missing.add(line.replaceAll(" {2,}", " | "));
            }
        }
        assertThat(missing).containsExactly(
            "BPF atomic compare-and-swap and fetch operations (clang -mcpu=v3) | Linux 5.12+ | MISSING");
        assertThat(out.toString())
            .contains("helper bpf_redirect_neigh for sched_cls", "Linux 5.10+", "OK")
            .contains("bpffs     /sys/fs/bpf", "cgroup2   /sys/fs/cgroup", "libbpf    1.", "kernel    Linux ")
            .contains("this machine cannot run the Switchboard agent as it is:",
                "  kernel lacks BPF atomic compare-and-swap and fetch operations (clang -mcpu=v3) (needs Linux 5.12+)");
    }

    @Test
    void aKernelWithoutXdpMetadataCanRunTheAgentAndSaysWhatItDoesInstead() throws IOException
    {
        final KernelFeature adjustMeta = new KernelFeature.Helper(6, 0, 54);
        final int exit = doctor(feature -> feature.equals(adjustMeta) ? KernelProbe.Result.MISSING :
            KernelProbe.Result.PRESENT, MOUNTS);

        assertThat(exit).isZero();
        assertThat(out.toString().lines().filter(line -> line.contains("MISSING")).map(line -> line.replaceAll(" {2,}", " | ")))
            .containsExactly("helper bpf_xdp_adjust_meta for xdp | Linux 4.15+ | MISSING, fallback used");
        assertThat(out.toString()).contains("this machine can run the Switchboard agent",
            "it does without these, as said:",
            "  kernel lacks helper bpf_xdp_adjust_meta for xdp (needs Linux 4.15+): sb_xdp hands generated replies to " +
                "tc unmarked");
    }

    @Test
    void jsonHasTheMachineTheFeatureRowsAndTheVerdict() throws IOException
    {
        final int exit = doctor(feature -> KernelProbe.Result.PRESENT, "proc /proc proc rw 0 0\n", "-o", "json");

        assertThat(exit).as("no bpffs, no cgroup2").isEqualTo(1);
        final JsonNode json = new ObjectMapper().readTree(out.toString());
        assertThat(json.get("ok").asBoolean()).isFalse();
        assertThat(json.get("bpffs").asText()).isEqualTo("MISSING");
        assertThat(json.get("problems").get(0).asText()).contains("bpffs is not mounted");
        assertThat(json.get("features")).isNotEmpty().allSatisfy(row -> assertThat(row.get("status").asText())
            .isEqualTo("OK"));
        assertThat(json.get("features").get(0).get("feature").asText()).isEqualTo("program type xdp");
        assertThat(json.get("features").get(0).get("needs").asText()).isEqualTo("Linux 4.8+");
    }

    @Test
    @KernelTest
    void thisMachineCanRunTheAgent()
    {
        final CommandLine doctor = new CommandLine(new DoctorCommand());
        doctor.setOut(new PrintWriter(out));

        final int exit = doctor.execute();

        // a feature the datapath does without may be missing (e.g. bpf_xdp_adjust_meta on some builds), no other
        assertThat(out.toString().lines().filter(line -> line.contains("MISSING")))
            .allSatisfy(line -> assertThat(line).endsWith("MISSING, fallback used"));
        assertThat(out.toString()).doesNotContain("UNKNOWN").contains("this machine can run the Switchboard agent");
        assertThat(exit).isZero();
    }

    private int doctor(final KernelProbe probe, final String mounts, final String... args) throws IOException
    {
        final Path table = Files.writeString(directory.resolve("mounts"), mounts);
        final CommandLine doctor = new CommandLine(new DoctorCommand(probe, table));
        doctor.setOut(new PrintWriter(out));
        return doctor.execute(args);
    }

}
