package io.switchboard.datapath;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.Interfaces;

import java.util.Locale;

/**
 * How the replies {@code sb_xdp} generates on an external interface (the RST or ICMP refusal of a Service
 * without endpoints, the ARP / NDP answers for LoadBalancer addresses) leave it: {@code XDP} sends them
 * with {@code XDP_TX}, {@code TC} hands the frame to {@code sb_tc_from_ext}, which sends the same reply
 * with {@code bpf_redirect} to the interface's egress. {@code AUTO} (the {@code --generated-replies}
 * default) chooses per interface, see {@link #choose(String)}.
 */
public enum ReplyPath
{
    AUTO,
    XDP,
    TC;

    /** The flag's spelling: auto, xdp, tc. */
    public String label()
    {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The path for interface {@code name} (in the calling thread's network namespace), and why. */
    public record Choice(ReplyPath path, String reason)
    {
    }

    /**
     * This path for {@code interfaceName}; {@code AUTO} becomes {@code XDP} where the driver drives a bus
     * device ({@code ETHTOOL_GDRVINFO} bus-info, e.g. a PCI address: a NIC, whose {@code XDP_TX} goes out of
     * its own transmit queue onto the wire) and {@code TC} everywhere else: veth (an {@code XDP_TX} frame
     * reaches the peer only when the peer runs an XDP program itself), other virtual devices, and any
     * interface whose driver cannot be asked.
     */
    public Choice choose(final String interfaceName)
    {
        if (this != AUTO)
        {
            return new Choice(this, "--generated-replies=" + label());
        }
        final Interfaces.Driver driver;
        try
        {
            driver = Interfaces.driver(interfaceName);
        }
        catch (final BpfException ex)
        {
            return new Choice(TC, "driver unknown (" + ex.getMessage() + ")");
        }
        if (driver.bus().isEmpty() || "veth".equals(driver.name()))
        {
            return new Choice(TC, "driver " + driver.name() + " has no bus device");
        }
        return new Choice(XDP, "driver " + driver.name() + " on " + driver.bus());
    }

    /** {@code auto|xdp|tc}; one clear error naming the flag otherwise. */
    public static ReplyPath parse(final String text)
    {
        for (final ReplyPath path : values())
        {
            if (path.label().equals(text))
            {
                return path;
            }
        }
        throw new IllegalArgumentException("--generated-replies " + text + ": want auto, xdp or tc");
    }
}
