package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The running kernel's answers, from libbpf's feature probes ({@code libbpf_probe_bpf_prog_type},
 * {@code _map_type}) and from small loads of our own. Helpers are probed here, not with libbpf 1.1's
 * {@code libbpf_probe_bpf_helper}: that one reads the verifier's log for "unknown func", and kernels since
 * 6.x say "program of this type cannot use helper", so it reports every helper present. Every
 * program and map made here is closed before the probe returns, and nothing is attached: the two link
 * probes ask for links the kernel must refuse (an XDP link in hardware-offload mode on the loopback
 * interface, a cgroup link to a descriptor that is not a cgroup), and read which refusal it is. A kernel
 * without the link kind refuses the command itself ({@code EINVAL}); one with it refuses the target
 * ({@code EOPNOTSUPP}, {@code EBADF}).
 */
public final class LibbpfKernelProbe implements KernelProbe
{
    private static final int PROG_TYPE_XDP = 6;
    private static final int PROG_TYPE_CGROUP_SOCK_ADDR = 18;
    private static final int MAP_TYPE_ARRAY = 2;
    private static final int ATTACH_CGROUP_INET4_CONNECT = 10;
    private static final int ATTACH_XDP = 37;
    private static final int XDP_FLAGS_HW_MODE = 1 << 3;
    private static final int LOOPBACK_IFINDEX = 1;
    private static final int EPERM = 1;
    private static final int EBADF = 9;
    private static final int EACCES = 13;
    private static final int EINVAL = 22;
    private static final int EOPNOTSUPP = 95;
    /** {@code struct bpf_prog_load_opts} of libbpf 1.1, to {@code log_buf}; the offsets of its fields used here. */
    private static final long PROG_LOAD_OPTS_SIZE = 104;
    private static final long OPTS_EXPECTED_ATTACH_TYPE = 12;
    private static final long OPTS_LOG_LEVEL = 88;
    private static final long OPTS_LOG_SIZE = 92;
    private static final long OPTS_LOG_BUF = 96;
    private static final int LOG_SIZE = 4096;
    /** What verifiers say of a helper they do not know, or do not allow for the program type (since 3.x / 6.x). */
    private static final String[] HELPER_REFUSALS = {
        "invalid func ", "unknown func ", "program of this type cannot use helper "};
    /** {@code struct bpf_map_create_opts} up to {@code map_flags}. */
    private static final long MAP_CREATE_OPTS_SIZE = 32;
    /** {@code struct bpf_link_create_opts} up to {@code flags}. */
    private static final long LINK_CREATE_OPTS_SIZE = 16;

    /** r0 = 1 (XDP_DROP, TC_ACT_SHOT, "proceed" for a socket hook: valid for every type probed); exit. */
    private static final long[] RETURN_ONE = {insn(0xb7, 0, 0, 0, 1), insn(0x95, 0, 0, 0, 0)};
    /** A 64-bit compare-and-swap on a stack slot: the instruction clang -mcpu=v3 emits for __sync_val_compare_and_swap. */
    private static final long[] COMPARE_AND_SWAP = {
        insn(0xb7, 1, 0, 0, 0),       // r1 = 0
        insn(0x7b, 10, 1, -8, 0),     // *(u64 *)(r10 - 8) = r1
        insn(0xb7, 0, 0, 0, 0),       // r0 = 0
        insn(0xb7, 1, 0, 0, 1),       // r1 = 1
        insn(0xdb, 10, 1, -8, 0xf1),  // r0 = cmpxchg((u64 *)(r10 - 8), r0, r1)
        insn(0xb7, 0, 0, 0, 1),       // r0 = XDP_DROP
        insn(0x95, 0, 0, 0, 0),       // exit
    };
    /** A BTF blob of one type, {@code int}: header, one BTF_KIND_INT of 32 bits, strings "\0int\0". */
    private static final byte[] ONE_INT_BTF = btfOfOneInt();

    private volatile String notPermitted;
    private volatile boolean permissionChecked;

    @Override
    public Result probe(final KernelFeature feature)
    {
        Bpf.require();
        final String denied = permission();
        if (null != denied)
        {
            return Result.unknown(denied);
        }
        return switch (feature)
        {
            case KernelFeature.ProgramType type -> answer(Libbpf.libbpf_probe_bpf_prog_type(type.programType(),
                MemorySegment.NULL));
            case KernelFeature.MapType type -> answer(Libbpf.libbpf_probe_bpf_map_type(type.mapType(),
                MemorySegment.NULL));
            case KernelFeature.Helper helper -> helper(helper);
            case KernelFeature.AttachType attach -> loads(load(attach.programType(), attach.attachType(), RETURN_ONE));
            case KernelFeature.Atomics ignored -> loads(load(PROG_TYPE_XDP, 0, COMPARE_AND_SWAP));
            case KernelFeature.InnerMapFlag ignored -> innerMapFlag();
            case KernelFeature.XdpLink ignored -> xdpLink();
            case KernelFeature.CgroupLink ignored -> cgroupLink();
            case KernelFeature.Btf ignored -> btf();
        };
    }

    /** Null when this process may load XDP programs, else why not; asked of the kernel once. */
    private String permission()
    {
        if (!permissionChecked)
        {
            final int fd = load(PROG_TYPE_XDP, 0, RETURN_ONE);
            if (fd >= 0)
            {
                Libc.close(fd);
            }
            else if (fd == -EPERM || fd == -EACCES)
            {
                notPermitted = Libc.errnoName(-fd) + ": not permitted to load BPF programs (run as root)";
            }
            permissionChecked = true;
        }
        return notPermitted;
    }

    private static Result answer(final int libbpfAnswer)
    {
        if (libbpfAnswer > 0)
        {
            return Result.PRESENT;
        }
        return 0 == libbpfAnswer ? Result.MISSING : Result.unknown("libbpf probe failed: " + Libc.errnoName(-libbpfAnswer));
    }

    /** A descriptor (closed here) means present, EINVAL missing, anything else unknown. */
    private static Result loads(final int fd)
    {
        if (fd >= 0)
        {
            Libc.close(fd);
            return Result.PRESENT;
        }
        return fd == -EINVAL ? Result.MISSING : Result.unknown(Libc.errnoName(-fd));
    }

    private static Result innerMapFlag()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment opts = arena.allocate(MAP_CREATE_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, MAP_CREATE_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 28, BpfMap.BPF_F_INNER_MAP);
            return loads(Libbpf.bpf_map_create(MAP_TYPE_ARRAY, MemorySegment.NULL, 4, 4, 1, opts));
        }
    }

    private static Result btf()
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment blob = arena.allocate(ONE_INT_BTF.length, 8);
            MemorySegment.copy(ONE_INT_BTF, 0, blob, ValueLayout.JAVA_BYTE, 0, ONE_INT_BTF.length);
            return loads(Libbpf.bpf_btf_load(blob, ONE_INT_BTF.length, MemorySegment.NULL));
        }
    }

    private static Result xdpLink()
    {
        final int prog = load(PROG_TYPE_XDP, 0, RETURN_ONE);
        if (prog < 0)
        {
            return Result.unknown("loading an XDP program: " + Libc.errnoName(-prog));
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment opts = arena.allocate(LINK_CREATE_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, LINK_CREATE_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 8, XDP_FLAGS_HW_MODE);
            return refused(Libbpf.bpf_link_create(prog, LOOPBACK_IFINDEX, ATTACH_XDP, opts), EOPNOTSUPP);
        }
        finally
        {
            Libc.close(prog);
        }
    }

    private static Result cgroupLink()
    {
        final int prog = load(PROG_TYPE_CGROUP_SOCK_ADDR, ATTACH_CGROUP_INET4_CONNECT, RETURN_ONE);
        if (prog < 0)
        {
            return Result.unknown("loading a cgroup/connect4 program: " + Libc.errnoName(-prog));
        }
        try
        {
            // the program's own descriptor as the "cgroup": a kernel with cgroup links says it is not one
            return refused(Libbpf.bpf_link_create(prog, prog, ATTACH_CGROUP_INET4_CONNECT, MemorySegment.NULL), EBADF);
        }
        finally
        {
            Libc.close(prog);
        }
    }

    /** A link command refused with {@code knownCommand}'s errno means the kernel has it; EINVAL that it has not. */
    private static Result refused(final int link, final int knownCommand)
    {
        if (link >= 0)
        {
            Libbpf.bpf_link_detach(link);
            Libc.close(link);
            return Result.PRESENT;
        }
        if (link == -knownCommand)
        {
            return Result.PRESENT;
        }
        return link == -EINVAL ? Result.MISSING : Result.unknown(Libc.errnoName(-link));
    }

    /** Loads a GPL program of raw instructions; its descriptor or -errno. */
    private static int load(final int programType, final int expectedAttachType, final long[] instructions)
    {
        return load(programType, expectedAttachType, instructions, null);
    }

    /**
     * The helper probe: a program that only calls the helper. A verifier that does not know the helper, or
     * does not allow it for the type, says so in its log; any other outcome (loaded, or refused for its
     * arguments) means the helper is there, as libbpf and bpftool read it.
     */
    private static Result helper(final KernelFeature.Helper helper)
    {
        final StringBuilder log = new StringBuilder();
        final int fd = load(helper.programType(), helper.attachType(),
            new long[] {insn(0x85, 0, 0, 0, helper.helperId()), insn(0x95, 0, 0, 0, 0)}, log);
        if (fd >= 0)
        {
            Libc.close(fd);
            return Result.PRESENT;
        }
        for (final String refusal : HELPER_REFUSALS)
        {
            if (log.indexOf(refusal) >= 0)
            {
                return Result.MISSING;
            }
        }
        return log.isEmpty() ? Result.unknown("loading a program: " + Libc.errnoName(-fd)) : Result.PRESENT;
    }

    private static int load(final int programType, final int expectedAttachType, final long[] instructions,
        final StringBuilder log)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment insns = arena.allocate(ValueLayout.JAVA_LONG, instructions.length);
            MemorySegment.copy(instructions, 0, insns, ValueLayout.JAVA_LONG, 0, instructions.length);
            final MemorySegment opts = arena.allocate(PROG_LOAD_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, PROG_LOAD_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, OPTS_EXPECTED_ATTACH_TYPE, expectedAttachType);
            final MemorySegment logBuffer = null == log ? MemorySegment.NULL : arena.allocate(LOG_SIZE);
            if (null != log)
            {
                opts.set(ValueLayout.JAVA_INT, OPTS_LOG_LEVEL, 1);
                opts.set(ValueLayout.JAVA_INT, OPTS_LOG_SIZE, LOG_SIZE);
                opts.set(ValueLayout.ADDRESS, OPTS_LOG_BUF, logBuffer);
            }
            final int fd = Libbpf.bpf_prog_load(programType, MemorySegment.NULL, arena.allocateFrom("GPL"), insns,
                instructions.length, opts);
            if (null != log)
            {
                log.append(logBuffer.getString(0));
            }
            return fd;
        }
    }

    /** One {@code struct bpf_insn} as the little-endian 64-bit word it is in memory. */
    private static long insn(final int code, final int dst, final int src, final int off, final int imm)
    {
        return (code & 0xffL) | ((long)((src << 4) | dst) & 0xff) << 8 | (off & 0xffffL) << 16 | (imm & 0xffffffffL) << 32;
    }

    private static byte[] btfOfOneInt()
    {
        final java.nio.ByteBuffer btf = java.nio.ByteBuffer.allocate(24 + 16 + 5).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        btf.putShort((short)0xeb9f).put((byte)1).put((byte)0); // magic, version, flags
        btf.putInt(24).putInt(0).putInt(16).putInt(16).putInt(5); // hdr_len, type_off, type_len, str_off, str_len
        btf.putInt(1).putInt(1 << 24).putInt(4);                  // name "int", BTF_KIND_INT, 4 bytes
        btf.putInt(32);                                           // encoding: 32 bits, offset 0, unsigned
        btf.put(new byte[] {0, 'i', 'n', 't', 0});
        return btf.array();
    }
}
