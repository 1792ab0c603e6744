package io.switchboard.model;

import java.util.List;
import java.util.Map;

/**
 * Everything this node's datapath needs for one service port, resolved from the Service, its EndpointSlices
 * and this node. Immutable; two equal states program the same entries, so the caller skips unchanged ports.
 *
 * @param key                    the service port
 * @param frontends              where it answers (ClusterIPs, NodePorts on node addresses, LB VIPs, externalIPs)
 * @param internal               endpoints for ClusterIP traffic (internalTrafficPolicy)
 * @param external               endpoints for NodePort, LB and externalIP traffic (externalTrafficPolicy);
 *                               {@link EndpointSelection#EMPTY} when the port has no external frontend
 * @param clusterWide            endpoints Cluster policy chooses; under externalTrafficPolicy Local, external
 *                               traffic that starts on this node (its pods, its host) uses these instead of
 *                               {@code external}, as kube-proxy short-circuits it. Empty when no traffic uses it.
 * @param affinityTimeoutSeconds ClientIP session affinity timeout, 0 for none
 * @param sourceRanges           {@code loadBalancerSourceRanges} for LB frontends, empty when unrestricted
 * @param healthCheckNodePort    the health check port (LoadBalancer with externalTrafficPolicy Local), else 0
 * @param localReadyEndpoints    per family, the ready endpoints on this node: the health check answers 200 when
 *                               there is at least one, else 503 (terminating ones do not count)
 */
public record ServicePortState(
    ServicePortKey key,
    List<Frontend> frontends,
    EndpointSelection internal,
    EndpointSelection external,
    EndpointSelection clusterWide,
    int affinityTimeoutSeconds,
    List<Cidr> sourceRanges,
    int healthCheckNodePort,
    Map<IpFamily, Integer> localReadyEndpoints)
{
    /** Copies the collections so the state is immutable. */
    public ServicePortState
    {
        frontends = List.copyOf(frontends);
        sourceRanges = List.copyOf(sourceRanges);
        localReadyEndpoints = Map.copyOf(localReadyEndpoints);
    }

    /** The endpoints governing traffic that arrives on a frontend. */
    public EndpointSelection selectionFor(final Frontend frontend)
    {
        return frontend.scope() == TrafficScope.INTERNAL ? internal : external;
    }

    /** What a new connection to a frontend meets. */
    public TrafficOutcome outcomeFor(final Frontend frontend)
    {
        return selectionFor(frontend).outcome(frontend.family());
    }

    /** Ready endpoints of a family on this node. */
    public int localReadyEndpoints(final IpFamily family)
    {
        return localReadyEndpoints.getOrDefault(family, 0);
    }

    /** The HTTP status the health check nodePort answers for a family: 200 with a local ready endpoint, else 503. */
    public int healthCheckStatus(final IpFamily family)
    {
        return localReadyEndpoints(family) > 0 ? 200 : 503;
    }
}
