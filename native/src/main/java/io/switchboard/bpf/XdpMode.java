package io.switchboard.bpf;

/** How an XDP program is attached to an interface. */
public enum XdpMode
{
    /** In the driver (veth, most NICs): the fast path. */
    NATIVE(1 << 2),
    /** In the generic network stack: works on any interface, slower. */
    GENERIC(1 << 1),
    /** Native where the driver supports it, generic otherwise. */
    NATIVE_OR_GENERIC(0);

    private final int flags;

    XdpMode(final int flags)
    {
        this.flags = flags;
    }

    /** The {@code XDP_FLAGS_*_MODE} bits. */
    public int flags()
    {
        return flags;
    }
}
