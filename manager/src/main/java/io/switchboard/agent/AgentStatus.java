package io.switchboard.agent;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What the agent thread publishes for the HTTP threads (health, metrics, health check nodePorts): an
 * immutable snapshot, replaced as a whole through a volatile field whenever something it shows changed.
 * The HTTP threads read only this and the datapath's counters, never the model or the maps the agent writes.
 *
 * @param synced                 the agent restored its state and programmed it (healthz answers 200 from then on)
 * @param lastUpdated            when the dataplane was last programmed
 * @param appliedUpdates         control-plane updates applied
 * @param rejectedUpdates        control-plane updates rejected
 * @param programmedServicePorts service ports in the dataplane
 * @param lastSyncDurationNs     how long the last programming cycle took
 * @param lastUpdateLatencyNs    from the intended send time of the last update applied to its programming
 * @param servicePorts           for each svc_id, the service port it serves (metric labels): a read-only view of a
 *                               concurrent map the agent updates per changed service port, not a copy (a copy
 *                               per programming cycle would cost what the cluster holds, not what changed)
 * @param healthChecks           the health check nodePorts to answer on
 * @param programFailures        service-port programming attempts that failed (each retried with backoff)
 * @param failingServicePorts    service ports whose last programming attempt failed
 */
public record AgentStatus(
    boolean synced,
    Instant lastUpdated,
    long appliedUpdates,
    long rejectedUpdates,
    int programmedServicePorts,
    long lastSyncDurationNs,
    long lastUpdateLatencyNs,
    Map<Integer, ServicePortLabels> servicePorts,
    List<HealthCheck> healthChecks,
    long programFailures,
    int failingServicePorts)
{
    /** Before the first sync. */
    public static final AgentStatus STARTING = new AgentStatus(false, null, 0, 0, 0, 0, 0, Map.of(), List.of(), 0, 0);

    /** Copies the health checks; the service ports stay the view given. */
    public AgentStatus
    {
        servicePorts = java.util.Objects.requireNonNull(servicePorts, "servicePorts");
        healthChecks = List.copyOf(healthChecks);
    }

    /** The Service port a svc_id serves, as metric labels. */
    public record ServicePortLabels(String namespace, String name, String port)
    {
    }

    /**
     * A LoadBalancer Service with {@code externalTrafficPolicy: Local}: its health check nodePort answers 200
     * while this node has a ready endpoint, else 503 (as kube-proxy's service health server).
     */
    public record HealthCheck(int nodePort, String namespace, String name, int localEndpoints)
    {
    }
}
