package io.switchboard.model;

import java.util.Set;

/**
 * An endpoint offered to {@link EndpointCategorizer}, with the topology hints that may narrow the choice.
 *
 * @param endpoint  the endpoint
 * @param zoneHints zones the EndpointSlice controller meant it for
 * @param nodeHints nodes the EndpointSlice controller meant it for
 */
public record EndpointCandidate(ServiceEndpoint endpoint, Set<String> zoneHints, Set<String> nodeHints)
{
    /** Copies the hint sets so the candidate is immutable. */
    public EndpointCandidate
    {
        zoneHints = Set.copyOf(zoneHints);
        nodeHints = Set.copyOf(nodeHints);
    }

    /** A candidate without hints. */
    public static EndpointCandidate unhinted(final ServiceEndpoint endpoint)
    {
        return new EndpointCandidate(endpoint, Set.of(), Set.of());
    }
}
