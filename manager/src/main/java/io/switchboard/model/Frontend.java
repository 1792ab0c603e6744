package io.switchboard.model;

import java.net.InetAddress;

/**
 * One address, port and protocol on which a service port answers, with everything the datapath's service
 * entry needs to know about it.
 *
 * @param kind                   where it comes from (ClusterIP, NodePort, load balancer, externalIP)
 * @param address                the destination address
 * @param port                   the destination port (the nodePort for {@link FrontendKind#NODE_PORT})
 * @param protocol               TCP or UDP
 * @param affinityTimeoutSeconds ClientIP session affinity timeout, 0 for none
 */
public record Frontend(FrontendKind kind, InetAddress address, int port, Protocol protocol, int affinityTimeoutSeconds)
{
    /** Internal (ClusterIP) or external (everything else). */
    public TrafficScope scope()
    {
        return kind.scope();
    }

    /** {@code loadBalancerSourceRanges} restrict load balancer IPs only (not NodePorts or externalIPs). */
    public boolean sourceRangesApply()
    {
        return kind == FrontendKind.LOAD_BALANCER;
    }

    /** The family of the address, which is also the family of the endpoints that serve it. */
    public IpFamily family()
    {
        return IpFamily.of(address);
    }

    @Override
    public String toString()
    {
        final String host = IpAddresses.format(address);
        return kind + " " + (family() == IpFamily.IPV6 ? "[" + host + "]" : host) + ":" + port + "/" + protocol;
    }
}
