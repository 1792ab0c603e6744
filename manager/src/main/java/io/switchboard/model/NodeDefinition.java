package io.switchboard.model;

import java.net.InetAddress;
import java.util.List;

/**
 * A Node that passed validation, reduced to what endpoint choice and NodePorts need.
 *
 * @param name      the node's name (endpoints with this {@code nodeName} are local)
 * @param addresses its InternalIP and ExternalIP addresses, in the order the Node lists them
 * @param zone      its {@code topology.kubernetes.io/zone} label, empty when unlabelled
 */
public record NodeDefinition(String name, List<InetAddress> addresses, String zone)
{
    /** Copies the list so the definition is immutable. */
    public NodeDefinition
    {
        addresses = List.copyOf(addresses);
    }
}
