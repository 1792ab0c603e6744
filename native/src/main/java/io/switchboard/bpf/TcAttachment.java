package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libbpf.LibbpfLog;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A program attached as a direct-action filter on an interface's clsact qdisc. The filter belongs to
 * the interface, not to a descriptor: it stays when the process ends, and {@link #detach()} removes it.
 */
public final class TcAttachment
{
    /** {@code struct bpf_tc_hook { size_t sz; int ifindex; enum attach_point; __u32 parent; }}. */
    static final long HOOK_SIZE = 24;
    /** {@code struct bpf_tc_opts { size_t sz; int prog_fd; __u32 flags, prog_id, handle, priority; }}. */
    static final long OPTS_SIZE = 32;
    static final int BPF_TC_F_REPLACE = 1;
    private static final int EEXIST = 17;

    private final String description;
    private final int ifindex;
    private final TcDirection direction;
    private final int handle;
    private final int priority;

    private TcAttachment(
        final String description, final int ifindex, final TcDirection direction, final int handle, final int priority)
    {
        this.description = description;
        this.ifindex = ifindex;
        this.direction = direction;
        this.handle = handle;
        this.priority = priority;
    }

    static TcAttachment attach(
        final BpfProgram program, final int ifindex, final TcDirection direction, final int handle, final int priority)
    {
        final String description = program.name() + " on tc " + direction.name().toLowerCase() + " of ifindex " +
            ifindex;
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment hook = hook(scratch, ifindex, direction);
            final int created;
            // an interface's clsact qdisc serves both directions: the second attach finds it (EEXIST), which
            // libbpf reports as a kernel warning; captured, so only real failures are seen
            try (LibbpfLog.Capture ignored = LibbpfLog.capture())
            {
                created = Libbpf.bpf_tc_hook_create(hook);
            }
            if (created < 0 && created != -EEXIST)
            {
                throw new BpfException("bpf_tc_hook_create", description, created);
            }
            final MemorySegment opts = scratch.allocate(OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 8, program.fd());
            opts.set(ValueLayout.JAVA_INT, 12, BPF_TC_F_REPLACE);
            opts.set(ValueLayout.JAVA_INT, 20, handle);
            opts.set(ValueLayout.JAVA_INT, 24, priority);
            final int rc = Libbpf.bpf_tc_attach(hook, opts);
            if (rc < 0)
            {
                throw new BpfException("bpf_tc_attach", description, rc);
            }
            return new TcAttachment(description, ifindex, direction,
                opts.get(ValueLayout.JAVA_INT, 20), opts.get(ValueLayout.JAVA_INT, 24));
        }
    }

    private static MemorySegment hook(final Arena arena, final int ifindex, final TcDirection direction)
    {
        final MemorySegment hook = arena.allocate(HOOK_SIZE, 8);
        hook.set(ValueLayout.JAVA_LONG, 0, HOOK_SIZE);
        hook.set(ValueLayout.JAVA_INT, 8, ifindex);
        hook.set(ValueLayout.JAVA_INT, 12, direction.attachPoint());
        return hook;
    }

    public int handle()
    {
        return handle;
    }

    public int priority()
    {
        return priority;
    }

    /** Removes the filter from the interface. */
    public void detach()
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment opts = scratch.allocate(OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 20, handle);
            opts.set(ValueLayout.JAVA_INT, 24, priority);
            final int rc = Libbpf.bpf_tc_detach(hook(scratch, ifindex, direction), opts);
            if (rc < 0)
            {
                throw new BpfException("bpf_tc_detach", description, rc);
            }
        }
    }

    @Override
    public String toString()
    {
        return "TcAttachment[" + description + ", handle " + handle + ", priority " + priority + "]";
    }
}
