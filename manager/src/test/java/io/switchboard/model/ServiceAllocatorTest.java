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
        assertThat(third.getStatus().getLoadBalancer()).as("pending: no address left").isNull();
        assertThat(ServiceAllocator.pendingReason(third))
            .isEqualTo("PoolExhausted: every address of the IPv4 --lb-ip-pool (203.0.113.0/30) is taken");
        assertThat(first.getSpec().getPorts().get(0).getNodePort()).as("LoadBalancers get node ports").isNotNull();

        allocator.release(new NamespacedName("default", "lb1"));
        final Service retried = allocator.complete(seed("lb3", "LoadBalancer", null));
        assertThat(retried.getStatus().getLoadBalancer().getIngress()).hasSize(1);
        assertThat(ServiceAllocator.pendingReason(retried)).isNull();
    }

    private static ServiceAllocator pools(final String... pools)
    {
        return new ServiceAllocator(Cidr.parse("10.96.0.0/12"), NodePortRange.DEFAULT,
            java.util.Arrays.stream(pools).map(Cidr::parse).toList());
    }

    private static List<String> ingress(final Service service)
    {
        return null == service.getStatus() || null == service.getStatus().getLoadBalancer() ? List.of() :
            service.getStatus().getLoadBalancer().getIngress().stream().map(i -> i.getIp()).toList();
    }

    private static Service requesting(final String name, final String address)
    {
        return new ServiceBuilder(seed(name, "LoadBalancer", null)).editSpec().withLoadBalancerIP(address).endSpec()
            .build();
    }

    @Test
    void aRequestedAddressIsHonouredWhenFreeAndInAPoolElseTheServiceStaysPendingSayingWhy()
    {
        final ServiceAllocator allocator = pools("198.18.0.240/28");

        assertThat(ingress(allocator.complete(requesting("a", "198.18.0.250")))).containsExactly("198.18.0.250");
        final Service taken = allocator.complete(requesting("b", "198.18.0.250"));
        final Service outside = allocator.complete(requesting("c", "203.0.113.7"));
        final Service annotated = allocator.complete(new ServiceBuilder(seed("d", "LoadBalancer", null))
            .editMetadata().addToAnnotations("metallb.io/loadBalancerIPs", "198.18.0.251").endMetadata().build());

        assertThat(ingress(taken)).isEmpty();
        assertThat(ServiceAllocator.pendingReason(taken))
            .isEqualTo("AddressInUse: requested address 198.18.0.250 is used by default/a");
        assertThat(ServiceAllocator.pendingReason(outside))
            .isEqualTo("AddressNotInPool: requested address 203.0.113.7 is in no --lb-ip-pool (198.18.0.240/28)");
        assertThat(ingress(annotated)).containsExactly("198.18.0.251");
    }

    @Test
    void poolsAreRepeatableAndEachIpFamilyGetsAnAddressFromItsOwnPool()
    {
        final ServiceAllocator allocator = pools("198.18.0.240/30", "198.18.0.244/30", "fd00:18::f0/124");
        final Service dual = allocator.complete(new ServiceBuilder(seed("dual", "LoadBalancer", null))
            .editSpec().withIpFamilies("IPv4", "IPv6").endSpec().build());
        final Service v6 = allocator.complete(new ServiceBuilder(seed("v6", "LoadBalancer", null))
            .editSpec().withIpFamilies("IPv6").endSpec().build());
        // the first /30 holds two usable addresses (one went to "dual"): later IPv4 Services spill into the second
        final List<String> v4 = new java.util.ArrayList<>();
        for (final String name : List.of("x", "y", "z"))
        {
            v4.addAll(ingress(allocator.complete(seed(name, "LoadBalancer", null))));
        }

        assertThat(ingress(dual)).hasSize(2);
        assertThat(Cidr.parse("fd00:18::f0/124").contains(IpAddresses.parse(ingress(dual).get(1)))).isTrue();
        assertThat(ingress(v6)).hasSize(1).allMatch(ip -> ip.startsWith("fd00:18::f"));
        assertThat(v4).hasSize(3).anyMatch(ip -> Cidr.parse("198.18.0.244/30").contains(IpAddresses.parse(ip)));
        assertThat(ServiceAllocator.pendingReason(pools("198.18.0.240/28").complete(
            new ServiceBuilder(seed("only6", "LoadBalancer", null)).editSpec().withIpFamilies("IPv6").endSpec().build())))
            .isEqualTo("NoPoolForFamily: no --lb-ip-pool of the Service's IP family IPv6");
    }

    @Test
    void aRestoredAddressIsClaimedSoAReappliedManifestKeepsItAndOthersDoNotTakeIt()
    {
        final Service first = pools("198.18.0.240/28").complete(seed("web-lb", "LoadBalancer", null));
        final String address = ingress(first).get(0);

        // a restarted agent: the saved Service (with its address) first, then others, then the manifest again
        final ServiceAllocator restarted = pools("198.18.0.240/28");
        restarted.complete(first);
        final Service other = restarted.complete(requesting("other", address));
        final Service again = restarted.complete(seed("web-lb", "LoadBalancer", null));

        assertThat(ingress(again)).containsExactly(address);
        assertThat(ServiceAllocator.pendingReason(other)).startsWith("AddressInUse");
    }
}
