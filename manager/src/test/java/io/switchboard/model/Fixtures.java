package io.switchboard.model;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServicePortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import java.net.InetAddress;
import java.util.List;

/** Realistic Kubernetes objects for model tests, built with fabric8 builders. */
final class Fixtures
{
    static final String NAMESPACE = "shop";
    static final String THIS_NODE = "node-a";
    static final String OTHER_NODE = "node-b";

    private Fixtures()
    {
    }

    static InetAddress ip(final String text)
    {
        return IpAddresses.parse(text);
    }

    /** A ClusterIP Service in {@link #NAMESPACE} with the allocated cluster IP the apiserver would give it. */
    static ServiceBuilder service(final String name, final String clusterIP, final ServicePort... ports)
    {
        return new ServiceBuilder()
            .withNewMetadata().withNamespace(NAMESPACE).withName(name).endMetadata()
            .withNewSpec()
            .withType("ClusterIP")
            .withClusterIP(clusterIP)
            .withClusterIPs(clusterIP)
            .withSelector(java.util.Map.of("app", name))
            .withPorts(ports)
            .endSpec();
    }

    static ServicePort port(final String name, final String protocol, final int port, final int targetPort)
    {
        return new ServicePortBuilder().withName(name).withProtocol(protocol).withPort(port)
            .withTargetPort(new IntOrString(targetPort)).build();
    }

    static ServicePort namedTargetPort(final String name, final String protocol, final int port, final String targetPort)
    {
        return new ServicePortBuilder().withName(name).withProtocol(protocol).withPort(port)
            .withTargetPort(new IntOrString(targetPort)).build();
    }

    static ServicePort nodePort(final String name, final String protocol, final int port, final int targetPort, final int nodePort)
    {
        return new ServicePortBuilder(port(name, protocol, port, targetPort)).withNodePort(nodePort).build();
    }

    /** An endpoint as the EndpointSlice controller writes it; a null condition is left unset. */
    static Endpoint endpoint(final String address, final String nodeName, final Boolean ready, final Boolean serving, final Boolean terminating)
    {
        return new EndpointBuilder()
            .withAddresses(address)
            .withNodeName(nodeName)
            .withNewConditions().withReady(ready).withServing(serving).withTerminating(terminating).endConditions()
            .withNewTargetRef().withKind("Pod").withNamespace(NAMESPACE).withName("pod-" + address.replace('.', '-').replace(':', '-')).endTargetRef()
            .build();
    }

    static Endpoint ready(final String address, final String nodeName)
    {
        return endpoint(address, nodeName, true, true, false);
    }

    static Endpoint terminating(final String address, final String nodeName)
    {
        return endpoint(address, nodeName, false, true, true);
    }

    static EndpointPort slicePort(final String name, final String protocol, final int port)
    {
        return new EndpointPortBuilder().withName(name).withProtocol(protocol).withPort(port).build();
    }

    static EndpointSlice slice(final String sliceName, final String serviceName, final List<EndpointPort> ports, final Endpoint... endpoints)
    {
        return new EndpointSliceBuilder()
            .withNewMetadata()
            .withNamespace(NAMESPACE)
            .withName(sliceName)
            .addToLabels(EndpointSliceValidator.SERVICE_NAME_LABEL, serviceName)
            .addToLabels("endpointslice.kubernetes.io/managed-by", "endpointslice-controller.k8s.io")
            .endMetadata()
            .withAddressType(endpoints.length > 0 && endpoints[0].getAddresses().get(0).contains(":") ? "IPv6" : "IPv4")
            .withPorts(ports)
            .withEndpoints(endpoints)
            .build();
    }

    static Node node(final String name, final String zone, final String internalIP, final String externalIP)
    {
        return new NodeBuilder()
            .withNewMetadata().withName(name).addToLabels(NodeValidator.ZONE_LABEL, zone).endMetadata()
            .withNewStatus()
            .addNewAddress().withType("Hostname").withAddress(name).endAddress()
            .addNewAddress().withType("InternalIP").withAddress(internalIP).endAddress()
            .addNewAddress().withType("ExternalIP").withAddress(externalIP).endAddress()
            .endStatus()
            .build();
    }

    static ServicePortKey key(final String service, final String portName, final Protocol protocol)
    {
        return new ServicePortKey(new NamespacedName(NAMESPACE, service), portName, protocol);
    }

    /** A model for {@link #THIS_NODE} with its Node (10.0.0.1 internal, 198.51.100.1 external, zone-a) known. */
    static ClusterModel modelWithNode()
    {
        final ClusterModel model = new ClusterModel(ModelConfig.forNode(THIS_NODE));
        model.upsert(node(THIS_NODE, "zone-a", "10.0.0.1", "198.51.100.1"));
        return model;
    }
}
