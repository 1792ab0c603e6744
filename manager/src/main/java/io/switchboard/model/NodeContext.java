package io.switchboard.model;

import java.net.InetAddress;
import java.util.List;

/**
 * This node as endpoint choice and NodePorts see it.
 *
 * @param nodeName            endpoints with this {@code nodeName} are local
 * @param addresses           the addresses NodePorts answer on
 * @param zone                the node's zone, for zone hints (empty when unknown)
 * @param preferSameNodeHints whether same-node hints are honoured (kube-proxy's PreferSameTrafficDistribution gate)
 */
public record NodeContext(String nodeName, List<InetAddress> addresses, String zone, boolean preferSameNodeHints)
{
    /** Copies the list so the context is immutable. */
    public NodeContext
    {
        addresses = List.copyOf(addresses);
    }

    EndpointCategorizer.Topology topology()
    {
        return new EndpointCategorizer.Topology(nodeName, zone, preferSameNodeHints);
    }
}
