package io.switchboard.model;

import java.util.List;
import java.util.Set;

/**
 * The endpoints chosen for one traffic class (internal or external) of a service port, both IP families
 * together; each family was chosen on its own, as kube-proxy runs one proxier per family.
 *
 * @param endpoints                the chosen endpoints, in {@link ServiceEndpoint#ORDER}
 * @param familiesWithAnyEndpoints the families that have a usable (ready or serving-terminating) endpoint
 *                                 anywhere in the cluster, which decides DROP versus REFUSE
 */
public record EndpointSelection(List<ServiceEndpoint> endpoints, Set<IpFamily> familiesWithAnyEndpoints)
{
    /** Nothing chosen and nothing anywhere. */
    public static final EndpointSelection EMPTY = new EndpointSelection(List.of(), Set.of());

    /** Copies the collections so the selection is immutable. */
    public EndpointSelection
    {
        endpoints = List.copyOf(endpoints);
        familiesWithAnyEndpoints = Set.copyOf(familiesWithAnyEndpoints);
    }

    /** The chosen endpoints of one family. */
    public List<ServiceEndpoint> endpoints(final IpFamily family)
    {
        return endpoints.stream().filter(endpoint -> endpoint.family() == family).toList();
    }

    /** What a new connection of a family meets: FORWARD when endpoints were chosen, else DROP or REFUSE. */
    public TrafficOutcome outcome(final IpFamily family)
    {
        if (endpoints.stream().anyMatch(endpoint -> endpoint.family() == family))
        {
            return TrafficOutcome.FORWARD;
        }
        return familiesWithAnyEndpoints.contains(family) ? TrafficOutcome.DROP : TrafficOutcome.REFUSE;
    }
}
