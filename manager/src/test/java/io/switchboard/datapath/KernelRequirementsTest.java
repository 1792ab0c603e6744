package io.switchboard.datapath;

import io.switchboard.bpf.BpfElf;
import io.switchboard.bpf.CgroupHook;
import io.switchboard.bpf.KernelFeature;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.bpf.MapSpec;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The datapath's kernel requirements, derived from the compiled object, and the check against a kernel. */
class KernelRequirementsTest
{
    private static final int SCHED_CLS = 3;
    private static final int REDIRECT_NEIGH = 152;
    private static final Path UAPI_BPF_H = Path.of("/usr/include/linux/bpf.h");

    @Test
    void everyHelperTheCompiledObjectCallsIsProbedForItsProgramTypeAndNamedWithItsKernel() throws IOException
    {
        final List<KernelRequirements.Requirement> requirements = KernelRequirements.datapath();
        final Set<KernelFeature> probed = requirements.stream().flatMap(r -> r.features().stream())
            .collect(Collectors.toSet());

        for (final BpfElf.Program program : BpfElf.programs(object(), DatapathAbi.OBJECT_RESOURCE))
        {
            assertThat(program.helpers()).as(program.name()).isNotEmpty();
            for (final int helper : program.helpers())
            {
                assertThat(probed).as("helper %d of %s", helper, program.name()).anyMatch(feature ->
                    feature instanceof KernelFeature.Helper h && h.helperId() == helper);
                assertThat(KernelRequirements.HELPERS).as("the object calls helper %d (%s): add its name and the " +
                    "kernel that brought it to KernelRequirements.HELPERS", helper, program.name()).containsKey(helper);
            }
        }
        assertThat(requirements).allSatisfy(requirement -> assertThat(requirement.since()).as(requirement.name())
            .matches("\\d+\\.\\d+"));
    }

    @Test
    void helpersAreProbedPerProgramTypeWithTheAttachTypesOfTheProgramsThatCallThem()
    {
        final Map<String, KernelRequirements.Requirement> byName = byName();

        assertThat(byName.get("helper bpf_redirect_neigh for sched_cls").since()).isEqualTo("5.10");
        assertThat(byName.get("helper bpf_redirect_neigh for sched_cls").features())
            .containsExactly(new KernelFeature.Helper(SCHED_CLS, 0, REDIRECT_NEIGH));
        // bpf_set_retval refuses connect() and sendmsg(); recvmsg and getpeername hooks may not call it at all
        assertThat(byName.get("helper bpf_set_retval for cgroup_sock_addr").features())
            .extracting(feature -> ((KernelFeature.Helper)feature).attachType())
            .containsExactlyInAnyOrder(CgroupHook.INET4_CONNECT.attachType(), CgroupHook.INET6_CONNECT.attachType(),
                CgroupHook.UDP4_SENDMSG.attachType(), CgroupHook.UDP6_SENDMSG.attachType());
        assertThat(byName).containsKeys("program type xdp", "program type sched_cls", "program type cgroup_sock_addr",
            "attach type cgroup/getpeername6", "BPF atomic compare-and-swap and fetch operations (clang -mcpu=v3)",
            "inner maps of any size (BPF_F_INNER_MAP)", "BPF link for XDP", "BPF link for cgroup hooks", "BTF");
        assertThat(byName.get("attach type cgroup/recvmsg4").since()).isEqualTo("5.2");
    }

    @Test
    void everyMapTypeOfTheAbiIsRequiredAndTheInnerArrayOfTheMaglevTables()
    {
        final Map<String, KernelRequirements.Requirement> byName = byName();

        for (final MapSpec spec : DatapathAbi.MAPS.values())
        {
            assertThat(byName).containsKey("map type " + spec.type().name().toLowerCase());
        }
        assertThat(byName).containsKeys("map type array_of_maps", "map type array");
    }

    @Test
    void theHelperTableAgreesWithTheKernelHeader() throws IOException
    {
        // enum bpf_func_id through __BPF_FUNC_MAPPER: FN(name) in id order, or FN(name, id, ...) since 6.1
        final List<String> names = new ArrayList<>();
        final Matcher fn = Pattern.compile("^\\s*FN\\((\\w+)(?:,\\s*(\\d+))?", Pattern.MULTILINE)
            .matcher(Files.readString(UAPI_BPF_H));
        while (fn.find())
        {
            final int id = null == fn.group(2) ? names.size() : Integer.parseInt(fn.group(2));
            while (names.size() <= id)
            {
                names.add(null);
            }
            names.set(id, fn.group(1));
        }
        assertThat(names).as("helpers in %s", UAPI_BPF_H).hasSizeGreaterThan(187);
        KernelRequirements.HELPERS.forEach((id, helper) ->
            assertThat(helper.name()).as("helper %d", id).isEqualTo("bpf_" + names.get(id)));
    }

    @Test
    void aKernelWithoutOneHelperGivesExactlyOneRefusalLineNamingItAndItsKernel()
    {
        final KernelFeature absent = new KernelFeature.Helper(SCHED_CLS, 0, REDIRECT_NEIGH);
        final Set<KernelFeature> asked = new HashSet<>();
        final KernelRequirements.Report report = KernelRequirements.check(feature ->
        {
            asked.add(feature);
            return feature.equals(absent) ? KernelProbe.Result.MISSING : KernelProbe.Result.PRESENT;
        });

        assertThat(asked).contains(absent, new KernelFeature.Atomics(), new KernelFeature.XdpLink());
        assertThat(report.unknown()).isEmpty();
        assertThat(report.missing()).extracting(KernelRequirements.Check::line)
            .containsExactly("kernel lacks helper bpf_redirect_neigh for sched_cls (needs Linux 5.10+)");
    }

    @Test
    void aProbeThatCannotTellIsReportedWithItsReasonNotAsMissing()
    {
        final KernelRequirements.Report report = KernelRequirements.check(feature ->
            feature instanceof KernelFeature.Btf ? KernelProbe.Result.unknown("EPERM: not permitted") :
                KernelProbe.Result.PRESENT);

        assertThat(report.missing()).isEmpty();
        assertThat(report.problems())
            .containsExactly("cannot tell whether the kernel has BTF (needs Linux 4.18+): EPERM: not permitted");
    }

    @Test
    void probesThatFailForOneReasonAreOneLine()
    {
        final KernelRequirements.Report report = KernelRequirements.check(feature -> feature instanceof KernelFeature.Btf ?
            KernelProbe.Result.MISSING : KernelProbe.Result.unknown("EPERM: run as root"));

        assertThat(report.problems()).containsExactly("kernel lacks BTF (needs Linux 4.18+)",
            "cannot tell whether the kernel has " + (report.checks().size() - 1) + " of the features the datapath " +
                "needs: EPERM: run as root");
    }

    private static Map<String, KernelRequirements.Requirement> byName()
    {
        return KernelRequirements.datapath().stream()
            .collect(Collectors.toMap(KernelRequirements.Requirement::name, requirement -> requirement));
    }

    private static byte[] object() throws IOException
    {
        try (InputStream in = KernelRequirementsTest.class.getClassLoader()
            .getResourceAsStream(DatapathAbi.OBJECT_RESOURCE))
        {
            assertThat(in).isNotNull();
            return in.readAllBytes();
        }
    }
}
