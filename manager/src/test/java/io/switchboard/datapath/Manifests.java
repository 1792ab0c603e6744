package io.switchboard.datapath;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;

import java.util.List;

/** Kubernetes objects for datapath and agent tests, as an apiserver would have defaulted them. */
public final class Manifests
{
    public static final String NODE = "node-a";

    private Manifests()
    {
    }

    /** A ClusterIP service "name" on {@code clusterIp}:{@code port}/TCP → target 8080, optionally a NodePort. */
    public static Service service(final String name, final String clusterIp, final int port, final int nodePort)
    {
        final ServiceBuilder builder = new ServiceBuilder()
            .withNewMetadata().withNamespace("default").withName(name).endMetadata()
            .withNewSpec()
            .withType(nodePort > 0 ? "NodePort" : "ClusterIP")
            .withClusterIP(clusterIp).withClusterIPs(clusterIp)
            .addNewPort().withName("http").withProtocol("TCP").withPort(port).withNewTargetPort(8080)
            .withNodePort(nodePort > 0 ? nodePort : null).endPort()
            .endSpec();
        return builder.build();
    }

    /** The EndpointSlice of service "name" with ready endpoints on this node at {@code addresses}:8080. */
    public static EndpointSlice slice(final String name, final List<String> addresses)
    {
        final EndpointSliceBuilder builder = new EndpointSliceBuilder()
            .withNewMetadata().withNamespace("default").withName(name + "-slice")
            .addToLabels("kubernetes.io/service-name", name).endMetadata()
            .withAddressType("IPv4")
            .addNewPort().withName("http").withProtocol("TCP").withPort(8080).endPort();
        for (final String address : addresses)
        {
            builder.addNewEndpoint().withAddresses(address).withNodeName(NODE)
                .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                .endEndpoint();
        }
        return builder.build();
    }
}
