package io.switchboard.model;

import static io.switchboard.model.Fixtures.NAMESPACE;
import static io.switchboard.model.Fixtures.OTHER_NODE;
import static io.switchboard.model.Fixtures.THIS_NODE;
import static io.switchboard.model.Fixtures.endpoint;
import static io.switchboard.model.Fixtures.nodePort;
import static io.switchboard.model.Fixtures.port;
import static io.switchboard.model.Fixtures.ready;
import static io.switchboard.model.Fixtures.service;
import static io.switchboard.model.Fixtures.slice;
import static io.switchboard.model.Fixtures.slicePort;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Each update reports exactly the service ports it added, changed or removed, so the caller rewrites only
 * those (invariant 3). The starting model holds node-a, Service "a" (ports http/TCP and admin/TCP, with one
 * ready endpoint) and NodePort Service "b" (port http/TCP, one endpoint).
 */
final class ChangeTrackingTest
{
    private static final List<io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort> HTTP = List.of(slicePort("http", "TCP", 8080));

    /** What one update is expected to report, as {@code ServicePortKey} strings. */
    private record Expected(Set<String> added, Set<String> changed, Set<String> removed)
    {
    }

    static Stream<Arguments> updates()
    {
        return Stream.of(
            update("a new Service adds its ports", m -> m.upsert(service("c", "10.96.0.3", port("dns", "UDP", 53, 53)).build()),
                expect(Set.of("shop/c:dns/UDP"), Set.of(), Set.of())),
            update("re-upserting an identical Service changes nothing", m -> m.upsert(serviceA()), nothing()),
            update("a Service with only new metadata changes nothing", m -> m.upsert(new ServiceBuilder(serviceA())
                .editMetadata().withResourceVersion("42").addToAnnotations("note", "x").endMetadata().build()), nothing()),
            update("an EndpointSlice of A changes only A's matching port",
                m -> m.upsert(slice("a-1", "a", HTTP, ready("10.244.1.5", OTHER_NODE), ready("10.244.0.9", THIS_NODE))),
                expect(Set.of(), Set.of("shop/a:http/TCP"), Set.of())),
            update("re-upserting an identical EndpointSlice changes nothing", m -> m.upsert(sliceA()), nothing()),
            update("an EndpointSlice gaining an endpoint nobody may use changes nothing",
                m -> m.upsert(slice("a-1", "a", HTTP, ready("10.244.1.5", OTHER_NODE), endpoint("10.244.1.6", OTHER_NODE, false, false, false))),
                nothing()),
            update("an EndpointSlice of an unknown Service changes nothing", m -> m.upsert(slice("z-1", "z", HTTP, ready("10.244.1.7", OTHER_NODE))), nothing()),
            update("an EndpointSlice moving from A to B changes both",
                m -> m.upsert(new EndpointSliceBuilder(sliceA()).editMetadata().addToLabels(EndpointSliceValidator.SERVICE_NAME_LABEL, "b").endMetadata().build()),
                expect(Set.of(), Set.of("shop/a:http/TCP", "shop/b:http/TCP"), Set.of())),
            update("deleting A's EndpointSlice changes A's port", m -> m.delete(sliceA()), expect(Set.of(), Set.of("shop/a:http/TCP"), Set.of())),
            update("deleting a Service removes its ports", m -> m.delete(serviceA()), expect(Set.of(), Set.of(), Set.of("shop/a:http/TCP", "shop/a:admin/TCP"))),
            update("deleting an unknown Service changes nothing", m -> m.deleteService(new NamespacedName(NAMESPACE, "z")), nothing()),
            update("removing a port removes only that port (e2e 3)",
                m -> m.upsert(new ServiceBuilder(serviceA()).editSpec().withPorts(port("http", "TCP", 80, 8080)).endSpec().build()),
                expect(Set.of(), Set.of(), Set.of("shop/a:admin/TCP"))),
            update("labelling for another proxy removes the ports (e2e 27)",
                m -> m.upsert(new ServiceBuilder(serviceA()).editMetadata().addToLabels(ServiceValidator.SERVICE_PROXY_NAME_LABEL, "foo-bar").endMetadata().build()),
                expect(Set.of(), Set.of(), Set.of("shop/a:http/TCP", "shop/a:admin/TCP"))),
            update("removing the headless label restores the ports (e2e 28)", m ->
                {
                    m.upsert(new ServiceBuilder(serviceA()).editMetadata().addToLabels(ServiceValidator.HEADLESS_LABEL, "").endMetadata().build());
                    return m.upsert(serviceA());
                },
                expect(Set.of("shop/a:http/TCP", "shop/a:admin/TCP"), Set.of(), Set.of())),
            update("ClusterIP to ExternalName removes the ports (e2e 15)",
                m -> m.upsert(new ServiceBuilder(serviceA()).editSpec().withType("ExternalName").withExternalName("a.example.com")
                    .withClusterIP(null).withClusterIPs(List.of()).endSpec().build()),
                expect(Set.of(), Set.of(), Set.of("shop/a:http/TCP", "shop/a:admin/TCP"))),
            update("a new address on this node changes only NodePort Services",
                m -> m.upsert(Fixtures.node(THIS_NODE, "zone-a", "10.0.0.1", "198.51.100.99")),
                expect(Set.of(), Set.of("shop/b:http/TCP"), Set.of())),
            update("an identical Node changes nothing", m -> m.upsert(Fixtures.node(THIS_NODE, "zone-a", "10.0.0.1", "198.51.100.1")), nothing()),
            update("a new zone without topology hints changes nothing", m -> m.upsert(Fixtures.node(THIS_NODE, "zone-b", "10.0.0.1", "198.51.100.1")), nothing()),
            update("another node's Node changes nothing", m -> m.upsert(Fixtures.node(OTHER_NODE, "zone-b", "10.0.0.2", "198.51.100.2")), nothing()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("updates")
    void reportsOnlyWhatChanged(final String name, final Function<ClusterModel, ModelChanges> update, final Expected expected)
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(serviceA());
        model.upsert(sliceA());
        model.upsert(new ServiceBuilder(service("b", "10.96.0.2", nodePort("http", "TCP", 80, 8080, 30002)).build()).editSpec().withType("NodePort").endSpec().build());
        model.upsert(slice("b-1", "b", HTTP, ready("10.244.2.5", OTHER_NODE)));

        final ModelChanges changes = update.apply(model);

        assertThat(strings(changes.added())).as("added").isEqualTo(expected.added());
        assertThat(strings(changes.changed())).as("changed").isEqualTo(expected.changed());
        assertThat(strings(changes.removed())).as("removed").isEqualTo(expected.removed());
        assertThat(changes.isEmpty()).isEqualTo(expected.equals(nothing()));
    }

    private static Service serviceA()
    {
        return service("a", "10.96.0.1", port("http", "TCP", 80, 8080), port("admin", "TCP", 9000, 9000)).build();
    }

    private static EndpointSlice sliceA()
    {
        return slice("a-1", "a", HTTP, ready("10.244.1.5", OTHER_NODE));
    }

    private static Arguments update(final String name, final Function<ClusterModel, ModelChanges> update, final Expected expected)
    {
        return Arguments.of(name, update, expected);
    }

    private static Expected expect(final Set<String> added, final Set<String> changed, final Set<String> removed)
    {
        return new Expected(added, changed, removed);
    }

    private static Expected nothing()
    {
        return new Expected(Set.of(), Set.of(), Set.of());
    }

    private static Set<String> strings(final Set<ServicePortKey> keys)
    {
        return keys.stream().map(ServicePortKey::toString).collect(Collectors.toSet());
    }
}
