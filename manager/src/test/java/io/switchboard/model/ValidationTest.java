package io.switchboard.model;

import static io.switchboard.model.Fixtures.NAMESPACE;
import static io.switchboard.model.Fixtures.key;
import static io.switchboard.model.Fixtures.nodePort;
import static io.switchboard.model.Fixtures.port;
import static io.switchboard.model.Fixtures.ready;
import static io.switchboard.model.Fixtures.service;
import static io.switchboard.model.Fixtures.slice;
import static io.switchboard.model.Fixtures.slicePort;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every rejection names the kind, the object and the field, and leaves the model as it was (invariant 8).
 */
final class ValidationTest
{
    /** A valid LoadBalancer Service with two ports; each case breaks one field of it. */
    private static Service valid()
    {
        return new ServiceBuilder(service("web", "10.96.0.50", nodePort("http", "TCP", 80, 8080, 30080), nodePort("dns", "UDP", 53, 53, 30053)).build())
            .editSpec().withType("LoadBalancer").withExternalIPs("203.0.113.250").withLoadBalancerSourceRanges("192.0.2.0/24").endSpec()
            .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("203.0.113.10").endIngress().endLoadBalancer().endStatus()
            .build();
    }

    static Stream<Arguments> invalidServices()
    {
        return Stream.of(
            invalid("port 0", s -> s.editSpec().editFirstPort().withPort(0).endPort().endSpec(), "spec.ports[0].port", "not a port number"),
            invalid("port above 65535", s -> s.editSpec().editLastPort().withPort(70000).endPort().endSpec(), "spec.ports[1].port", "not a port number"),
            invalid("port missing", s -> s.editSpec().editFirstPort().withPort(null).endPort().endSpec(), "spec.ports[0].port", "required"),
            invalid("targetPort 0", s -> s.editSpec().editFirstPort().withTargetPort(new IntOrString(0)).endPort().endSpec(), "spec.ports[0].targetPort", "not a port number"),
            invalid("nodePort out of range", s -> s.editSpec().editLastPort().withNodePort(40000).endPort().endSpec(), "spec.ports[1].nodePort", "not in the valid node port range 30000-32767"),
            invalid("nodePort on a ClusterIP Service", s -> s.editSpec().withType("ClusterIP").endSpec().editStatus().withNewLoadBalancer().endLoadBalancer().endStatus(),
                "spec.ports[0].nodePort", "may only be set when type is NodePort or LoadBalancer"),
            invalid("same nodePort twice for one protocol", s -> s.editSpec().editLastPort().withProtocol("TCP").withNodePort(30080).endPort().endSpec(),
                "spec.ports[1].nodePort", "already used by spec.ports[0]"),
            invalid("SCTP", s -> s.editSpec().editLastPort().withProtocol("SCTP").endPort().endSpec(), "spec.ports[1].protocol", "SCTP is not supported"),
            invalid("unknown protocol", s -> s.editSpec().editFirstPort().withProtocol("ICMP").endPort().endSpec(), "spec.ports[0].protocol", "not TCP, UDP or SCTP"),
            invalid("duplicate port name", s -> s.editSpec().editLastPort().withName("http").endPort().endSpec(), "spec.ports[1].name", "'http' names more than one port"),
            invalid("duplicate port and protocol", s -> s.editSpec().editLastPort().withProtocol("TCP").withPort(80).withNodePort(30081).endPort().endSpec(),
                "spec.ports[1].port", "80/TCP is already port 'http'"),
            invalid("unknown type", s -> s.editSpec().withType("Ingress").endSpec(), "spec.type", "not ClusterIP, NodePort, LoadBalancer or ExternalName"),
            invalid("cluster IP does not parse", s -> s.editSpec().withClusterIP("10.96.0.300").withClusterIPs("10.96.0.300").endSpec(), "spec.clusterIPs[0]", "not an IP address"),
            invalid("cluster IP in BSD short form", s -> s.editSpec().withClusterIP("10.96").withClusterIPs(List.of()).endSpec(), "spec.clusterIP", "not an IP address"),
            invalid("clusterIP differs from clusterIPs[0]", s -> s.editSpec().withClusterIP("10.96.0.51").endSpec(), "spec.clusterIP", "differs from spec.clusterIPs[0]"),
            invalid("two cluster IPs of one family", s -> s.editSpec().withClusterIPs("10.96.0.50", "10.96.0.51").endSpec(), "spec.clusterIPs[1]", "one address of each IP family"),
            invalid("IPv6 cluster IP with a zone", s -> s.editSpec().withClusterIP("fe80::1%eth0").withClusterIPs("fe80::1%eth0").endSpec(), "spec.clusterIPs[0]", "no brackets or zone"),
            invalid("externalIP does not parse", s -> s.editSpec().addToExternalIPs("example.com").endSpec(), "spec.externalIPs[1]", "not an IP address"),
            invalid("LB ingress IP does not parse", s -> s.editStatus().editLoadBalancer().editFirstIngress().withIp("203.0.113").endIngress().endLoadBalancer().endStatus(),
                "status.loadBalancer.ingress[0].ip", "not an IP address"),
            invalid("LB ingress ipMode unknown", s -> s.editStatus().editLoadBalancer().editFirstIngress().withIpMode("DSR").endIngress().endLoadBalancer().endStatus(),
                "status.loadBalancer.ingress[0].ipMode", "not VIP or Proxy"),
            invalid("source range prefix too long", s -> s.editSpec().withLoadBalancerSourceRanges("192.0.2.0/33").endSpec(), "spec.loadBalancerSourceRanges[0]", "prefix"),
            invalid("source range without prefix", s -> s.editSpec().addToLoadBalancerSourceRanges("192.0.2.7").endSpec(), "spec.loadBalancerSourceRanges[1]", "not a CIDR"),
            invalid("unknown session affinity", s -> s.editSpec().withSessionAffinity("Cookie").endSpec(), "spec.sessionAffinity", "not None or ClientIP"),
            invalid("affinity timeout 0", s -> s.editSpec().withSessionAffinity("ClientIP").withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(0)
                .endClientIP().endSessionAffinityConfig().endSpec(), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "not within 1..86400"),
            invalid("affinity timeout above a day", s -> s.editSpec().withSessionAffinity("ClientIP").withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(86401)
                .endClientIP().endSessionAffinityConfig().endSpec(), "spec.sessionAffinityConfig.clientIP.timeoutSeconds", "not within 1..86400"),
            invalid("unknown externalTrafficPolicy", s -> s.editSpec().withExternalTrafficPolicy("Nearest").endSpec(), "spec.externalTrafficPolicy", "not Cluster or Local"),
            invalid("unknown internalTrafficPolicy", s -> s.editSpec().withInternalTrafficPolicy("Node").endSpec(), "spec.internalTrafficPolicy", "not Cluster or Local"),
            invalid("healthCheckNodePort without ETP=Local", s -> s.editSpec().withHealthCheckNodePort(31000).endSpec(), "spec.healthCheckNodePort", "only be set for type LoadBalancer"),
            invalid("healthCheckNodePort equal to a TCP nodePort", s -> s.editSpec().withExternalTrafficPolicy("Local").withHealthCheckNodePort(30080).endSpec(),
                "spec.healthCheckNodePort", "already the nodePort of port 'http'"),
            invalid("no name", s -> s.editMetadata().withName(null).endMetadata(), "metadata.name", "required"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidServices")
    void rejectsAnInvalidServiceNamingObjectAndFieldAndKeepsTheLastGoodState(
        final String name, final UnaryOperator<ServiceBuilder> breakIt, final String field, final String reason)
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());
        final List<ServicePortState> before = model.states();
        final Service broken = breakIt.apply(new ServiceBuilder(valid())).build();

        assertThatThrownBy(() -> model.upsert(broken))
            .isInstanceOfSatisfying(RejectedObjectException.class, rejection ->
            {
                assertThat(rejection.kind()).isEqualTo("Service");
                assertThat(rejection.object()).isEqualTo(NamespacedName.of(broken));
                assertThat(rejection.field()).isEqualTo(field);
                assertThat(rejection.reason()).contains(reason);
                assertThat(rejection.getMessage()).startsWith("Service " + NamespacedName.of(broken) + ": " + field + ": ");
            });
        assertThat(model.states()).containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void validBaseIsAccepted()
    {
        assertThat(Fixtures.modelWithNode().upsert(valid()).added()).containsExactlyInAnyOrder(
            key("web", "http", Protocol.TCP), key("web", "dns", Protocol.UDP));
    }

    static Stream<Arguments> invalidOtherObjects()
    {
        final var http = List.of(slicePort("http", "TCP", 8080));
        return Stream.of(
            Arguments.of("slice address does not parse", slice("web-1", "web", http, ready("10.244.1.500", "node-b")),
                "EndpointSlice", "shop/web-1", "endpoints[0].addresses[0]"),
            Arguments.of("IPv6 address in an IPv4 slice", new EndpointSliceBuilder(slice("web-1", "web", http, ready("10.244.1.5", "node-b"), ready("fd00::5", "node-b")))
                .withAddressType("IPv4").build(), "EndpointSlice", "shop/web-1", "endpoints[1].addresses[0]"),
            Arguments.of("endpoint without addresses", new EndpointSliceBuilder(slice("web-1", "web", http)).addNewEndpoint().endEndpoint().build(),
                "EndpointSlice", "shop/web-1", "endpoints[0].addresses"),
            Arguments.of("slice port 0", slice("web-1", "web", List.of(slicePort("http", "TCP", 0)), ready("10.244.1.5", "node-b")),
                "EndpointSlice", "shop/web-1", "ports[0].port"),
            Arguments.of("slice port protocol unknown", slice("web-1", "web", List.of(slicePort("http", "QUIC", 8080)), ready("10.244.1.5", "node-b")),
                "EndpointSlice", "shop/web-1", "ports[0].protocol"),
            Arguments.of("slice address type unknown", new EndpointSliceBuilder(slice("web-1", "web", http)).withAddressType("MAC").build(),
                "EndpointSlice", "shop/web-1", "addressType"),
            Arguments.of("node address does not parse", Fixtures.node(Fixtures.THIS_NODE, "zone-a", "10.0.0.1", "not-an-ip"),
                "Node", Fixtures.THIS_NODE, "status.addresses[2].address"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("invalidOtherObjects")
    void rejectsInvalidSlicesAndNodes(final String name, final HasMetadata object, final String kind, final String objectName, final String field)
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());
        model.upsert(slice("web-1", "web", List.of(slicePort("http", "TCP", 8080)), ready("10.244.1.5", "node-b")));
        final List<ServicePortState> before = model.states();

        assertThatThrownBy(() -> upsert(model, object))
            .isInstanceOfSatisfying(RejectedObjectException.class, rejection ->
            {
                assertThat(rejection.kind()).isEqualTo(kind);
                assertThat(rejection.object().toString()).isEqualTo(objectName);
                assertThat(rejection.field()).isEqualTo(field);
            });
        assertThat(model.states()).containsExactlyInAnyOrderElementsOf(before);
    }

    @Test
    void nodePortTakenByAnotherServiceIsRefusedForTheSameProtocolOnly()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());
        final Service other = new ServiceBuilder(service("api", "10.96.0.60", nodePort("http", "TCP", 8000, 8000, 30080)).build())
            .editSpec().withType("NodePort").endSpec().build();

        assertThatThrownBy(() -> model.upsert(other))
            .isInstanceOfSatisfying(RejectedObjectException.class, rejection ->
            {
                assertThat(rejection.object()).isEqualTo(new NamespacedName(NAMESPACE, "api"));
                assertThat(rejection.field()).isEqualTo("spec.ports[0].nodePort");
                assertThat(rejection.reason()).isEqualTo("port is already allocated: 30080/TCP belongs to Service shop/web");
            });
        assertThat(model.service(new NamespacedName(NAMESPACE, "api"))).isNull();

        final Service otherProtocol = new ServiceBuilder(other).editSpec().editFirstPort().withProtocol("UDP").endPort().endSpec().build();
        assertThat(model.upsert(otherProtocol).added()).containsExactly(key("api", "http", Protocol.UDP));
    }

    @Test
    void nodePortIsReleasedWhenItsServiceIsDeleted()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());
        final Service other = new ServiceBuilder(service("api", "10.96.0.60", nodePort("http", "TCP", 8000, 8000, 30080)).build())
            .editSpec().withType("NodePort").endSpec().build();

        model.delete(valid());

        assertThat(model.upsert(other).added()).containsExactly(key("api", "http", Protocol.TCP));
    }

    @Test
    void frontendTakenByAnotherServiceIsRefused()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());
        final Service other = new ServiceBuilder(service("api", "10.96.0.60", port("http", "TCP", 80, 8000)).build())
            .editSpec().withExternalIPs("203.0.113.250").endSpec().build();

        assertThatThrownBy(() -> model.upsert(other))
            .isInstanceOfSatisfying(RejectedObjectException.class, rejection ->
            {
                assertThat(rejection.field()).isEqualTo("spec.externalIPs[0]");
                assertThat(rejection.reason()).isEqualTo("203.0.113.250:80/TCP is already a frontend of Service shop/web");
            });
        final Service otherPort = new ServiceBuilder(other).editSpec().editFirstPort().withPort(8080).endPort().endSpec().build();
        assertThat(model.upsert(otherPort).added()).containsExactly(key("api", "http", Protocol.TCP));
    }

    @Test
    void aServiceMayKeepItsOwnNodePortsAcrossUpdates()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(valid());

        final ModelChanges changes = model.upsert(new ServiceBuilder(valid()).editSpec().withSessionAffinity("ClientIP").endSpec().build());

        assertThat(changes.changed()).hasSize(2);
    }

    private static Arguments invalid(final String name, final UnaryOperator<ServiceBuilder> breakIt, final String field, final String reason)
    {
        return Arguments.of(name, breakIt, field, reason);
    }

    private static void upsert(final ClusterModel model, final HasMetadata object)
    {
        switch (object)
        {
            case EndpointSlice slice -> model.upsert(slice);
            case Node node -> model.upsert(node);
            case Service service -> model.upsert(service);
            default -> throw new IllegalArgumentException("unexpected " + object.getKind());
        }
    }
}
