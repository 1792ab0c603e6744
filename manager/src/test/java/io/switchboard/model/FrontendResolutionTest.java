package io.switchboard.model;

import static io.switchboard.model.Fixtures.NAMESPACE;
import static io.switchboard.model.Fixtures.THIS_NODE;
import static io.switchboard.model.Fixtures.ip;
import static io.switchboard.model.Fixtures.key;
import static io.switchboard.model.Fixtures.nodePort;
import static io.switchboard.model.Fixtures.port;
import static io.switchboard.model.Fixtures.service;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Which Services get entries and on which frontends each service port answers. The node has InternalIP
 * 10.0.0.1 and ExternalIP 198.51.100.1.
 */
final class FrontendResolutionTest
{
    static Stream<Arguments> services()
    {
        return Stream.of(
            // The seed's clusterip-svc.yaml after the apiserver allocated its cluster IP.
            Arguments.of("seed clusterip-svc.yaml", seedClusterIp(),
                Map.of("shop/web-service:/TCP", List.of("CLUSTER_IP 10.96.0.10:80/TCP"))),
            // The seed's nodeport-svc.yaml: nodePort 30080 on every node address.
            Arguments.of("seed nodeport-svc.yaml", seedNodePort(),
                Map.of("shop/web-nodeport:/TCP", List.of("CLUSTER_IP 10.96.0.11:80/TCP",
                    "NODE_PORT 10.0.0.1:30080/TCP", "NODE_PORT 198.51.100.1:30080/TCP"))),
            // The seed's lb-svc.yaml once a nodePort is allocated and the load balancer reports an IP (no ipMode).
            Arguments.of("seed lb-svc.yaml, ingress ipMode unset", seedLoadBalancer(null),
                Map.of("shop/web-lb:/TCP", List.of("CLUSTER_IP 10.96.0.12:80/TCP",
                    "NODE_PORT 10.0.0.1:31380/TCP", "NODE_PORT 198.51.100.1:31380/TCP", "LOAD_BALANCER 203.0.113.10:80/TCP"))),
            Arguments.of("LoadBalancer ipMode VIP", seedLoadBalancer("VIP"),
                Map.of("shop/web-lb:/TCP", List.of("CLUSTER_IP 10.96.0.12:80/TCP",
                    "NODE_PORT 10.0.0.1:31380/TCP", "NODE_PORT 198.51.100.1:31380/TCP", "LOAD_BALANCER 203.0.113.10:80/TCP"))),
            Arguments.of("LoadBalancer ipMode Proxy gets no LB frontend", seedLoadBalancer("Proxy"),
                Map.of("shop/web-lb:/TCP", List.of("CLUSTER_IP 10.96.0.12:80/TCP",
                    "NODE_PORT 10.0.0.1:31380/TCP", "NODE_PORT 198.51.100.1:31380/TCP"))),
            Arguments.of("LoadBalancer hostname-only ingress gets no LB frontend",
                new ServiceBuilder(seedLoadBalancer(null)).editStatus().editLoadBalancer()
                    .withIngress(List.of()).addNewIngress().withHostname("lb.example.com").endIngress()
                    .endLoadBalancer().endStatus().build(),
                Map.of("shop/web-lb:/TCP", List.of("CLUSTER_IP 10.96.0.12:80/TCP",
                    "NODE_PORT 10.0.0.1:31380/TCP", "NODE_PORT 198.51.100.1:31380/TCP"))),
            Arguments.of("LoadBalancer without allocated nodePorts", new ServiceBuilder(seedLoadBalancer(null)).editSpec()
                    .withAllocateLoadBalancerNodePorts(false).withPorts(port(null, "TCP", 80, 8080)).endSpec().build(),
                Map.of("shop/web-lb:/TCP", List.of("CLUSTER_IP 10.96.0.12:80/TCP", "LOAD_BALANCER 203.0.113.10:80/TCP"))),
            Arguments.of("externalIP not assigned to any node (e2e 11)",
                new ServiceBuilder(seedClusterIp()).editSpec().withExternalIPs("203.0.113.250").endSpec().build(),
                Map.of("shop/web-service:/TCP", List.of("CLUSTER_IP 10.96.0.10:80/TCP", "EXTERNAL_IP 203.0.113.250:80/TCP"))),
            Arguments.of("headless (clusterIP None)", service("db", "None", port("pg", "TCP", 5432, 5432)).build(), Map.of()),
            Arguments.of("headless with an SCTP port is accepted (it gets no entries)",
                service("diameter", "None", port("sctp", "SCTP", 3868, 3868), port("tcp", "TCP", 3868, 3868)).build(), Map.of()),
            Arguments.of("clusterIP not allocated yet", new ServiceBuilder(seedClusterIp()).editSpec()
                .withClusterIP(null).withClusterIPs(List.of()).endSpec().build(), Map.of()),
            Arguments.of("ExternalName", new ServiceBuilder()
                .withNewMetadata().withNamespace(NAMESPACE).withName("ext").endMetadata()
                .withNewSpec().withType("ExternalName").withExternalName("db.example.com").endSpec().build(), Map.of()),
            Arguments.of("labelled service-proxy-name (any value)", new ServiceBuilder(seedClusterIp()).editMetadata()
                .addToLabels(ServiceValidator.SERVICE_PROXY_NAME_LABEL, "").endMetadata().build(), Map.of()),
            Arguments.of("labelled headless", new ServiceBuilder(seedClusterIp()).editMetadata()
                .addToLabels(ServiceValidator.HEADLESS_LABEL, "").endMetadata().build(), Map.of()),
            Arguments.of("multi-port (e2e 2)", service("multi", "10.96.0.20",
                    port("http", "TCP", 80, 8080), port("https", "TCP", 443, 8443)).build(),
                Map.of("shop/multi:http/TCP", List.of("CLUSTER_IP 10.96.0.20:80/TCP"),
                    "shop/multi:https/TCP", List.of("CLUSTER_IP 10.96.0.20:443/TCP"))),
            Arguments.of("TCP and UDP on the same port number are two service ports (e2e 12)", new ServiceBuilder(
                    service("dns", "10.96.0.10", nodePort("dns-tcp", "TCP", 53, 53, 30053), nodePort("dns-udp", "UDP", 53, 53, 30053)).build())
                    .editSpec().withType("NodePort").endSpec().build(),
                Map.of("shop/dns:dns-tcp/TCP", List.of("CLUSTER_IP 10.96.0.10:53/TCP", "NODE_PORT 10.0.0.1:30053/TCP", "NODE_PORT 198.51.100.1:30053/TCP"),
                    "shop/dns:dns-udp/UDP", List.of("CLUSTER_IP 10.96.0.10:53/UDP", "NODE_PORT 10.0.0.1:30053/UDP", "NODE_PORT 198.51.100.1:30053/UDP"))),
            Arguments.of("dual-stack cluster IPs", new ServiceBuilder(seedClusterIp()).editSpec()
                    .withClusterIPs("10.96.0.10", "fd00:10:96::a").withIpFamilies("IPv4", "IPv6").withIpFamilyPolicy("PreferDualStack").endSpec().build(),
                Map.of("shop/web-service:/TCP", List.of("CLUSTER_IP 10.96.0.10:80/TCP", "CLUSTER_IP [fd00:10:96::a]:80/TCP"))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("services")
    void resolvesFrontends(final String name, final Service service, final Map<String, List<String>> expected)
    {
        final ClusterModel model = Fixtures.modelWithNode();

        model.upsert(service);

        assertThat(frontends(model)).isEqualTo(new TreeMap<>(expected));
    }

    @Test
    void nodeIpFlagReplacesTheNodeObjectsAddresses()
    {
        final ClusterModel model = new ClusterModel(ModelConfig.forNode(THIS_NODE).withNodeIps(List.of(ip("192.0.2.7"))));
        model.upsert(Fixtures.node(THIS_NODE, "zone-a", "10.0.0.1", "198.51.100.1"));

        model.upsert(seedNodePort());

        assertThat(frontends(model)).containsExactly(Map.entry("shop/web-nodeport:/TCP",
            List.of("CLUSTER_IP 10.96.0.11:80/TCP", "NODE_PORT 192.0.2.7:30080/TCP")));
    }

    @Test
    void eachFrontendKnowsItsScopeSourceRangesAndAffinity()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(new ServiceBuilder(seedLoadBalancer(null)).editSpec()
            .withExternalIPs("203.0.113.250")
            .withLoadBalancerSourceRanges("192.0.2.0/24", " 198.51.100.0/24 ")
            .withSessionAffinity("ClientIP")
            .endSpec().build());

        final ServicePortState state = model.state(key("web-lb", "", Protocol.TCP));

        assertThat(state.frontends()).extracting(Frontend::kind, Frontend::scope, Frontend::sourceRangesApply, Frontend::affinityTimeoutSeconds)
            .containsExactly(
                org.assertj.core.groups.Tuple.tuple(FrontendKind.CLUSTER_IP, TrafficScope.INTERNAL, false, 10800),
                org.assertj.core.groups.Tuple.tuple(FrontendKind.NODE_PORT, TrafficScope.EXTERNAL, false, 10800),
                org.assertj.core.groups.Tuple.tuple(FrontendKind.NODE_PORT, TrafficScope.EXTERNAL, false, 10800),
                org.assertj.core.groups.Tuple.tuple(FrontendKind.LOAD_BALANCER, TrafficScope.EXTERNAL, true, 10800),
                org.assertj.core.groups.Tuple.tuple(FrontendKind.EXTERNAL_IP, TrafficScope.EXTERNAL, false, 10800));
        assertThat(state.sourceRanges()).extracting(Cidr::toString).containsExactly("192.0.2.0/24", "198.51.100.0/24");
    }

    @Test
    void nodePortsAppearWhenThisNodesNodeArrives()
    {
        final ClusterModel model = new ClusterModel(ModelConfig.forNode(THIS_NODE));
        model.upsert(seedNodePort());
        assertThat(frontends(model).get("shop/web-nodeport:/TCP")).containsExactly("CLUSTER_IP 10.96.0.11:80/TCP");

        final ModelChanges changes = model.upsert(Fixtures.node(THIS_NODE, "zone-a", "10.0.0.1", "198.51.100.1"));

        assertThat(changes.changed()).containsExactly(key("web-nodeport", "", Protocol.TCP));
        assertThat(frontends(model).get("shop/web-nodeport:/TCP")).hasSize(3);
        assertThat(model.upsert(Fixtures.node("some-other-node", "zone-b", "10.0.0.2", "198.51.100.2"))).isEqualTo(ModelChanges.NONE);
    }

    static Service seedClusterIp()
    {
        return new ServiceBuilder(service("web-service", "10.96.0.10", port(null, "TCP", 80, 8080)).build())
            .editSpec().withSelector(Map.of("app", "web-app")).endSpec().build();
    }

    static Service seedNodePort()
    {
        return new ServiceBuilder(service("web-nodeport", "10.96.0.11", nodePort(null, "TCP", 80, 8080, 30080)).build())
            .editSpec().withType("NodePort").withSelector(Map.of("app", "web-app")).endSpec().build();
    }

    static Service seedLoadBalancer(final String ipMode)
    {
        return new ServiceBuilder(service("web-lb", "10.96.0.12", nodePort(null, "TCP", 80, 8080, 31380)).build())
            .editSpec().withType("LoadBalancer").withSelector(Map.of("app", "web-app")).endSpec()
            .withNewStatus().withNewLoadBalancer().addNewIngress().withIp("203.0.113.10").withIpMode(ipMode).endIngress().endLoadBalancer().endStatus()
            .build();
    }

    private static Map<String, List<String>> frontends(final ClusterModel model)
    {
        final Map<String, List<String>> frontends = new TreeMap<>();
        for (final ServicePortState state : model.states())
        {
            frontends.put(state.key().toString(), state.frontends().stream().map(Frontend::toString).toList());
        }
        return frontends;
    }
}
