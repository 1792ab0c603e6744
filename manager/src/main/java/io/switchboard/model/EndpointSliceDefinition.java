package io.switchboard.model;

import java.util.List;

/**
 * An EndpointSlice that passed validation.
 *
 * @param name      the slice
 * @param service   the Service it belongs to (label {@code kubernetes.io/service-name}), null when unlabelled
 * @param family    its address family, null for FQDN slices (which kube-proxy ignores)
 * @param ports     its usable ports (nil port numbers and SCTP left out)
 * @param endpoints its endpoints
 */
public record EndpointSliceDefinition(
    NamespacedName name,
    NamespacedName service,
    IpFamily family,
    List<SlicePort> ports,
    List<SliceEndpoint> endpoints)
{
    /** Copies the lists so the definition is immutable. */
    public EndpointSliceDefinition
    {
        ports = List.copyOf(ports);
        endpoints = List.copyOf(endpoints);
    }

    /** Whether the slice gives endpoints to a Service at all. */
    public boolean contributes()
    {
        return null != service && null != family;
    }
}
