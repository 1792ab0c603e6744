package io.switchboard.model;

import static io.switchboard.model.Fixtures.OTHER_NODE;
import static io.switchboard.model.Fixtures.THIS_NODE;
import static io.switchboard.model.Fixtures.endpoint;
import static io.switchboard.model.Fixtures.key;
import static io.switchboard.model.Fixtures.namedTargetPort;
import static io.switchboard.model.Fixtures.nodePort;
import static io.switchboard.model.Fixtures.port;
import static io.switchboard.model.Fixtures.ready;
import static io.switchboard.model.Fixtures.service;
import static io.switchboard.model.Fixtures.slice;
import static io.switchboard.model.Fixtures.slicePort;
import static io.switchboard.model.Fixtures.terminating;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Endpoints of a service port resolved from its EndpointSlices on node-a: port matching by name and protocol,
 * named targetPorts, several slices, traffic policies, REFUSE versus DROP, and the health check count.
 */
final class EndpointResolutionTest
{
    /** What one case expects of the "web:http/TCP" service port. */
    private record Expected(
        List<String> internal, TrafficOutcome internalOutcome, List<String> external, TrafficOutcome externalOutcome, int localReady)
    {
    }

    static Stream<Arguments> cases()
    {
        final Service clusterIp = service("web", "10.96.0.30", namedTargetPort("http", "TCP", 80, "http-web")).build();
        final Service itpLocal = new ServiceBuilder(clusterIp).editSpec().withInternalTrafficPolicy("Local").endSpec().build();
        final Service publishNotReady = new ServiceBuilder(clusterIp).editSpec().withPublishNotReadyAddresses(true).endSpec().build();
        final Service etpLocal = new ServiceBuilder(service("web", "10.96.0.30", nodePort("http", "TCP", 80, 8080, 30300)).build())
            .editSpec().withType("LoadBalancer").withExternalTrafficPolicy("Local").withHealthCheckNodePort(31999).endSpec().build();
        final Service nodePortCluster = new ServiceBuilder(service("web", "10.96.0.30", nodePort("http", "TCP", 80, 8080, 30300)).build())
            .editSpec().withType("NodePort").endSpec().build();
        final var http = List.of(slicePort("http", "TCP", 8080));

        return Stream.of(
            row("ready endpoints across two slices", clusterIp,
                List.of(slice("web-1", "web", http, ready("10.244.1.5", OTHER_NODE)), slice("web-2", "web", http, ready("10.244.0.7", THIS_NODE))),
                internalOnly(List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, 1)),
            row("no EndpointSlice: refused at once (e2e 29)", clusterIp, List.of(),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("only unready endpoints: refused (e2e 20, 30)", clusterIp,
                List.of(slice("web-1", "web", http, endpoint("10.244.1.5", OTHER_NODE, false, false, false), endpoint("10.244.0.7", THIS_NODE, false, false, true))),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("publishNotReadyAddresses: the controller marks unready and terminating pods ready (e2e 18, 19)", publishNotReady,
                List.of(slice("web-1", "web", http, endpoint("10.244.1.5", OTHER_NODE, true, false, false), endpoint("10.244.0.7", THIS_NODE, true, false, true))),
                internalOnly(List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, 1)),
            row("named targetPort resolves to a different number per slice", clusterIp,
                List.of(slice("web-v1", "web", List.of(slicePort("http", "TCP", 8080)), ready("10.244.1.5", OTHER_NODE)),
                    slice("web-v2", "web", List.of(slicePort("http", "TCP", 9090)), ready("10.244.1.6", OTHER_NODE))),
                internalOnly(List.of("10.244.1.5:8080", "10.244.1.6:9090"), TrafficOutcome.FORWARD, 0)),
            row("slice port with another name is not this service port's", clusterIp,
                List.of(slice("web-1", "web", List.of(slicePort("metrics", "TCP", 9100)), ready("10.244.1.5", OTHER_NODE))),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("slice port with another protocol is not this service port's", clusterIp,
                List.of(slice("web-1", "web", List.of(slicePort("http", "UDP", 8080)), ready("10.244.1.5", OTHER_NODE))),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("slice of another Service is ignored", clusterIp,
                List.of(slice("api-1", "api", http, ready("10.244.1.5", OTHER_NODE))),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("FQDN slice is ignored", clusterIp,
                List.of(new EndpointSliceBuilder(slice("web-fqdn", "web", http)).withAddressType("FQDN")
                    .addNewEndpoint().withAddresses("backend.example.com").endEndpoint().build()),
                internalOnly(List.of(), TrafficOutcome.REFUSE, 0)),
            row("an endpoint in two slices counts once, the local copy wins", clusterIp,
                List.of(slice("web-1", "web", http, ready("10.244.0.7", "")), slice("web-2", "web", http, ready("10.244.0.7", THIS_NODE))),
                internalOnly(List.of("10.244.0.7:8080"), TrafficOutcome.FORWARD, 1)),
            row("conditions unset mean ready", clusterIp,
                List.of(slice("web-1", "web", http, endpoint("10.244.1.5", OTHER_NODE, null, null, null))),
                internalOnly(List.of("10.244.1.5:8080"), TrafficOutcome.FORWARD, 0)),
            row("no ready endpoint: fall back to terminating, ITP=Cluster (e2e 35)", clusterIp,
                List.of(slice("web-1", "web", http, terminating("10.244.1.5", OTHER_NODE), endpoint("10.244.0.8", THIS_NODE, false, false, true))),
                internalOnly(List.of("10.244.1.5:8080"), TrafficOutcome.FORWARD, 0)),
            row("ITP=Local, local terminating endpoint serves local clients (e2e 36)", itpLocal,
                List.of(slice("web-1", "web", http, terminating("10.244.0.7", THIS_NODE), ready("10.244.1.5", OTHER_NODE))),
                new Expected(List.of("10.244.0.7:8080"), TrafficOutcome.FORWARD, List.of(), TrafficOutcome.REFUSE, 0)),
            row("ITP=Local, endpoints only elsewhere: dropped (e2e 31)", itpLocal,
                List.of(slice("web-1", "web", http, ready("10.244.1.5", OTHER_NODE))),
                new Expected(List.of(), TrafficOutcome.DROP, List.of(), TrafficOutcome.REFUSE, 0)),
            row("ITP=Local, no endpoints anywhere: refused", itpLocal, List.of(),
                new Expected(List.of(), TrafficOutcome.REFUSE, List.of(), TrafficOutcome.REFUSE, 0)),
            row("ETP=Cluster NodePort, only terminating endpoints (e2e 37)", nodePortCluster,
                List.of(slice("web-1", "web", http, terminating("10.244.1.5", OTHER_NODE), terminating("10.244.0.7", THIS_NODE))),
                new Expected(List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, 0)),
            row("ETP=Local, local ready endpoint: health check 200", etpLocal,
                List.of(slice("web-1", "web", http, ready("10.244.0.7", THIS_NODE), ready("10.244.1.5", OTHER_NODE))),
                new Expected(List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, List.of("10.244.0.7:8080"), TrafficOutcome.FORWARD, 1)),
            row("ETP=Local, only terminating endpoints: NodePort serves the local one, health check 503 (e2e 34, 38)", etpLocal,
                List.of(slice("web-1", "web", http, terminating("10.244.0.7", THIS_NODE), terminating("10.244.1.5", OTHER_NODE))),
                new Expected(List.of("10.244.0.7:8080", "10.244.1.5:8080"), TrafficOutcome.FORWARD, List.of("10.244.0.7:8080"), TrafficOutcome.FORWARD, 0)),
            row("ETP=Local, endpoints only elsewhere: external traffic dropped, ClusterIP served", etpLocal,
                List.of(slice("web-1", "web", http, ready("10.244.1.5", OTHER_NODE))),
                new Expected(List.of("10.244.1.5:8080"), TrafficOutcome.FORWARD, List.of(), TrafficOutcome.DROP, 0)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void resolvesEndpoints(final String name, final Service service, final List<EndpointSlice> slices, final Expected expected)
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(service);
        slices.forEach(model::upsert);

        final ServicePortState state = model.state(key("web", "http", Protocol.TCP));

        assertThat(addresses(state.internal())).as("internal endpoints").isEqualTo(expected.internal());
        assertThat(state.internal().outcome(IpFamily.IPV4)).as("internal outcome").isEqualTo(expected.internalOutcome());
        assertThat(addresses(state.external())).as("external endpoints").isEqualTo(expected.external());
        assertThat(state.external().outcome(IpFamily.IPV4)).as("external outcome").isEqualTo(expected.externalOutcome());
        assertThat(state.localReadyEndpoints(IpFamily.IPV4)).as("local ready endpoints").isEqualTo(expected.localReady());
        assertThat(state.healthCheckStatus(IpFamily.IPV4)).as("health check status").isEqualTo(expected.localReady() > 0 ? 200 : 503);
    }

    @org.junit.jupiter.api.Test
    void etpLocalKeepsClusterWideEndpointsForTrafficStartingOnThisNode()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(new ServiceBuilder(service("web", "10.96.0.30", nodePort("http", "TCP", 80, 8080, 30300)).build())
            .editSpec().withType("LoadBalancer").withExternalTrafficPolicy("Local").withHealthCheckNodePort(31999).endSpec().build());
        model.upsert(slice("web-1", "web", List.of(slicePort("http", "TCP", 8080)), ready("10.244.1.5", OTHER_NODE)));

        final ServicePortState state = model.state(key("web", "http", Protocol.TCP));

        assertThat(state.healthCheckNodePort()).isEqualTo(31999);
        assertThat(addresses(state.external())).isEmpty();
        assertThat(addresses(state.clusterWide())).containsExactly("10.244.1.5:8080");
        final Frontend nodePortFrontend = state.frontends().stream().filter(f -> f.kind() == FrontendKind.NODE_PORT).findFirst().orElseThrow();
        assertThat(state.outcomeFor(nodePortFrontend)).isEqualTo(TrafficOutcome.DROP);
    }

    @org.junit.jupiter.api.Test
    void eachIpFamilyIsChosenOnItsOwn()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(new ServiceBuilder(service("web", "10.96.0.30", port("http", "TCP", 80, 8080)).build())
            .editSpec().withClusterIPs("10.96.0.30", "fd00:10:96::30").endSpec().build());
        model.upsert(slice("web-v4", "web", List.of(slicePort("http", "TCP", 8080)), ready("10.244.1.5", OTHER_NODE)));
        model.upsert(slice("web-v6", "web", List.of(slicePort("http", "TCP", 8080)), terminating("fd00:244::5", OTHER_NODE)));

        final ServicePortState state = model.state(key("web", "http", Protocol.TCP));

        // IPv6 has no ready endpoint, so it falls back to its terminating one although IPv4 has a ready one.
        assertThat(addresses(state.internal())).containsExactly("10.244.1.5:8080", "fd00:244::5:8080");
        assertThat(state.internal().endpoints(IpFamily.IPV6)).hasSize(1);
        assertThat(state.frontends()).allSatisfy(frontend -> assertThat(state.outcomeFor(frontend)).isEqualTo(TrafficOutcome.FORWARD));
        model.deleteEndpointSlice(new NamespacedName(Fixtures.NAMESPACE, "web-v6"));
        assertThat(model.state(key("web", "http", Protocol.TCP)).internal().outcome(IpFamily.IPV6)).isEqualTo(TrafficOutcome.REFUSE);
    }

    /** A ClusterIP-only port: no external frontends, so no external choice. */
    private static Expected internalOnly(final List<String> internal, final TrafficOutcome outcome, final int localReady)
    {
        return new Expected(internal, outcome, List.of(), TrafficOutcome.REFUSE, localReady);
    }

    private static Arguments row(final String name, final Service service, final List<EndpointSlice> slices, final Expected expected)
    {
        return Arguments.of(name, service, slices, expected);
    }

    private static List<String> addresses(final EndpointSelection selection)
    {
        return selection.endpoints().stream().map(endpoint -> IpAddresses.format(endpoint.address()) + ":" + endpoint.port()).toList();
    }
}
