package io.switchboard.model;

/** {@code spec.type} of a Service; absent means {@link #CLUSTER_IP}. */
public enum ServiceType
{
    CLUSTER_IP("ClusterIP"),
    NODE_PORT("NodePort"),
    LOAD_BALANCER("LoadBalancer"),
    EXTERNAL_NAME("ExternalName");

    private final String apiName;

    ServiceType(final String apiName)
    {
        this.apiName = apiName;
    }

    /** The spelling in the Kubernetes API. */
    public String apiName()
    {
        return apiName;
    }

    /** The type spelled {@code apiName}, or null when there is none. */
    static ServiceType fromApiName(final String apiName)
    {
        for (final ServiceType type : values())
        {
            if (type.apiName.equals(apiName))
            {
                return type;
            }
        }
        return null;
    }

    /** Whether traffic can reach the Service from outside the cluster (Kubernetes' {@code ExternallyAccessible}). */
    boolean externallyAccessible(final boolean hasExternalIPs)
    {
        return this == NODE_PORT || this == LOAD_BALANCER || (this == CLUSTER_IP && hasExternalIPs);
    }
}
