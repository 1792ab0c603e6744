package io.switchboard.model;

import java.net.InetAddress;
import java.util.List;

/**
 * A Service that passed validation, reduced to what the dataplane needs. Lists are immutable.
 *
 * @param name                   the Service
 * @param type                   its type
 * @param skipReason             why it gets no dataplane entries (headless, ExternalName, a proxy label), empty
 *                               when it is programmed
 * @param clusterIPs             {@code spec.clusterIPs} (or {@code spec.clusterIP}), empty when headless
 * @param externalIPs            {@code spec.externalIPs}
 * @param loadBalancerVips       ingress IPs whose {@code ipMode} is VIP or unset; Proxy-mode and hostname-only
 *                               ingress is left to the real load balancer
 * @param sourceRanges           {@code spec.loadBalancerSourceRanges}, empty when unrestricted
 * @param affinityTimeoutSeconds ClientIP session affinity timeout, 0 when affinity is None
 * @param internalPolicyLocal    {@code internalTrafficPolicy: Local}
 * @param externalPolicyLocal    {@code externalTrafficPolicy: Local} on an externally accessible Service (as
 *                               kube-proxy, the policy means nothing otherwise)
 * @param healthCheckNodePort    the health check port when the Service needs one (LoadBalancer with
 *                               externalTrafficPolicy Local), else 0
 * @param ports                  the service ports
 */
public record ServiceDefinition(
    NamespacedName name,
    ServiceType type,
    String skipReason,
    List<InetAddress> clusterIPs,
    List<InetAddress> externalIPs,
    List<InetAddress> loadBalancerVips,
    List<Cidr> sourceRanges,
    int affinityTimeoutSeconds,
    boolean internalPolicyLocal,
    boolean externalPolicyLocal,
    int healthCheckNodePort,
    List<ServicePortDefinition> ports)
{
    /** Copies the lists so the definition is immutable. */
    public ServiceDefinition
    {
        clusterIPs = List.copyOf(clusterIPs);
        externalIPs = List.copyOf(externalIPs);
        loadBalancerVips = List.copyOf(loadBalancerVips);
        sourceRanges = List.copyOf(sourceRanges);
        ports = List.copyOf(ports);
    }

    /** Whether the Service gets dataplane entries at all. */
    public boolean programmed()
    {
        return skipReason.isEmpty();
    }

    /** The key of one of its ports. */
    public ServicePortKey keyOf(final ServicePortDefinition port)
    {
        return new ServicePortKey(name, port.name(), port.protocol());
    }
}
