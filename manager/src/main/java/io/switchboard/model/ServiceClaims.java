package io.switchboard.model;

import java.net.InetAddress;

/**
 * What other Services already hold, so validation can refuse a collision before anything changes. Each lookup
 * answers the owning Service, or null when the slot is free.
 */
public interface ServiceClaims
{
    /** Claims of an empty model: nothing is taken. */
    ServiceClaims NONE = new ServiceClaims()
    {
        @Override
        public NamespacedName nodePortOwner(final int nodePort, final Protocol protocol)
        {
            return null;
        }

        @Override
        public NamespacedName frontendOwner(final InetAddress address, final int port, final Protocol protocol)
        {
            return null;
        }
    };

    /** The Service holding a nodePort for a protocol (health check nodePorts count as TCP), or null. */
    NamespacedName nodePortOwner(int nodePort, Protocol protocol);

    /** The Service answering on an address, port and protocol (ClusterIP, externalIP, LB IP), or null. */
    NamespacedName frontendOwner(InetAddress address, int port, Protocol protocol);
}
