package io.switchboard.datapath;

import io.switchboard.bpf.LibbpfKernelProbe;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The real probe on this kernel finds everything the datapath needs. */
@KernelTest
class KernelRequirementsKernelTest
{
    @Test
    void thisKernelHasEveryFeatureTheDatapathNeeds()
    {
        final KernelRequirements.Report report = KernelRequirements.check(new LibbpfKernelProbe());

        assertThat(report.checks()).hasSizeGreaterThan(30);
        assertThat(report.missing()).extracting(KernelRequirements.Check::line).isEmpty();
        assertThat(report.unknown()).extracting(KernelRequirements.Check::line).isEmpty();
    }
}
