package io.switchboard.endpoints;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.model.NamespacedName;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class EndpointsControllerTest
{
    private static Service service(final boolean publishNotReady, final Object targetPort)
    {
        final ServiceBuilder builder = new ServiceBuilder().withNewMetadata().withName("web").withNamespace("default")
            .endMetadata().withNewSpec().addToSelector("app", "web").withPublishNotReadyAddresses(publishNotReady)
            .addNewPort().withName("http").withProtocol("TCP").withPort(80).endPort().endSpec();
        final Service service = builder.build();
        service.getSpec().getPorts().get(0).setTargetPort(targetPort instanceof Integer number ?
            new io.fabric8.kubernetes.api.model.IntOrString(number) :
            new io.fabric8.kubernetes.api.model.IntOrString((String)targetPort));
        return service;
    }

    private static Pod pod(final String name, final String ip, final boolean ready, final boolean deleting,
        final String app, final int namedPort)
    {
        final PodBuilder builder = new PodBuilder().withNewMetadata().withName(name).withNamespace("default")
            .addToLabels("app", app).endMetadata()
            .withNewSpec().withNodeName("node-a").addNewContainer().withName("c")
            .addNewPort().withName("web").withContainerPort(namedPort).endPort().endContainer().endSpec()
            .withNewStatus().withPodIP(ip).addNewCondition().withType("Ready").withStatus(ready ? "True" : "False")
            .endCondition().endStatus();
        final Pod pod = builder.build();
        if (deleting)
        {
            pod.getMetadata().setDeletionTimestamp("2026-11-25T12:00:00Z");
        }
        return pod;
    }

    @Test
    void matchingPodsBecomeEndpointsWithTheirConditions()
    {
        final EndpointsController controller = new EndpointsController();
        controller.upsertService(service(false, 8080));
        controller.upsertPod(pod("a", "198.19.0.10", true, false, "web", 8080));
        controller.upsertPod(pod("b", "198.19.0.11", false, false, "web", 8080));
        controller.upsertPod(pod("other", "198.19.0.12", true, false, "db", 8080));
        final EndpointsController.SliceChanges changes = controller.upsertPod(pod("c", "198.19.0.13", true, true, "web", 8080));

        final EndpointSlice slice = changes.upserts().get(0);
        assertThat(slice.getMetadata().getLabels()).containsEntry("kubernetes.io/service-name", "web")
            .containsEntry(EndpointsController.MANAGED_BY_LABEL, EndpointsController.MANAGED_BY);
        assertThat(slice.getPorts().get(0).getPort()).isEqualTo(8080);
        final List<Endpoint> endpoints = slice.getEndpoints();
        assertThat(endpoints).extracting(e -> e.getAddresses().get(0))
            .containsExactly("198.19.0.10", "198.19.0.11", "198.19.0.13");
        assertThat(endpoints).extracting(e -> e.getConditions().getReady()).containsExactly(true, false, false);
        assertThat(endpoints).extracting(e -> e.getConditions().getServing()).containsExactly(true, false, true);
        assertThat(endpoints).extracting(e -> e.getConditions().getTerminating()).containsExactly(false, false, true);
        assertThat(endpoints.get(0).getNodeName()).isEqualTo("node-a");
    }

    @Test
    void publishNotReadyAddressesMakesEveryPodReady()
    {
        final EndpointsController controller = new EndpointsController();
        controller.upsertService(service(true, 8080));
        final EndpointSlice slice = controller.upsertPod(pod("b", "198.19.0.11", false, false, "web", 8080))
            .upserts().get(0);

        assertThat(slice.getEndpoints().get(0).getConditions().getReady()).isTrue();
    }

    @Test
    void aNamedTargetPortResolvesPerPodIntoSeparateSlices()
    {
        final EndpointsController controller = new EndpointsController();
        controller.upsertService(service(false, "web"));
        controller.upsertPod(pod("a", "198.19.0.10", true, false, "web", 8080));
        final EndpointsController.SliceChanges changes =
            controller.upsertPod(pod("b", "198.19.0.11", true, false, "web", 9090));

        final List<EndpointSlice> all = new java.util.ArrayList<>(changes.upserts());
        assertThat(all).extracting(slice -> slice.getPorts().get(0).getPort()).contains(9090);
        assertThat(controller.upsertService(service(false, "web")).upserts()).isEmpty(); // unchanged: nothing
    }

    @Test
    void removingTheLastPodDeletesTheSliceAndAServiceWithoutSelectorGetsNone()
    {
        final EndpointsController controller = new EndpointsController();
        controller.upsertService(service(false, 8080));
        controller.upsertPod(pod("a", "198.19.0.10", true, false, "web", 8080));

        final EndpointsController.SliceChanges gone = controller.deletePod(new NamespacedName("default", "a"));
        assertThat(gone.deletes()).containsExactly(new NamespacedName("default", "web-sb-0"));

        final Service noSelector = service(false, 8080);
        noSelector.getSpec().setSelector(null);
        assertThat(controller.upsertService(noSelector).upserts()).isEmpty();
    }
}
