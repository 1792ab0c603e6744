package io.switchboard.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The cases of kube-proxy's {@code TestCategorizeEndpoints} (pkg/proxy/topology_test.go), rewritten as a table:
 * topology hints, Cluster and Local policies for internal and external traffic, ready, serving and
 * terminating combinations, and the terminating fallbacks of the e2e tests 34-38.
 */
final class EndpointCategorizerTest
{
    private static final String NODE = "node-a";
    private static final String ZONE = "zone-a";

    /** How the service port is configured for one case. */
    private record Policy(boolean internalLocal, boolean externalLocal, boolean externallyAccessible)
    {
    }

    private static final Policy CLUSTER = new Policy(false, false, true);
    private static final Policy CLUSTER_IP_ONLY = new Policy(false, false, false);
    private static final Policy ITP_LOCAL = new Policy(true, false, false);
    private static final Policy ITP_LOCAL_ACCESSIBLE = new Policy(true, false, true);
    private static final Policy ETP_LOCAL = new Policy(false, true, true);
    private static final Policy ETP_LOCAL_NOT_ACCESSIBLE = new Policy(false, true, false);
    private static final Policy BOTH_LOCAL = new Policy(true, true, true);

    static Stream<Arguments> cases()
    {
        return Stream.of(
            // Topology hints (Cluster policy only).
            row("hints used: every endpoint hinted and one for this zone", CLUSTER, zoneTopology(),
                List.of(zoned("10.1.2.3", false, "zone-a"), zoned("10.1.2.4", false, "zone-b"),
                    zoned("10.1.2.5", false, "zone-c"), zoned("10.1.2.6", false, "zone-a")),
                Set.of("10.1.2.3", "10.1.2.6"), Set.of(), true),
            row("hints used for cluster endpoints, ignored for Local ones (ETP=Local)", ETP_LOCAL, zoneTopology(),
                List.of(zoned("10.1.2.3", true, "zone-a"), zoned("10.1.2.4", true, "zone-b"),
                    zoned("10.1.2.5", false, "zone-c"), zoned("10.1.2.6", false, "zone-a")),
                Set.of("10.1.2.3", "10.1.2.6"), Set.of("10.1.2.3", "10.1.2.4"), true),
            row("hints used for cluster endpoints, ignored for Local ones (ITP=Local)", ITP_LOCAL_ACCESSIBLE, zoneTopology(),
                List.of(zoned("10.1.2.3", true, "zone-a"), zoned("10.1.2.4", true, "zone-b"),
                    zoned("10.1.2.5", false, "zone-c"), zoned("10.1.2.6", false, "zone-a")),
                Set.of("10.1.2.3", "10.1.2.6"), Set.of("10.1.2.3", "10.1.2.4"), true),
            row("hints ignored: no endpoint hinted for this node's zone", CLUSTER, zoneTopology(),
                List.of(zoned("10.1.2.3", false, "zone-b"), zoned("10.1.2.4", false, "zone-c")),
                Set.of("10.1.2.3", "10.1.2.4"), Set.of(), true),
            row("hints ignored: node has no zone label", CLUSTER, new EndpointCategorizer.Topology(NODE, "", true),
                List.of(zoned("10.1.2.3", false, "zone-a"), zoned("10.1.2.4", false, "zone-b")),
                Set.of("10.1.2.3", "10.1.2.4"), Set.of(), true),
            row("hints ignored: one ready endpoint has no hints", CLUSTER, zoneTopology(),
                List.of(zoned("10.1.2.3", false, "zone-a"), zoned("10.1.2.4", false, "zone-b"), ready("10.1.2.5", false)),
                Set.of("10.1.2.3", "10.1.2.4", "10.1.2.5"), Set.of(), true),
            row("hints used: only ready endpoints need hints", CLUSTER, zoneTopology(),
                List.of(zoned("10.1.2.3", false, "zone-a"), zoned("10.1.2.4", false, "zone-b"),
                    candidate("10.1.2.5", false, false, false, false)),
                Set.of("10.1.2.3"), Set.of(), true),
            row("same-node hints win over zone hints", CLUSTER, zoneTopology(),
                List.of(hinted("10.1.2.3", "zone-a", NODE), hinted("10.1.2.4", "zone-a", "node-b"), hinted("10.1.2.5", "zone-b", "node-c")),
                Set.of("10.1.2.3"), Set.of(), true),
            row("same-node hints ignored without the PreferSameTrafficDistribution gate", CLUSTER,
                new EndpointCategorizer.Topology(NODE, ZONE, false),
                List.of(hinted("10.1.2.3", "zone-a", NODE), hinted("10.1.2.4", "zone-a", "node-b"), hinted("10.1.2.5", "zone-b", "node-c")),
                Set.of("10.1.2.3", "10.1.2.4"), Set.of(), true),
            row("same-node hints ignored unless every ready endpoint has one", CLUSTER, zoneTopology(),
                List.of(hinted("10.1.2.3", "zone-a", NODE), zoned("10.1.2.4", false, "zone-a"), zoned("10.1.2.5", false, "zone-b")),
                Set.of("10.1.2.3", "10.1.2.4"), Set.of(), true),
            row("terminating fallback ignores topology", CLUSTER, zoneTopology(),
                List.of(new EndpointCandidate(endpoint("10.1.2.3", false, false, true, true), Set.of("zone-b"), Set.of()),
                    new EndpointCandidate(endpoint("10.1.2.4", false, false, true, true), Set.of("zone-c"), Set.of())),
                Set.of("10.1.2.3", "10.1.2.4"), Set.of(), true),

            // Cluster policy and endpoint conditions.
            row("Cluster: only ready endpoints while any is ready", CLUSTER, zoneTopology(),
                List.of(ready("10.0.0.1", false), servingTerminating("10.0.0.2", false), candidate("10.0.0.3", false, false, false, true)),
                Set.of("10.0.0.1"), Set.of(), true),
            row("Cluster: no ready endpoint anywhere, fall back to serving+terminating (e2e 35, 37)", CLUSTER, zoneTopology(),
                List.of(servingTerminating("10.0.0.2", false), servingTerminating("10.0.0.5", true),
                    candidate("10.0.0.3", false, false, false, true), candidate("10.0.0.4", false, false, false, false)),
                Set.of("10.0.0.2", "10.0.0.5"), Set.of(), true),
            row("Cluster: nothing ready or serving anywhere", CLUSTER, zoneTopology(),
                List.of(candidate("10.0.0.3", false, false, false, true), candidate("10.0.0.4", true, false, false, false)),
                Set.of(), Set.of(), false),
            row("Cluster: ready+terminating (publishNotReadyAddresses) counts as ready", CLUSTER_IP_ONLY, zoneTopology(),
                List.of(candidate("10.0.0.1", false, true, true, true), candidate("10.0.0.2", false, false, false, false)),
                Set.of("10.0.0.1"), Set.of(), true),
            row("no endpoints at all", CLUSTER, zoneTopology(), List.of(), Set.of(), Set.of(), false),

            // internalTrafficPolicy: Local.
            row("ITP=Local: local ready endpoints only", ITP_LOCAL, zoneTopology(),
                List.of(ready("10.0.0.1", true), ready("10.0.0.2", false), servingTerminating("10.0.0.3", true)),
                Set.of(), Set.of("10.0.0.1"), true),
            row("ITP=Local: no local ready, fall back to local serving+terminating (e2e 36)", ITP_LOCAL, zoneTopology(),
                List.of(servingTerminating("10.0.0.1", true), ready("10.0.0.2", false)),
                Set.of(), Set.of("10.0.0.1"), true),
            row("ITP=Local: all endpoints remote (DROP)", ITP_LOCAL, zoneTopology(),
                List.of(ready("10.0.0.2", false), ready("10.0.0.3", false)),
                Set.of(), Set.of(), true),
            row("ITP=Local: all endpoints remote and terminating (DROP)", ITP_LOCAL, zoneTopology(),
                List.of(servingTerminating("10.0.0.2", false)),
                Set.of(), Set.of(), true),
            row("ITP=Local: local terminating but not serving is not used", ITP_LOCAL, zoneTopology(),
                List.of(candidate("10.0.0.1", true, false, false, true), ready("10.0.0.2", false)),
                Set.of(), Set.of(), true),
            row("ITP=Local: nothing usable anywhere (REFUSE)", ITP_LOCAL, zoneTopology(),
                List.of(candidate("10.0.0.1", true, false, false, true), candidate("10.0.0.2", false, false, false, false)),
                Set.of(), Set.of(), false),

            // externalTrafficPolicy: Local.
            row("ETP=Local: local ready for external, all ready for cluster", ETP_LOCAL, zoneTopology(),
                List.of(ready("10.0.0.1", true), ready("10.0.0.2", false)),
                Set.of("10.0.0.1", "10.0.0.2"), Set.of("10.0.0.1"), true),
            row("ETP=Local: only terminating endpoints (e2e 34, 38)", ETP_LOCAL, zoneTopology(),
                List.of(servingTerminating("10.0.0.1", true), servingTerminating("10.0.0.2", false)),
                Set.of("10.0.0.1", "10.0.0.2"), Set.of("10.0.0.1"), true),
            row("ETP=Local: no local endpoint (DROP externally)", ETP_LOCAL, zoneTopology(),
                List.of(ready("10.0.0.2", false)),
                Set.of("10.0.0.2"), Set.of(), true),
            row("ETP=Local: local serving+terminating used while remote ready exist", ETP_LOCAL, zoneTopology(),
                List.of(servingTerminating("10.0.0.1", true), ready("10.0.0.2", false)),
                Set.of("10.0.0.2"), Set.of("10.0.0.1"), true),
            row("ETP=Local ignored when the port is not externally accessible", ETP_LOCAL_NOT_ACCESSIBLE, zoneTopology(),
                List.of(ready("10.0.0.1", true), ready("10.0.0.2", false)),
                Set.of("10.0.0.1", "10.0.0.2"), Set.of(), true),
            row("ITP=Local and ETP=Local, all remote", BOTH_LOCAL, zoneTopology(),
                List.of(ready("10.0.0.2", false), ready("10.0.0.3", false)),
                Set.of("10.0.0.2", "10.0.0.3"), Set.of(), true),
            row("ITP=Local and ETP=Local, all remote and terminating", BOTH_LOCAL, zoneTopology(),
                List.of(servingTerminating("10.0.0.2", false)),
                Set.of("10.0.0.2"), Set.of(), true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void categorizesLikeKubeProxy(
        final String name,
        final Policy policy,
        final EndpointCategorizer.Topology topology,
        final List<EndpointCandidate> endpoints,
        final Set<String> expectedCluster,
        final Set<String> expectedLocal,
        final boolean expectedHasAny)
    {
        final EndpointCategorizer.Categories categories = EndpointCategorizer.categorize(
            endpoints, policy.internalLocal(), policy.externalLocal(), policy.externallyAccessible(), topology);

        assertThat(addresses(categories.cluster())).as("cluster endpoints").isEqualTo(expectedCluster);
        assertThat(addresses(categories.local())).as("local endpoints").isEqualTo(expectedLocal);
        assertThat(categories.hasAnyEndpoints()).as("hasAnyEndpoints").isEqualTo(expectedHasAny);
    }

    private static Arguments row(
        final String name,
        final Policy policy,
        final EndpointCategorizer.Topology topology,
        final List<EndpointCandidate> endpoints,
        final Set<String> cluster,
        final Set<String> local,
        final boolean hasAny)
    {
        return Arguments.of(name, policy, topology, endpoints, cluster, local, hasAny);
    }

    private static EndpointCategorizer.Topology zoneTopology()
    {
        return new EndpointCategorizer.Topology(NODE, ZONE, true);
    }

    private static Set<String> addresses(final List<ServiceEndpoint> endpoints)
    {
        return endpoints.stream().map(endpoint -> IpAddresses.format(endpoint.address())).collect(Collectors.toSet());
    }

    private static ServiceEndpoint endpoint(
        final String address, final boolean local, final boolean ready, final boolean serving, final boolean terminating)
    {
        return new ServiceEndpoint(IpAddresses.parse(address), 80, local, ready, serving, terminating);
    }

    private static EndpointCandidate candidate(
        final String address, final boolean local, final boolean ready, final boolean serving, final boolean terminating)
    {
        return EndpointCandidate.unhinted(endpoint(address, local, ready, serving, terminating));
    }

    private static EndpointCandidate ready(final String address, final boolean local)
    {
        return candidate(address, local, true, true, false);
    }

    private static EndpointCandidate servingTerminating(final String address, final boolean local)
    {
        return candidate(address, local, false, true, true);
    }

    private static EndpointCandidate zoned(final String address, final boolean local, final String zone)
    {
        return new EndpointCandidate(endpoint(address, local, true, true, false), Set.of(zone), Set.of());
    }

    private static EndpointCandidate hinted(final String address, final String zone, final String node)
    {
        return new EndpointCandidate(endpoint(address, false, true, true, false), Set.of(zone), Set.of(node));
    }
}
