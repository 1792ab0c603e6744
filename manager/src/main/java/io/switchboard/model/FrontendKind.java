package io.switchboard.model;

/** Which part of a Service an address:port frontend comes from; this fixes its traffic scope. */
public enum FrontendKind
{
    /** {@code spec.clusterIPs}: internal traffic. */
    CLUSTER_IP(TrafficScope.INTERNAL),
    /** A nodePort on one of this node's addresses: external traffic. */
    NODE_PORT(TrafficScope.EXTERNAL),
    /** A load balancer ingress IP with ipMode VIP (or unset): external traffic, source ranges apply. */
    LOAD_BALANCER(TrafficScope.EXTERNAL),
    /** {@code spec.externalIPs}: external traffic. */
    EXTERNAL_IP(TrafficScope.EXTERNAL);

    private final TrafficScope scope;

    FrontendKind(final TrafficScope scope)
    {
        this.scope = scope;
    }

    /** Whether traffic through this kind follows internalTrafficPolicy or externalTrafficPolicy. */
    public TrafficScope scope()
    {
        return scope;
    }
}
