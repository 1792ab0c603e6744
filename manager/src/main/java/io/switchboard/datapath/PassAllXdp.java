package io.switchboard.datapath;

import io.switchboard.bpf.BpfLink;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.XdpMode;
import io.switchboard.netns.Host;

/**
 * A program that passes every frame, attached to a lab host's veth end so that the frames the node's
 * XDP program sends back out ({@code XDP_TX}: ARP and NDP answers, refusals) reach it. A veth hands
 * {@code XDP_TX} frames only to a peer with NAPI on; GRO alone did not turn it on reliably on kernel
 * 6.18, an XDP program does. A NIC's wire has no such condition: this exists for the namespace lab.
 */
public final class PassAllXdp implements AutoCloseable
{
    private static final String OBJECT = "bpf/probe.bpf.o";
    private static final String PROGRAM = "probe_xdp";

    private final BpfObject object;
    private final BpfLink link;

    private PassAllXdp(final BpfObject object, final BpfLink link)
    {
        this.object = object;
        this.link = link;
    }

    /** Attaches the program natively to {@code host}'s interface, in its network namespace. */
    public static PassAllXdp attach(final Host host)
    {
        final BpfObject object = BpfObject.openResource(OBJECT).load();
        try
        {
            return new PassAllXdp(object, host.call(() -> object.program(PROGRAM)
                .attachXdp(Interfaces.index(host.interfaceName()), XdpMode.NATIVE)));
        }
        catch (final RuntimeException ex)
        {
            object.close();
            throw ex;
        }
    }

    @Override
    public void close()
    {
        link.close();
        object.close();
    }
}
