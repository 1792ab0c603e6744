package io.switchboard.model;

import java.net.InetAddress;
import java.util.Arrays;
import java.util.Comparator;

/**
 * An endpoint chosen for a service port: where the datapath sends a connection, and the conditions it was
 * chosen under.
 *
 * @param address     the endpoint's address
 * @param port        the endpoint's port for this service port (from the slice: named targetPorts may differ)
 * @param local       whether the endpoint runs on this node
 * @param ready       ready condition
 * @param serving     serving condition
 * @param terminating terminating condition
 */
public record ServiceEndpoint(InetAddress address, int port, boolean local, boolean ready, boolean serving, boolean terminating)
{
    /** A stable order (family, address bytes, port) so equal endpoint sets compare equal whatever the slice order. */
    public static final Comparator<ServiceEndpoint> ORDER = Comparator
        .comparing((final ServiceEndpoint endpoint) -> IpFamily.of(endpoint.address()))
        .thenComparing((final ServiceEndpoint a, final ServiceEndpoint b) -> Arrays.compareUnsigned(a.address().getAddress(), b.address().getAddress()))
        .thenComparingInt(ServiceEndpoint::port);

    /** The family of the endpoint's address. */
    public IpFamily family()
    {
        return IpFamily.of(address);
    }

    /** Usable as a fallback when nothing is ready: still serving while terminating. */
    public boolean servingTerminating()
    {
        return serving && terminating;
    }

    @Override
    public String toString()
    {
        final String host = IpAddresses.format(address);
        return (family() == IpFamily.IPV6 ? "[" + host + "]" : host) + ":" + port
            + (local ? " local" : "") + (ready ? " ready" : "") + (serving ? " serving" : "") + (terminating ? " terminating" : "");
    }
}
