package io.switchboard.bpf;

import io.switchboard.bpf.KernelProbe.Outcome;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The probe tells present from missing on this kernel. What Switchboard needs is checked as a whole in
 * the manager's {@code KernelRequirementsKernelTest}; here each kind of probe also says "missing" where
 * the kernel really lacks the thing, so a probe that always answered "present" would fail.
 */
@KernelTest
class LibbpfKernelProbeTest
{
    private static final int SCHED_CLS = 3;
    private static final int XDP = 6;
    private static final int CGROUP_SOCK_ADDR = 18;
    private static final int REDIRECT_NEIGH = 152;
    private static final int SET_RETVAL = 187;
    private static final int BPF_CGROUP_INET4_CONNECT = 10;
    private static final int BPF_CGROUP_UDP4_RECVMSG = 19;

    private final LibbpfKernelProbe probe = new LibbpfKernelProbe();

    @Test
    void helpersArePresentForTheProgramTypesThatMayCallThemOnly()
    {
        assertThat(outcome(new KernelFeature.Helper(SCHED_CLS, 0, REDIRECT_NEIGH))).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.Helper(CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, REDIRECT_NEIGH))).isEqualTo(Outcome.MISSING);
        assertThat(outcome(new KernelFeature.Helper(CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT, SET_RETVAL))).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.Helper(XDP, 0, SET_RETVAL))).isEqualTo(Outcome.MISSING);
        // per attach type: recvmsg's return value never reaches the caller, so it may not set one
        assertThat(outcome(new KernelFeature.Helper(CGROUP_SOCK_ADDR, BPF_CGROUP_UDP4_RECVMSG, SET_RETVAL)))
            .isEqualTo(Outcome.MISSING);
    }

    @Test
    void typesAreProbedAndAnAttachTypeTheKernelDoesNotKnowIsMissing()
    {
        assertThat(outcome(new KernelFeature.ProgramType(XDP))).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.MapType(MapType.LRU_HASH.id()))).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.AttachType(CGROUP_SOCK_ADDR, BPF_CGROUP_INET4_CONNECT)))
            .isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.AttachType(CGROUP_SOCK_ADDR, 4_000))).isEqualTo(Outcome.MISSING);
    }

    @Test
    void atomicsLinksInnerMapsAndBtfArePresentOnThisKernel()
    {
        assertThat(outcome(new KernelFeature.Atomics())).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.InnerMapFlag())).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.XdpLink())).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.CgroupLink())).isEqualTo(Outcome.PRESENT);
        assertThat(outcome(new KernelFeature.Btf())).isEqualTo(Outcome.PRESENT);
    }

    private Outcome outcome(final KernelFeature feature)
    {
        final KernelProbe.Result result = probe.probe(feature);
        assertThat(result.detail()).as("%s", feature).isEqualTo(result.outcome() == Outcome.UNKNOWN ?
            result.detail() : "");
        return result.outcome();
    }
}
