package io.switchboard.datapath;

import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.KernelFeature;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.bpf.LibbpfKernelProbe;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The choices the datapath object leaves to its loader ({@code sb_load_flags} in the section {@code .rodata.load},
 * {@code SB_LOAD_F_*} in {@code bpf/include/sb_maps.h}), made for the running kernel before load: a kernel
 * without an optional feature gets the datapath's fallback instead of a program the verifier refuses. Every
 * loader of {@code switchboard.bpf.o} (the agent, the tests, the benchmarks) opens it through {@link #open}.
 *
 * @param xdpMetadata XDP programs may call {@code bpf_xdp_adjust_meta} (every mainline kernel since 4.15; some
 *                    builds refuse it to program type xdp).
 */
public record DatapathLoadOptions(boolean xdpMetadata)
{
    /** The internal map of the section that holds {@code sb_load_flags}. */
    public static final String MAP = ".rodata.load";
    static final int HELPER_XDP_ADJUST_META = 54;
    static final String XDP_META_FALLBACK = "sb_xdp hands generated replies to tc unmarked and sb_tc_from_ext " +
        "looks every frame up on interfaces that answer by tc (bpf/README.md, Generated replies)";
    private static final KernelFeature XDP_ADJUST_META =
        new KernelFeature.Helper(KernelRequirements.PROG_TYPE_XDP, 0, HELPER_XDP_ADJUST_META);
    /** {@code SB_LOAD_F_NO_XDP_META}. */
    private static final int NO_XDP_META = 1;
    /** Every feature: what a loader that sets nothing gets. */
    public static final DatapathLoadOptions ALL = new DatapathLoadOptions(true);

    private static volatile DatapathLoadOptions thisKernel;

    /** What {@code probe}'s kernel allows; a feature the probe cannot tell about (not root) counts as present. */
    public static DatapathLoadOptions of(final KernelProbe probe)
    {
        return new DatapathLoadOptions(probe.probe(XDP_ADJUST_META).outcome() != KernelProbe.Outcome.MISSING);
    }

    /** What the running kernel allows (probed once a process). */
    public static DatapathLoadOptions thisKernel()
    {
        DatapathLoadOptions options = thisKernel;
        if (null == options)
        {
            options = of(new LibbpfKernelProbe());
            thisKernel = options;
        }
        return options;
    }

    /** Opens a build of the datapath ({@link DatapathAbi#OBJECT_RESOURCE} or a test object including it) for this kernel. */
    public static BpfObject open(final String resource)
    {
        final BpfObject object = BpfObject.openResource(resource);
        try
        {
            return thisKernel().applyTo(object);
        }
        catch (final RuntimeException ex)
        {
            object.close();
            throw ex;
        }
    }

    /**
     * Writes these choices into {@code object}, which is not loaded yet. An object without {@link #MAP} (a build from
     * before the options, e.g. for a comparison) is left as it is: it has every feature or fails to load.
     */
    public BpfObject applyTo(final BpfObject object)
    {
        if (!object.mapNames().contains(MAP))
        {
            return object;
        }
        return object.initialValue(MAP, ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.nativeOrder())
            .putInt(flags()).array());
    }

    /** {@code sb_load_flags}. */
    public int flags()
    {
        return xdpMetadata ? 0 : NO_XDP_META;
    }
}
