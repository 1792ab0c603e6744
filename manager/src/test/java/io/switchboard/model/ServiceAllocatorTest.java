package io.switchboard.model;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class ServiceAllocatorTest
{
    private static ServiceAllocator allocator(final String pool)
    {
        return new ServiceAllocator(Cidr.parse("10.96.0.0/12"), NodePortRange.DEFAULT,
            null == pool ? List.of() : List.of(Cidr.parse(pool)));
    }

    private static Service seed(final String name, final String type, final Integer nodePort)
    {
        return new ServiceBuilder().withNewMetadata().withName(name).endMetadata()
            .withNewSpec().withType(type).addToSelector("app", "web-app")
            .addNewPort().withProtocol("TCP").withPort(80).withNewTargetPort(8080).withNodePort(nodePort).endPort()
            .endSpec().build();
    }

    @Test
    void aServiceWithoutClusterIpGetsOneInTheServiceCidrTheSameOnEveryNode()
    {
        final Service first = allocator(null).complete(seed("web-service", "ClusterIP", null));
        final Service second = allocator(null).complete(seed("web-service", "ClusterIP", null));

        assertThat(Cidr.parse("10.96.0.0/12").contains(IpAddresses.parse(first.getSpec().getClusterIP()))).isTrue();
        assertThat(first.getSpec().getClusterIPs()).containsExactly(first.getSpec().getClusterIP());
        assertThat(second.getSpec().getClusterIP()).isEqualTo(first.getSpec().getClusterIP());
    }

    @Test
    void reappliedServicesKeepTheirAllocationAndDistinctServicesDoNotCollide()
    {
        final ServiceAllocator allocator = allocator(null);
        final String once = allocator.complete(seed("a", "NodePort", null)).getSpec().getClusterIP();
        final Service again = allocator.complete(seed("a", "NodePort", null));
        final Service other = allocator.complete(seed("b", "NodePort", null));

        assertThat(again.getSpec().getClusterIP()).isEqualTo(once);
        assertThat(other.getSpec().getClusterIP()).isNotEqualTo(once);
        assertThat(other.getSpec().getPorts().get(0).getNodePort())
            .isNotEqualTo(again.getSpec().getPorts().get(0).getNodePort());
    }

    @Test
    void explicitValuesAreKeptAndMissingNodePortsAreAllocatedInRange()
    {
        final Service explicit = allocator(null).complete(new ServiceBuilder(seed("web", "NodePort", 30080))
            .editSpec().withClusterIP("10.96.0.10").endSpec().build());
        final Service allocated = allocator(null).complete(seed("web", "NodePort", null));

        assertThat(explicit.getSpec().getClusterIP()).isEqualTo("10.96.0.10");
        assertThat(explicit.getSpec().getPorts().get(0).getNodePort()).isEqualTo(30080);
        assertThat(allocated.getSpec().getPorts().get(0).getNodePort()).isBetween(30000, 32767);
    }

    @Test
    void headlessAndExternalNameServicesGetNoClusterIp()
    {
        final Service headless = allocator(null).complete(new ServiceBuilder(seed("db", "ClusterIP", null))
            .editSpec().withClusterIP("None").endSpec().build());
        final Service external = allocator(null).complete(new ServiceBuilder(seed("ext", "ExternalName", null))
            .editSpec().withExternalName("example.com").endSpec().build());

        assertThat(headless.getSpec().getClusterIP()).isEqualTo("None");
        assertThat(external.getSpec().getClusterIP()).isNull();
    }

    @Test
    void aLoadBalancerGetsAPoolAddressAsAVipAndStaysPendingWhenThePoolIsFull()
    {
        final ServiceAllocator allocator = allocator("203.0.113.0/30"); // two usable addresses
        final Service first = allocator.complete(seed("lb1", "LoadBalancer", null));
        final Service second = allocator.complete(seed("lb2", "LoadBalancer", null));
        final Service third = allocator.complete(seed("lb3", "LoadBalancer", null));

        final String firstIp = first.getStatus().getLoadBalancer().getIngress().get(0).getIp();
        assertThat(firstIp).isIn("203.0.113.1", "203.0.113.2");
        assertThat(first.getStatus().getLoadBalancer().getIngress().get(0).getIpMode()).isEqualTo("VIP");
        assertThat(second.getStatus().getLoadBalancer().getIngress().get(0).getIp()).isNotEqualTo(firstIp);
        assertThat(third.getStatus()).as("pending: no address left").isNull();
        assertThat(first.getSpec().getPorts().get(0).getNodePort()).as("LoadBalancers get node ports").isNotNull();

        allocator.release(new NamespacedName("default", "lb1"));
        assertThat(allocator.complete(seed("lb3", "LoadBalancer", null)).getStatus().getLoadBalancer().getIngress())
            .hasSize(1);
    }
}
