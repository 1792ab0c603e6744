package io.switchboard.model;

import java.net.InetAddress;
import java.util.Set;

/**
 * One validated endpoint of an EndpointSlice, with its conditions already defaulted as the discovery/v1 API
 * says: ready nil ⇒ true, serving nil ⇒ true, terminating nil ⇒ false.
 *
 * @param address     the endpoint's address ({@code addresses[0]}, as kube-proxy uses)
 * @param nodeName    the node it runs on, empty when unknown
 * @param ready       the ready condition
 * @param serving     the serving condition (ready, ignoring termination)
 * @param terminating the terminating condition
 * @param zoneHints   {@code hints.forZones} names
 * @param nodeHints   {@code hints.forNodes} names
 */
public record SliceEndpoint(
    InetAddress address,
    String nodeName,
    boolean ready,
    boolean serving,
    boolean terminating,
    Set<String> zoneHints,
    Set<String> nodeHints)
{
    /** Copies the hint sets so the endpoint is immutable. */
    public SliceEndpoint
    {
        zoneHints = Set.copyOf(zoneHints);
        nodeHints = Set.copyOf(nodeHints);
    }
}
