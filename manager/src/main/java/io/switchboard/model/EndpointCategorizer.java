package io.switchboard.model;

import java.util.List;
import java.util.function.Predicate;

/**
 * Chooses endpoints the way kube-proxy's {@code CategorizeEndpoints} (pkg/proxy/topology.go) does, for one IP
 * family of one service port:
 * <ul>
 *   <li>Cluster policy: ready endpoints, narrowed by topology hints when every ready endpoint carries hints
 *       and one matches this node; when none is ready anywhere, serving-and-terminating endpoints (topology
 *       ignored).</li>
 *   <li>Local policy: local ready endpoints; else local serving-and-terminating ones; else none.</li>
 *   <li>{@code hasAnyEndpoints}: some endpoint is ready or serving-and-terminating anywhere, which turns an
 *       empty choice from REFUSE into DROP.</li>
 * </ul>
 */
public final class EndpointCategorizer
{
    private EndpointCategorizer()
    {
    }

    /**
     * The outcome of categorizing.
     *
     * @param cluster         endpoints for Cluster traffic policy (empty when no traffic uses it)
     * @param local           endpoints for Local traffic policy (empty when no traffic uses it)
     * @param hasAnyEndpoints whether any usable endpoint exists cluster-wide
     */
    public record Categories(List<ServiceEndpoint> cluster, List<ServiceEndpoint> local, boolean hasAnyEndpoints)
    {
        /** Copies the lists so the result is immutable. */
        public Categories
        {
            cluster = List.copyOf(cluster);
            local = List.copyOf(local);
        }
    }

    /** Where this node sits, for topology hints. */
    public record Topology(String nodeName, String zone, boolean preferSameNodeHints)
    {
    }

    /**
     * Categorizes the endpoints of one service port (one family).
     *
     * @param endpoints           all endpoints of the service port, with their hints
     * @param internalPolicyLocal  internalTrafficPolicy is Local
     * @param externalPolicyLocal  externalTrafficPolicy is Local (on an externally accessible Service)
     * @param externallyAccessible the service port has a nodePort, a load balancer VIP or an externalIP
     * @param topology             this node's name and zone, and whether same-node hints are honoured
     */
    public static Categories categorize(
        final List<EndpointCandidate> endpoints,
        final boolean internalPolicyLocal,
        final boolean externalPolicyLocal,
        final boolean externallyAccessible,
        final Topology topology)
    {
        // External traffic needs Cluster endpoints even under externalTrafficPolicy Local: traffic from this
        // node's pods and host to an external address is short-circuited to them, as kube-proxy does.
        final boolean usesClusterEndpoints = !internalPolicyLocal || externallyAccessible;
        final boolean usesLocalEndpoints = internalPolicyLocal || (externalPolicyLocal && externallyAccessible);

        List<ServiceEndpoint> cluster = List.of();
        boolean hasAnyEndpoints = false;
        if (usesClusterEndpoints)
        {
            final TopologyMode mode = TopologyMode.fromHints(endpoints, topology);
            cluster = select(endpoints, candidate -> candidate.endpoint().ready() && mode.allows(candidate, topology));
            if (cluster.isEmpty())
            {
                // Nothing ready anywhere (a hint match guarantees a ready one): fall back to endpoints still
                // serving while they terminate, so rolling updates do not refuse connections.
                cluster = select(endpoints, candidate -> candidate.endpoint().servingTerminating());
            }
            hasAnyEndpoints = !cluster.isEmpty();
        }
        if (!usesLocalEndpoints)
        {
            return new Categories(cluster, List.of(), hasAnyEndpoints);
        }

        boolean hasLocalReady = false;
        boolean hasLocalServingTerminating = false;
        for (final EndpointCandidate candidate : endpoints)
        {
            final ServiceEndpoint endpoint = candidate.endpoint();
            if (endpoint.ready())
            {
                hasAnyEndpoints = true;
                hasLocalReady |= endpoint.local();
            }
            else if (endpoint.servingTerminating())
            {
                hasAnyEndpoints = true;
                hasLocalServingTerminating |= endpoint.local();
            }
        }
        final List<ServiceEndpoint> local;
        if (hasLocalReady)
        {
            local = select(endpoints, candidate -> candidate.endpoint().local() && candidate.endpoint().ready());
        }
        else if (hasLocalServingTerminating)
        {
            local = select(endpoints, candidate -> candidate.endpoint().local() && candidate.endpoint().servingTerminating());
        }
        else
        {
            local = List.of();
        }
        return new Categories(cluster, local, hasAnyEndpoints);
    }

    private static List<ServiceEndpoint> select(final List<EndpointCandidate> endpoints, final Predicate<EndpointCandidate> usable)
    {
        return endpoints.stream().filter(usable).map(EndpointCandidate::endpoint).toList();
    }

    /** How topology hints narrow Cluster-policy endpoints for this node. */
    private enum TopologyMode
    {
        NONE,
        PREFER_SAME_NODE,
        PREFER_SAME_ZONE;

        /**
         * Hints are used only when every ready endpoint carries them (a partial set means the controller is
         * mid-update) and at least one is meant for this node or zone; same-node hints win over zone hints.
         */
        static TopologyMode fromHints(final List<EndpointCandidate> endpoints, final Topology topology)
        {
            boolean allHaveNodeHints = true;
            boolean hasEndpointForNode = false;
            boolean allHaveZoneHints = true;
            boolean hasEndpointForZone = false;
            for (final EndpointCandidate candidate : endpoints)
            {
                if (!candidate.endpoint().ready())
                {
                    continue;
                }
                if (candidate.zoneHints().isEmpty())
                {
                    allHaveZoneHints = false;
                }
                else if (candidate.zoneHints().contains(topology.zone()))
                {
                    hasEndpointForZone = true;
                }
                if (candidate.nodeHints().isEmpty())
                {
                    allHaveNodeHints = false;
                }
                else if (candidate.nodeHints().contains(topology.nodeName()))
                {
                    hasEndpointForNode = true;
                }
            }
            if (topology.preferSameNodeHints() && allHaveNodeHints && hasEndpointForNode)
            {
                return PREFER_SAME_NODE;
            }
            if (allHaveZoneHints && hasEndpointForZone)
            {
                return PREFER_SAME_ZONE;
            }
            return NONE;
        }

        boolean allows(final EndpointCandidate candidate, final Topology topology)
        {
            return switch (this)
            {
                case NONE -> true;
                case PREFER_SAME_NODE -> candidate.nodeHints().contains(topology.nodeName());
                case PREFER_SAME_ZONE -> candidate.zoneHints().contains(topology.zone());
            };
        }
    }
}
