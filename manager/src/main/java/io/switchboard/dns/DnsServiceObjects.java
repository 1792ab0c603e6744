package io.switchboard.dns;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.switchboard.model.IpAddresses;

import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The DNS Service the agent contributes: {@code kube-system/kube-dns} on the DNS ClusterIP, ports
 * {@code dns} 53/UDP and {@code dns-tcp} 53/TCP, whose one endpoint is this node's DNS server, marked as
 * on this node, so pods reach the ClusterIP through the datapath.
 *
 * @param service the Service
 * @param slice   its EndpointSlice
 */
public record DnsServiceObjects(Service service, EndpointSlice slice)
{
    public static final String NAMESPACE = "kube-system";
    public static final String NAME = "kube-dns";
    public static final int PORT = 53;

    /** The Service on {@code clusterIP} and its slice pointing at {@code listen} on {@code nodeName}. */
    public static DnsServiceObjects of(final InetAddress clusterIP, final InetSocketAddress listen,
        final String nodeName)
    {
        final String ip = IpAddresses.format(clusterIP);
        final String family = clusterIP instanceof Inet4Address ? "IPv4" : "IPv6";
        final int target = listen.getPort();
        final Service service = new ServiceBuilder()
            .withNewMetadata().withNamespace(NAMESPACE).withName(NAME)
            .addToLabels("k8s-app", NAME).addToLabels("kubernetes.io/name", "CoreDNS")
            .addToLabels("app.kubernetes.io/managed-by", "switchboard").endMetadata()
            .withNewSpec().withType("ClusterIP").withClusterIP(ip).withClusterIPs(ip).withIpFamilies(family)
            .addNewPort().withName("dns").withProtocol("UDP").withPort(PORT).withTargetPort(new IntOrString(target))
            .endPort()
            .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(PORT)
            .withTargetPort(new IntOrString(target)).endPort()
            .endSpec().build();
        final EndpointSlice slice = new EndpointSliceBuilder()
            .withNewMetadata().withNamespace(NAMESPACE).withName(NAME + "-switchboard")
            .addToLabels("kubernetes.io/service-name", NAME)
            .addToLabels("endpointslice.kubernetes.io/managed-by", "switchboard").endMetadata()
            .withAddressType(listen.getAddress() instanceof Inet4Address ? "IPv4" : "IPv6")
            .addNewPort().withName("dns").withProtocol("UDP").withPort(target).endPort()
            .addNewPort().withName("dns-tcp").withProtocol("TCP").withPort(target).endPort()
            .addNewEndpoint().withAddresses(IpAddresses.format(listen.getAddress())).withNodeName(nodeName)
            .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
            .endEndpoint()
            .build();
        return new DnsServiceObjects(service, slice);
    }
}
