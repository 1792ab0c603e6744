package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libc.Libc;

import java.nio.file.Path;

/**
 * A BPF link: a program attached to a hook for as long as the link lives. Closing the descriptor
 * detaches it unless the link is pinned; a pinned link keeps the program attached with no process
 * holding it, which is how traffic survives an agent restart.
 */
public final class BpfLink implements AutoCloseable
{
    private final String description;
    private final int fd;
    private final XdpMode xdpMode;
    private boolean closed;

    BpfLink(final String description, final int fd, final XdpMode xdpMode)
    {
        this.description = description;
        this.fd = fd;
        this.xdpMode = xdpMode;
    }

    /** Opens a link pinned on bpffs. */
    public static BpfLink openPinned(final Path pin)
    {
        Bpf.require();
        return new BpfLink(pin.toString(), BpfFiles.objGet(pin), null);
    }

    public int fd()
    {
        return fd;
    }

    /** For XDP links, the mode the kernel accepted (native or generic); null for other links. */
    public XdpMode xdpMode()
    {
        return xdpMode;
    }

    /** Pins the link on bpffs so that it outlives this process. */
    public BpfLink pin(final Path path)
    {
        BpfFiles.objPin(fd, path, description);
        return this;
    }

    /**
     * Swaps the attached program for {@code program} in one step: no packet sees the hook empty. This
     * is how a restarted or upgraded agent takes over links a previous one pinned.
     */
    public void update(final BpfProgram program)
    {
        final int rc = Libbpf.bpf_link_update(fd, program.fd(), java.lang.foreign.MemorySegment.NULL);
        if (rc < 0)
        {
            throw new BpfException("bpf_link_update", description + " -> " + program.name(), rc);
        }
    }

    /** Detaches the program now, pinned or not (the pin, if any, stays until unlinked). */
    public void detach()
    {
        final int rc = Libbpf.bpf_link_detach(fd);
        if (rc < 0)
        {
            throw new BpfException("bpf_link_detach", description, rc);
        }
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            Libc.close(fd);
        }
    }

    @Override
    public String toString()
    {
        return "BpfLink[" + description + (null == xdpMode ? "" : ", " + xdpMode) + "]";
    }
}
