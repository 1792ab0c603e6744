package io.switchboard.agent;

import io.switchboard.log.Log;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.control.ControlPlaneAdapter;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateListener;
import io.switchboard.control.ObjectKinds;
import io.switchboard.control.RejectedUpdateException;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;
import io.switchboard.datapath.Datapath;
import io.switchboard.datapath.DatapathProgrammer;
import io.switchboard.dns.DnsCatalog;
import io.switchboard.endpoints.EndpointsController;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.EndpointSelection;
import io.switchboard.model.ModelChanges;
import io.switchboard.model.NamespacedName;
import io.switchboard.model.RejectedObjectException;
import io.switchboard.model.ServiceDefinition;
import io.switchboard.model.ServiceEndpoint;
import io.switchboard.model.ServicePortKey;
import io.switchboard.model.ServiceAllocator;
import io.switchboard.model.ServicePortState;
import org.agrona.concurrent.Agent;

import java.time.Instant;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.TreeMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

/**
 * The agent's single writer (invariant 7): one duty cycle polls the control-plane stream, applies
 * each update to the model (Kubernetes semantics resolved for this node), then programs every service
 * port the cycle changed, once, and retires removed backends. Nothing blocks; a rejected update
 * changes nothing and is counted by the adapter.
 */
public final class SwitchboardAgent implements Agent, DesiredStateListener
{
    /** An object as the control plane names it. */
    record ObjectRef(ObjectKind kind, String namespace, String name)
    {
    }

    private record Snapshot(long id, Set<ObjectRef> seen)
    {
    }

    private record PendingLoadBalancer(SourceKind source, ObjectKind kind, Service service, String reason)
    {
    }

    /** A service port whose programming failed: how often in a row, when to try again, and the last error. */
    private record FailedPort(int attempts, long retryAtNs, String error)
    {
    }

    private static final long RETRY_FIRST_NS = 100_000_000L;
    private static final long RETRY_MAX_NS = 30_000_000_000L;

    /** The first cycles are logged (start-up is when operators look); later ones only count. */
    private static final int FIRST_CYCLES_LOGGED = 10;

    private final ClusterModel model;
    private final DatapathProgrammer programmer;
    private final Datapath datapath;
    private final StateStore store;
    private final Consumer<String> log;
    private final PodInterfaces podInterfaces = new PodInterfaces();
    private final EndpointsController endpointsController = new EndpointsController();
    private final LiveView live = new LiveView();
    private final Map<NamespacedName, NamespacedName> externalSlices = new java.util.HashMap<>();
    private ServiceAllocator allocator;
    /** LoadBalancers without an address, as they arrived: tried again when a Service is deleted. */
    private final Map<NamespacedName, PendingLoadBalancer> pendingLoadBalancers = new HashMap<>();
    private DnsCatalog dns;
    /** Services the agent contributes itself (its DNS Service): sources' objects of these names are ignored. */
    private final Set<NamespacedName> ownServices = new HashSet<>();
    private final Set<NamespacedName> ownSlices = new HashSet<>();
    private final Set<NamespacedName> ignoredLogged = new HashSet<>();
    private final Set<String> externalInterfaces;
    private final Set<ServicePortKey> pending = new LinkedHashSet<>();
    private final Map<ServicePortKey, FailedPort> failedPorts = new HashMap<>();
    private ErrorLog errors = new ErrorLog(null, ErrorLog.CAPACITY, line -> { });
    private final Map<SourceKind, Set<ObjectRef>> known = new EnumMap<>(SourceKind.class);
    private final Map<SourceKind, Snapshot> snapshots = new EnumMap<>(SourceKind.class);
    private ControlPlaneAdapter adapter;
    private SourceKind adoptionCompletesWith;
    private long lastIntendedSendTimeNs;
    private long appliedCycles;
    private volatile AgentStatus status = AgentStatus.STARTING;
    private boolean synced;
    private long statusApplied = -1;
    private long statusRejected = -1;
    private long statusProgramFailures;
    private long lastSyncDurationNs;
    private long lastUpdateLatencyNs;
    private Instant lastUpdated;
    private UpdateLatencyRecorder latencyRecorder;
    /** Intended send times of the updates applied in this cycle; one poll reads at most FRAGMENT_LIMIT. */
    /** Intended send times of the updates applied to the model and not yet programmed (several polls while held). */
    private final long[] cycleIntendedSendTimesNs = new long[HELD_UPDATES_MAX];
    /** How often a streaming snapshot is programmed: bounds what it holds back, and batches its tables. */
    private static final long SNAPSHOT_FLUSH_NS = 200_000_000L;
    /** svc_id → labels for /metrics, kept per change; the HTTP threads read it without locks. */
    private final ConcurrentHashMap<Integer, AgentStatus.ServicePortLabels> statusServicePorts =
        new ConcurrentHashMap<>();
    private final Map<Integer, AgentStatus.ServicePortLabels> statusServicePortsView =
        java.util.Collections.unmodifiableMap(statusServicePorts);
    private final Map<ServicePortKey, int[]> statusSvcIds = new HashMap<>();
    private final Map<ServicePortKey, AgentStatus.HealthCheck> statusHealthChecks = new HashMap<>();
    private static final int HELD_UPDATES_MAX = 16_384;
    /** A snapshot open longer than this (its source died mid-way) is programmed every cycle again. */
    private static final long SNAPSHOT_HOLD_MAX_NS = 30_000_000_000L;
    private long snapshotOpenedNs;
    private long lastFlushNs = System.nanoTime();
    private int cycleUpdates;

    /**
     * @param datapath           where pod-facing tc filters are attached; null in tests without one.
     * @param store              keeps CLI and manifest objects across restarts; null for none.
     * @param externalInterfaces the node's external interfaces (never treated as pod-facing).
     */
    public SwitchboardAgent(
        final ClusterModel model,
        final DatapathProgrammer programmer,
        final Datapath datapath,
        final StateStore store,
        final Set<String> externalInterfaces,
        final Consumer<String> log)
    {
        this.model = Objects.requireNonNull(model, "model");
        this.programmer = Objects.requireNonNull(programmer, "programmer");
        this.datapath = datapath;
        this.store = store;
        this.externalInterfaces = Set.copyOf(externalInterfaces);
        this.log = Objects.requireNonNull(log, "log");
    }

    /**
     * Fills in ClusterIPs, nodePorts and LoadBalancer addresses for Services from manifests and the
     * CLI that lack them, as an apiserver would; Services from a Kubernetes API are taken as they are.
     */
    public void allocator(final ServiceAllocator allocator)
    {
        this.allocator = allocator;
    }

    /** Keeps DNS records of every Service and EndpointSlice applied; set once, before the agent starts. */
    public void dns(final DnsCatalog catalog)
    {
        this.dns = catalog;
    }

    /**
     * Applies a Service and its EndpointSlice that the agent itself provides (the DNS Service), before the
     * agent starts. They are neither saved nor removed by any source's snapshot; a source's Service of the
     * same name, and its slices, are ignored from then on.
     *
     * @throws RejectedUpdateException when the model refuses one
     */
    public void contribute(final Service service, final EndpointSlice slice)
    {
        try
        {
            record(model.upsert(service));
            record(model.upsert(slice));
            live.put(namespaceOf(service), service);
            live.put(namespaceOf(slice), slice);
        }
        catch (final RejectedObjectException ex)
        {
            throw new RejectedUpdateException(ex.kind() + " " + ex.object(), ex.field(), ex.reason());
        }
        if (null != allocator)
        {
            allocator.complete(service); // holds its ClusterIP: no Service without one is given it
        }
        ownServices.add(NamespacedName.of(service));
        ownSlices.add(NamespacedName.of(slice));
        if (null != dns)
        {
            dns.upsert(service);
            dns.upsert(slice);
        }
    }

    /** Where the agent keeps its errors (by default in memory only); set once, before the agent starts. */
    public void errors(final ErrorLog errors)
    {
        this.errors = Objects.requireNonNull(errors, "errors");
    }

    public ErrorLog errors()
    {
        return errors;
    }

    @Override
    public void onRejected(final Rejection rejection, final String object, final String error)
    {
        errors.record(switch (rejection)
        {
            case UNDECODABLE -> ErrorLog.Kind.DECODE;
            case REFUSED -> ErrorLog.Kind.VALIDATION;
            case FAILED -> ErrorLog.Kind.INTERNAL;
        }, object, error);
    }

    /** The adapter this agent polls; set once, before the agent starts. */
    public void adapter(final ControlPlaneAdapter adapter)
    {
        this.adapter = adapter;
    }

    public ControlPlaneAdapter adapter()
    {
        return adapter;
    }

    /**
     * Restores what a previous agent saved and, if the datapath was adopted, which source's first
     * completed snapshot ends the adoption (null: it ends with the restore itself).
     */
    public void restore(final SourceKind adoptionSource)
    {
        if (null != store)
        {
            for (final StateStore.Saved saved : store.load())
            {
                try
                {
                    onUpsert(saved.source(), 0, ObjectKinds.of(saved.object()), saved.object());
                }
                catch (final RejectedUpdateException ex)
                {
                    log.accept(Log.warn("restoring " + ex.getMessage()));
                }
            }
        }
        flush();
        publishZone();
        adoptionCompletesWith = adoptionSource;
        if (null == adoptionSource)
        {
            programmer.completeAdoption();
        }
        synced = true;
        lastUpdated = Instant.now();
        publishStatus();
    }

    /**
     * Reports, after each duty cycle's flush, the latency of every update that cycle applied (null: none).
     * Set before the agent starts.
     */
    public void latencyRecorder(final UpdateLatencyRecorder recorder)
    {
        this.latencyRecorder = recorder;
    }

    @Override
    public int doWork()
    {
        int work = null == adapter ? 0 : adapter.poll();
        // while a source's snapshot streams in, changes are programmed every SNAPSHOT_FLUSH_NS, not every
        // cycle: new tables then reach sb_maglev in a few large batches (one RCU grace period each)
        final long nowNs = System.nanoTime();
        final boolean holding = !snapshots.isEmpty() && nowNs - lastFlushNs < SNAPSHOT_FLUSH_NS
            && nowNs - snapshotOpenedNs < SNAPSHOT_HOLD_MAX_NS // a snapshot that never ends does not slow the agent
            && cycleUpdates <= HELD_UPDATES_MAX - ControlPlaneConfiguration.FRAGMENT_LIMIT;
        if (holding)
        {
            return work;
        }
        work += retryFailedPorts(nowNs);
        final int flushed = flush();
        work += flushed + publishZone();
        if (cycleUpdates > 0)
        {
            recordLatencies();
        }
        if (programmer.hasRetiredBackends())
        {
            work += programmer.deleteRetiredBackends(System.nanoTime());
        }
        work += errors.writeIfDue(nowNs);
        if (synced && (flushed > 0 || errors.count(ErrorLog.Kind.PROGRAM) != statusProgramFailures || (null != adapter &&
            (adapter.applied() != statusApplied || adapter.rejected() != statusRejected))))
        {
            publishStatus();
        }
        return work;
    }

    /** Publishes the DNS zone when an applied change touched it; returns 1 if it did. */
    private int publishZone()
    {
        if (null == dns || !dns.changed())
        {
            return 0;
        }
        dns.publish();
        return 1;
    }

    /** Whether an object from a source names one of the agent's own Services (logged once per Service). */
    private boolean ownedByAgent(final NamespacedName service, final String what)
    {
        if (!ownServices.contains(service))
        {
            return false;
        }
        if (ignoredLogged.add(service))
        {
            log.accept("ignoring " + what + ": " + service + " is the agent's own DNS Service");
        }
        return true;
    }

    /** What the HTTP threads show: replaced as a whole, only when something in it changed. */
    public AgentStatus status()
    {
        return status;
    }

    private void publishStatus()
    {
        final Map<Integer, AgentStatus.HealthCheck> healthChecks = new TreeMap<>();
        for (final AgentStatus.HealthCheck check : statusHealthChecks.values())
        {
            healthChecks.merge(check.nodePort(), check, (a, b) -> a.localEndpoints() >= b.localEndpoints() ? a : b);
        }
        statusApplied = null == adapter ? 0 : adapter.applied();
        statusRejected = null == adapter ? 0 : adapter.rejected();
        // the service-port labels are the live map the agent keeps per change: nothing here grows with the cluster
        // but the health checks (Local-policy LoadBalancers only)
        statusProgramFailures = errors.count(ErrorLog.Kind.PROGRAM);
        status = new AgentStatus(synced, lastUpdated, statusApplied, statusRejected,
            programmer.programmedCount(), lastSyncDurationNs, lastUpdateLatencyNs, statusServicePortsView,
            List.copyOf(healthChecks.values()), statusProgramFailures, failedPorts.size());
    }

    /** Keeps the status maps of one service port current: its svc_ids' labels and its health check. */
    private void updateStatus(final ServicePortKey key, final ServicePortState state)
    {
        final int[] previous = statusSvcIds.remove(key);
        if (null != previous)
        {
            for (final int svcId : previous)
            {
                statusServicePorts.remove(svcId);
            }
        }
        statusHealthChecks.remove(key);
        if (null == state)
        {
            return;
        }
        final String port = (key.portName().isEmpty() ? "" : key.portName() + "/") + key.protocol();
        final AgentStatus.ServicePortLabels labels = new AgentStatus.ServicePortLabels(
            key.service().namespace(), key.service().name(), port);
        final int[] svcIds = programmer.frontends(key).values().stream()
            .mapToInt(DatapathProgrammer.FrontendValue::svcId).distinct().toArray();
        for (final int svcId : svcIds)
        {
            statusServicePorts.put(svcId, labels);
        }
        statusSvcIds.put(key, svcIds);
        if (state.healthCheckNodePort() > 0)
        {
            final int local = state.localReadyEndpoints().values().stream().mapToInt(Integer::intValue).max()
                .orElse(0);
            statusHealthChecks.put(key, new AgentStatus.HealthCheck(state.healthCheckNodePort(),
                key.service().namespace(), key.service().name(), local));
        }
    }

    /**
     * Programs every service port changed since the last cycle; returns how many. A port whose programming fails
     * (a map full, an id space used up) is logged, counted and tried again alone with backoff
     * ({@link #retryFailedPorts}); the others go on.
     */
    int flush()
    {
        if (pending.isEmpty())
        {
            return 0;
        }
        final long startNs = System.nanoTime();
        lastFlushNs = startNs;
        final int count = pending.size();
        // one batch: tables created or removed together cost one map-in-map grace period, not one each
        programmer.begin();
        try
        {
            // removed ports first: a renamed port's successor may take over its frontends, which removing the old
            // port afterwards would delete
            for (final ServicePortKey key : pending)
            {
                if (null == model.state(key))
                {
                    program(key, null, startNs);
                }
            }
            for (final ServicePortKey key : pending)
            {
                final ServicePortState state = model.state(key);
                if (null != state)
                {
                    program(key, state, startNs);
                }
            }
        }
        finally
        {
            try
            {
                programmer.commit();
            }
            catch (final RuntimeException ex)
            {
                // the batch's tables are forgotten by the programmer: every port of this cycle is programmed again
                for (final ServicePortKey key : pending)
                {
                    failed(key, ex, startNs);
                }
            }
        }
        pending.clear();
        appliedCycles++;
        final long endNs = System.nanoTime();
        lastSyncDurationNs = endNs - startNs;
        lastUpdateLatencyNs = 0 == lastIntendedSendTimeNs ? 0 : endNs - lastIntendedSendTimeNs;
        lastUpdated = Instant.now();
        if (appliedCycles <= FIRST_CYCLES_LOGGED)
        {
            log.accept("programmed " + count + " service port(s)");
        }
        return count;
    }

    /** Programs (or, with a null state, removes) one service port; a failure is kept for a retry, not thrown. */
    private void program(final ServicePortKey key, final ServicePortState state, final long nowNs)
    {
        try
        {
            if (null == state)
            {
                programmer.remove(key);
            }
            else
            {
                final ServiceDefinition service = model.service(key.service());
                programmer.apply(state, service.internalPolicyLocal(), service.externalPolicyLocal());
            }
        }
        catch (final RuntimeException ex)
        {
            failed(key, ex, nowNs);
            return;
        }
        updateStatus(key, state);
        if (null != state)
        {
            attachPodInterfaces(state);
        }
        final FailedPort recovered = failedPorts.remove(key);
        if (null != recovered)
        {
            log.accept("programmed " + key + " after " + recovered.attempts() + " failed attempt(s)");
        }
    }

    /**
     * Notes a failed service port: counted, logged when it first fails or fails differently, and tried again after
     * RETRY_FIRST_NS, doubling up to RETRY_MAX_NS (a change of the port tries it at once).
     */
    private void failed(final ServicePortKey key, final RuntimeException ex, final long nowNs)
    {
        errors.record(ErrorLog.Kind.PROGRAM, "Service port " + key, String.valueOf(ex.getMessage()));
        final FailedPort before = failedPorts.get(key);
        final int attempts = null == before ? 1 : before.attempts() + 1;
        final long delayNs = Math.min(RETRY_MAX_NS, RETRY_FIRST_NS << Math.min(attempts - 1, 20));
        final String error = String.valueOf(ex.getMessage());
        failedPorts.put(key, new FailedPort(attempts, nowNs + delayNs, error));
        if (null == before || !before.error().equals(error))
        {
            log.accept(Log.warn("programming " + key + " failed, the rest goes on; retrying with backoff: " + error));
        }
    }

    /** Puts the failed service ports whose retry time has come back into the next flush; returns how many. */
    private int retryFailedPorts(final long nowNs)
    {
        if (failedPorts.isEmpty())
        {
            return 0;
        }
        int due = 0;
        for (final Map.Entry<ServicePortKey, FailedPort> failed : failedPorts.entrySet())
        {
            if (nowNs - failed.getValue().retryAtNs() >= 0 && pending.add(failed.getKey()))
            {
                due++;
            }
        }
        return due;
    }

    private void attachPodInterfaces(final ServicePortState state)
    {
        if (null == datapath)
        {
            return;
        }
        for (final EndpointSelection selection : List.of(state.internal(), state.external(), state.clusterWide()))
        {
            for (final ServiceEndpoint endpoint : selection.endpoints())
            {
                if (!endpoint.local())
                {
                    continue;
                }
                final String device = podInterfaces.interfaceFor(endpoint.address());
                if (null != device && !externalInterfaces.contains(device) &&
                    !datapath.podInterfaces().contains(device))
                {
                    try
                    {
                        datapath.attachPodInterface(device);
                        log.accept("tc on pod interface " + device);
                    }
                    catch (final RuntimeException ex)
                    {
                        log.accept(Log.warn("attaching to pod interface " + device + ": " + ex.getMessage()));
                    }
                }
            }
        }
    }

    @Override
    public void onUpsert(final SourceKind source, final long snapshotId, final ObjectKind kind, final HasMetadata object)
    {
        // what an apiserver would have filled in, kept with the object so a restart allocates the same
        if (object instanceof Service service && ownedByAgent(NamespacedName.of(service), "Service " +
            NamespacedName.of(service)) || object instanceof EndpointSlice slice && (ownSlices.contains(nameOf(slice)) ||
            ownedByAgent(serviceOf(slice), "EndpointSlice " + nameOf(slice))))
        {
            return;
        }
        final HasMetadata effective;
        try
        {
            effective = object instanceof Service service && null != allocator &&
                source != SourceKind.KUBERNETES ? allocator.complete(service) : object;
        }
        catch (final RejectedObjectException ex)
        {
            live.reject(object.getKind(), namespaceOf(object), object.getMetadata().getName(), ex.field(), ex.reason());
            throw new RejectedUpdateException(ex.kind() + " " + ex.object(), ex.field(), ex.reason());
        }
        if (effective instanceof Service service && object != effective)
        {
            notePendingLoadBalancer(source, kind, (Service)object, service);
        }
        ModelChanges changes;
        try
        {
            changes = switch (effective)
            {
                case Service service ->
                {
                    final ModelChanges upserted = model.upsert(service);
                    yield merge(upserted, applyDerivedSlices(endpointsController.upsertService(service)));
                }
                case EndpointSlice slice ->
                {
                    externalSlices.put(nameOf(slice), serviceOf(slice));
                    yield model.upsert(slice);
                }
                case Node node -> model.upsert(node);
                case Pod pod -> applyDerivedSlices(endpointsController.upsertPod(pod));
                default -> ModelChanges.NONE;
            };
        }
        catch (final RejectedObjectException ex)
        {
            live.reject(effective.getKind(), namespaceOf(effective), effective.getMetadata().getName(), ex.field(),
                ex.reason());
            throw new RejectedUpdateException(ex.kind() + " " + ex.object(), ex.field(), ex.reason());
        }
        record(changes);
        live.put(namespaceOf(effective), effective);
        if (null != dns)
        {
            if (effective instanceof Service service)
            {
                dns.upsert(service);
            }
            else if (effective instanceof EndpointSlice slice)
            {
                dns.upsert(slice);
            }
        }
        final ObjectRef ref = new ObjectRef(kind, namespaceOf(object), object.getMetadata().getName());
        known.computeIfAbsent(source, s -> new HashSet<>()).add(ref);
        final Snapshot snapshot = snapshots.get(source);
        if (null != snapshot && snapshot.id() == snapshotId)
        {
            snapshot.seen().add(ref);
        }
        if (null != store && source != SourceKind.KUBERNETES)
        {
            store.save(source, kind, effective);
        }
    }

    /**
     * Logs once why a LoadBalancer got no address (the reason changes or clears: logged again), and
     * keeps it to try again when a deletion frees an address.
     */
    private void notePendingLoadBalancer(final SourceKind source, final ObjectKind kind, final Service original,
        final Service completed)
    {
        final NamespacedName name = new NamespacedName(namespaceOf(completed), completed.getMetadata().getName());
        final String reason = ServiceAllocator.pendingReason(completed);
        final PendingLoadBalancer previous = null == reason ? pendingLoadBalancers.remove(name) :
            pendingLoadBalancers.put(name, new PendingLoadBalancer(source, kind, original, reason));
        if (null != reason && (null == previous || !previous.reason().equals(reason)))
        {
            log.accept(Log.warn("Service " + name + ": no LoadBalancer address, stays pending: " + reason));
        }
        else if (null == reason && null != previous)
        {
            log.accept("Service " + name + ": LoadBalancer address " +
                completed.getStatus().getLoadBalancer().getIngress().stream().map(i -> i.getIp()).toList());
        }
    }

    private void retryPendingLoadBalancers()
    {
        for (final PendingLoadBalancer pendingService : List.copyOf(pendingLoadBalancers.values()))
        {
            try
            {
                onUpsert(pendingService.source(), 0, pendingService.kind(), pendingService.service());
            }
            catch (final RejectedUpdateException ex)
            {
                log.accept(Log.warn("retrying a pending LoadBalancer: " + ex.getMessage()));
            }
        }
    }

    @Override
    public void onDelete(final SourceKind source, final ObjectKind kind, final String namespace, final String name)
    {
        final String effectiveNamespace = null == namespace || namespace.isEmpty() ? "default" : namespace;
        final NamespacedName objectName = new NamespacedName(effectiveNamespace, name);
        if (kind == ObjectKind.SERVICE && ownedByAgent(objectName, "deleting Service " + objectName) ||
            kind == ObjectKind.ENDPOINT_SLICE && ownSlices.contains(objectName))
        {
            return;
        }
        if (null != dns)
        {
            if (kind == ObjectKind.SERVICE)
            {
                dns.deleteService(objectName);
            }
            else if (kind == ObjectKind.ENDPOINT_SLICE)
            {
                dns.deleteSlice(objectName);
            }
        }
        final ModelChanges changes = switch (kind)
        {
            case SERVICE ->
            {
                if (null != allocator)
                {
                    allocator.release(objectName);
                }
                pendingLoadBalancers.remove(objectName);
                final ModelChanges deleted = merge(model.deleteService(objectName),
                    applyDerivedSlices(endpointsController.deleteService(objectName)));
                retryPendingLoadBalancers();
                yield deleted;
            }
            case ENDPOINT_SLICE ->
            {
                externalSlices.remove(objectName);
                yield model.deleteEndpointSlice(objectName);
            }
            case POD -> applyDerivedSlices(endpointsController.deletePod(objectName));
            case NODE -> model.delete(new io.fabric8.kubernetes.api.model.NodeBuilder().withNewMetadata()
                .withName(name).endMetadata().build());
            default -> ModelChanges.NONE;
        };
        record(changes);
        live.remove(ObjectKinds.kindName(kind), kind == ObjectKind.NODE ? "" : effectiveNamespace, name);
        final Set<ObjectRef> objects = known.get(source);
        if (null != objects)
        {
            objects.remove(new ObjectRef(kind, kind == ObjectKind.NODE ? "" : effectiveNamespace, name));
        }
        if (null != store && source != SourceKind.KUBERNETES)
        {
            store.remove(source, kind, effectiveNamespace, name);
        }
    }

    @Override
    public void onSnapshotBegin(final SourceKind source, final long snapshotId)
    {
        if (snapshots.isEmpty())
        {
            snapshotOpenedNs = System.nanoTime();
        }
        snapshots.put(source, new Snapshot(snapshotId, new HashSet<>()));
    }

    @Override
    public void onSnapshotEnd(final SourceKind source, final long snapshotId, final int objectCount)
    {
        final Snapshot snapshot = snapshots.get(source);
        if (null == snapshot || snapshot.id() != snapshotId)
        {
            throw new RejectedUpdateException("snapshot " + source + " " + snapshotId, "",
                "ends a snapshot that did not begin");
        }
        snapshots.remove(source);
        final Set<ObjectRef> gone = new HashSet<>(known.getOrDefault(source, Set.of()));
        gone.removeAll(snapshot.seen());
        for (final ObjectRef ref : gone)
        {
            onDelete(source, ref.kind(), ref.namespace(), ref.name());
        }
        if (source == adoptionCompletesWith)
        {
            flush();
            programmer.completeAdoption();
            adoptionCompletesWith = null;
        }
    }

    @Override
    public void onApplied(final long intendedSendTimeNs)
    {
        lastIntendedSendTimeNs = intendedSendTimeNs;
        if (null != latencyRecorder)
        {
            if (cycleUpdates < cycleIntendedSendTimesNs.length)
            {
                cycleIntendedSendTimesNs[cycleUpdates++] = intendedSendTimeNs;
            }
            else
            {
                // more updates than one poll reads (not through doWork): keep the earliest in the last slot,
                // so the latency is overstated rather than lost
                final int last = cycleIntendedSendTimesNs.length - 1;
                cycleIntendedSendTimesNs[last] = Math.min(cycleIntendedSendTimesNs[last], intendedSendTimeNs);
            }
        }
    }

    /** Hands the recorder one latency per update applied in this cycle, now that the maps are written. */
    private void recordLatencies()
    {
        final long nowNs = System.nanoTime();
        final UpdateLatencyRecorder recorder = latencyRecorder;
        final int count = cycleUpdates;
        cycleUpdates = 0;
        for (int i = 0; i < count; i++)
        {
            recorder.record(nowNs - cycleIntendedSendTimesNs[i], cycleIntendedSendTimesNs[i]);
        }
    }

    /** The intended send time of the last update applied (for update-latency measurements). */
    public long lastIntendedSendTimeNs()
    {
        return lastIntendedSendTimeNs;
    }

    /** Duty cycles that programmed something. */
    public long appliedCycles()
    {
        return appliedCycles;
    }

    public ClusterModel model()
    {
        return model;
    }

    /**
     * Applies the endpoints controller's slices to the model, except for Services whose endpoints
     * come from EndpointSlices of their own (from an API or manifests): those are the truth.
     */
    private ModelChanges applyDerivedSlices(final EndpointsController.SliceChanges slices)
    {
        ModelChanges changes = ModelChanges.NONE;
        for (final EndpointSlice slice : slices.upserts())
        {
            if (!externalSlices.containsValue(serviceOf(slice)))
            {
                changes = merge(changes, model.upsert(slice));
                live.put(namespaceOf(slice), slice);
                if (null != dns)
                {
                    dns.upsert(slice);
                }
            }
        }
        for (final NamespacedName gone : slices.deletes())
        {
            changes = merge(changes, model.deleteEndpointSlice(gone));
            live.remove("EndpointSlice", gone.namespace(), gone.name());
            if (null != dns)
            {
                dns.deleteSlice(gone);
            }
        }
        return changes;
    }

    private static ModelChanges merge(final ModelChanges first, final ModelChanges second)
    {
        if (second.isEmpty())
        {
            return first;
        }
        if (first.isEmpty())
        {
            return second;
        }
        final Set<ServicePortKey> added = new HashSet<>(first.added());
        added.addAll(second.added());
        final Set<ServicePortKey> changed = new HashSet<>(first.changed());
        changed.addAll(second.changed());
        final Set<ServicePortKey> removed = new HashSet<>(first.removed());
        removed.addAll(second.removed());
        return new ModelChanges(added, changed, removed);
    }

    private static NamespacedName nameOf(final EndpointSlice slice)
    {
        final String namespace = slice.getMetadata().getNamespace();
        return new NamespacedName(null == namespace || namespace.isEmpty() ? "default" : namespace,
            slice.getMetadata().getName());
    }

    private static NamespacedName serviceOf(final EndpointSlice slice)
    {
        final Map<String, String> labels = slice.getMetadata().getLabels();
        final String service = null == labels ? null : labels.get("kubernetes.io/service-name");
        return new NamespacedName(nameOf(slice).namespace(), null == service ? "" : service);
    }

    /** The endpoints controller, for explain. */
    /** What the model holds and what it rejected, for the CLI (served by {@link AgentHttpServer}). */
    public LiveView liveView()
    {
        return live;
    }

    public EndpointsController endpointsController()
    {
        return endpointsController;
    }

    private void record(final ModelChanges changes)
    {
        pending.addAll(changes.added());
        pending.addAll(changes.changed());
        pending.addAll(changes.removed());
    }

    private static String namespaceOf(final HasMetadata object)
    {
        if (object instanceof Node)
        {
            return "";
        }
        final String namespace = object.getMetadata().getNamespace();
        return null == namespace || namespace.isEmpty() ? "default" : namespace;
    }

    @Override
    public String roleName()
    {
        return "switchboard-agent";
    }

    /** The agent stops: errors of its last second are written too. */
    @Override
    public void onClose()
    {
        errors.writeIfDue(System.nanoTime() + 1_000_000_000L);
    }
}
