package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/** A loaded program of a {@link BpfObject}; its descriptor lives as long as the object. */
public final class BpfProgram
{
    private static final int BPF_XDP = 37;
    /** {@code struct bpf_link_create_opts} up to {@code flags}. */
    private static final long LINK_CREATE_OPTS_SIZE = 16;
    /** {@code struct bpf_test_run_opts} of libbpf 1.1. */
    private static final long TEST_RUN_OPTS_SIZE = 80;
    private static final int EOPNOTSUPP = 95;
    private static final int EINVAL = 22;

    private final String name;
    private final int fd;
    private final int type;

    BpfProgram(final String name, final int fd, final int type)
    {
        this.name = name;
        this.fd = fd;
        this.type = type;
    }

    public String name()
    {
        return name;
    }

    public int fd()
    {
        return fd;
    }

    /** The kernel's program type number ({@code enum bpf_prog_type}). */
    public int type()
    {
        return type;
    }

    /**
     * Attaches this XDP program to an interface of the calling thread's network namespace through a
     * BPF link. {@link XdpMode#NATIVE_OR_GENERIC} tries the driver first and falls back to generic.
     */
    public BpfLink attachXdp(final int ifindex, final XdpMode mode)
    {
        if (mode == XdpMode.NATIVE_OR_GENERIC)
        {
            try
            {
                return attachXdp(ifindex, XdpMode.NATIVE);
            }
            catch (final BpfException ex)
            {
                if (ex.errno() != EOPNOTSUPP && ex.errno() != EINVAL)
                {
                    throw ex;
                }
                return attachXdp(ifindex, XdpMode.GENERIC);
            }
        }
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment opts = scratch.allocate(LINK_CREATE_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, LINK_CREATE_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 8, mode.flags());
            final String description = name + " on xdp (" + mode.name().toLowerCase() + ") of ifindex " + ifindex;
            final int linkFd = Libbpf.bpf_link_create(fd, ifindex, BPF_XDP, opts);
            if (linkFd < 0)
            {
                throw new BpfException("bpf_link_create", description, linkFd);
            }
            return new BpfLink(description, linkFd, mode);
        }
    }

    /**
     * Attaches this program as a direct-action filter on an interface's clsact qdisc (created if
     * absent), replacing any filter with the same handle and priority.
     */
    public TcAttachment attachTc(final int ifindex, final TcDirection direction, final int handle, final int priority)
    {
        return TcAttachment.attach(this, ifindex, direction, handle, priority);
    }

    /** Attaches this program to a cgroup v2 directory's socket hook through a BPF link. */
    public BpfLink attachCgroup(final Path cgroup, final CgroupHook hook)
    {
        final String description = name + " on " + hook.name().toLowerCase() + " of cgroup " + cgroup;
        final int cgroupFd = Libc.open(cgroup.toString(), Libc.O_RDONLY | Libc.O_DIRECTORY | Libc.O_CLOEXEC);
        if (cgroupFd < 0)
        {
            throw new BpfException("open", cgroup.toString(), cgroupFd);
        }
        try
        {
            final int linkFd = Libbpf.bpf_link_create(fd, cgroupFd, hook.attachType(), MemorySegment.NULL);
            if (linkFd < 0)
            {
                throw new BpfException("bpf_link_create", description, linkFd);
            }
            return new BpfLink(description, linkFd, null);
        }
        finally
        {
            Libc.close(cgroupFd);
        }
    }

    /**
     * Runs the program once on {@code packet} with {@code BPF_PROG_TEST_RUN}.
     *
     * @return the program's return value and the packet as it left the program.
     */
    public TestRunResult testRun(final byte[] packet)
    {
        return testRun(packet, 1);
    }

    /**
     * Runs the program {@code repeat} times on {@code packet}; the result's duration is the kernel's
     * average per run in nanoseconds.
     */
    public TestRunResult testRun(final byte[] packet, final int repeat)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment in = scratch.allocate(Math.max(packet.length, 1));
            MemorySegment.copy(packet, 0, in, ValueLayout.JAVA_BYTE, 0, packet.length);
            // room for programs that grow the packet (encapsulation, ICMP errors)
            final int outCapacity = packet.length + 512;
            final MemorySegment out = scratch.allocate(outCapacity);
            final MemorySegment opts = scratch.allocate(TEST_RUN_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, TEST_RUN_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, 8, in);
            opts.set(ValueLayout.ADDRESS, 16, out);
            opts.set(ValueLayout.JAVA_INT, 24, packet.length);
            opts.set(ValueLayout.JAVA_INT, 28, outCapacity);
            opts.set(ValueLayout.JAVA_INT, 60, repeat);
            final int rc = Libbpf.bpf_prog_test_run_opts(fd, opts);
            if (rc < 0)
            {
                throw new BpfException("bpf_prog_test_run_opts", name, rc);
            }
            final int outLength = opts.get(ValueLayout.JAVA_INT, 28);
            final byte[] output = out.asSlice(0, Math.min(outLength, outCapacity)).toArray(ValueLayout.JAVA_BYTE);
            return new TestRunResult(opts.get(ValueLayout.JAVA_INT, 56), output, opts.get(ValueLayout.JAVA_INT, 64));
        }
    }

    /** {@code BPF_F_TEST_XDP_LIVE_FRAMES}: test-run frames are processed for real (kernel 5.18+). */
    public static final int BPF_F_TEST_XDP_LIVE_FRAMES = 1 << 1;
    /** {@code sizeof(struct xdp_md)}: data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex. */
    private static final int XDP_MD_SIZE = 24;

    /**
     * Runs an XDP program {@code repeat} times with {@code BPF_F_TEST_XDP_LIVE_FRAMES}: every run gets a frame
     * of a page pool that starts as {@code packet}, received on {@code ingressIfindex} (an interface of the
     * calling thread's network namespace, queue 0), and its verdict is carried out: {@code XDP_PASS} hands the
     * frame to that namespace's stack, {@code XDP_TX} sends it back out of the interface, {@code XDP_REDIRECT}
     * out of the target; {@code batchSize} frames (1..256, 0 = the kernel's 64) between flushes. Pages are
     * recycled without being copied again, so a program sees what the previous run on that page left.
     *
     * @return the kernel's average nanoseconds per frame, frame handling included.
     */
    public int testRunLiveFrames(final byte[] packet, final int repeat, final int ingressIfindex, final int batchSize)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment in = scratch.allocate(Math.max(packet.length, 1));
            MemorySegment.copy(packet, 0, in, ValueLayout.JAVA_BYTE, 0, packet.length);
            final MemorySegment ctx = scratch.allocate(XDP_MD_SIZE, 4);
            ctx.set(ValueLayout.JAVA_INT, 4, packet.length);
            ctx.set(ValueLayout.JAVA_INT, 12, ingressIfindex);
            final MemorySegment opts = scratch.allocate(TEST_RUN_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, TEST_RUN_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, 8, in);
            opts.set(ValueLayout.JAVA_INT, 24, packet.length);
            opts.set(ValueLayout.ADDRESS, 32, ctx);
            opts.set(ValueLayout.JAVA_INT, 48, XDP_MD_SIZE);
            opts.set(ValueLayout.JAVA_INT, 60, repeat);
            opts.set(ValueLayout.JAVA_INT, 68, BPF_F_TEST_XDP_LIVE_FRAMES);
            opts.set(ValueLayout.JAVA_INT, 76, batchSize);
            final int rc = Libbpf.bpf_prog_test_run_opts(fd, opts);
            if (rc < 0)
            {
                throw new BpfException("bpf_prog_test_run_opts (live frames)", name, rc);
            }
            return opts.get(ValueLayout.JAVA_INT, 64);
        }
    }

    @Override
    public String toString()
    {
        return "BpfProgram[" + name + ", fd " + fd + "]";
    }
}
