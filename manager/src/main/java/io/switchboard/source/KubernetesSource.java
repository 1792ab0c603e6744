package io.switchboard.source;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.ObjectKinds;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Desired state from a Kubernetes API server: informers on Services and EndpointSlices in every
 * namespace and on Nodes. Their callbacks run on fabric8's threads and only queue the change; the
 * agent thread running this source publishes them, so one {@link DesiredStateProxy} is used from one
 * thread.
 *
 * <p>A full snapshot of the informer caches is published once every informer has listed, again whenever
 * the watches come back after a disconnect (a relist replaces the caches), when the queue overflowed,
 * and periodically: whatever was deleted while nobody was watching is absent from it, so the agent
 * removes it. After the first snapshot, adds and updates are upserts and deletions are deletes. An upsert
 * queued before a snapshot may be published after it with an older version of the object; the newer
 * version's own event follows it, so the agent ends on the cached state.
 */
public final class KubernetesSource implements Agent
{
    /** How often the caches are published in full even when every watch stayed up. */
    public static final long DEFAULT_RESYNC_INTERVAL_NS = TimeUnit.SECONDS.toNanos(60);

    private static final int QUEUE_CAPACITY = 64 * 1024;
    private static final int DRAIN_LIMIT = 1024;

    /** One informer callback: the object as it now is, or as it was last seen before it was deleted. */
    private record Change(HasMetadata object, boolean deleted)
    {
    }

    private final KubernetesClient client;
    private final DesiredStateProxy proxy;
    private final Consumer<String> log;
    private final long resyncIntervalNs;
    private final ManyToOneConcurrentArrayQueue<Change> changes = new ManyToOneConcurrentArrayQueue<>(QUEUE_CAPACITY);
    private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();
    private volatile boolean overflowed;
    private boolean watching;
    private long nextResyncNs;
    private long snapshotId = System.currentTimeMillis();
    private long snapshots;

    public KubernetesSource(final KubernetesClient client, final DesiredStateProxy proxy, final Consumer<String> log)
    {
        this(client, proxy, log, DEFAULT_RESYNC_INTERVAL_NS);
    }

    /** @param resyncIntervalNs how often the caches are published in full while every watch stays up. */
    public KubernetesSource(final KubernetesClient client, final DesiredStateProxy proxy, final Consumer<String> log,
        final long resyncIntervalNs)
    {
        this.client = Objects.requireNonNull(client, "client");
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.log = Objects.requireNonNull(log, "log");
        this.resyncIntervalNs = resyncIntervalNs;
    }

    /** Starts the informers (without waiting for them to list); the first snapshot follows once they have. */
    @Override
    public void onStart()
    {
        start("services", client.services().inAnyNamespace().runnableInformer(0));
        start("endpointslices", client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0));
        start("nodes", client.nodes().runnableInformer(0));
    }

    private <T extends HasMetadata> void start(final String resource, final SharedIndexInformer<T> informer)
    {
        informer.addEventHandler(new ResourceEventHandler<T>()
        {
            @Override
            public void onAdd(final T object)
            {
                enqueue(object, false);
            }

            @Override
            public void onUpdate(final T previous, final T object)
            {
                enqueue(object, false);
            }

            @Override
            public void onDelete(final T object, final boolean finalStateUnknown)
            {
                enqueue(object, true);
            }
        });
        informer.stopped().whenComplete((ignored, error) ->
        {
            if (null != error)
            {
                log.accept("kubernetes: the " + resource + " informer stopped: " + error.getMessage());
            }
        });
        informers.add(informer);
        informer.start();
    }

    private void enqueue(final HasMetadata object, final boolean deleted)
    {
        if (!changes.offer(new Change(object, deleted)))
        {
            // the next snapshot of the caches carries what was dropped
            overflowed = true;
        }
    }

    @Override
    public int doWork()
    {
        // until the first snapshot, the caches it is read from already hold every queued change
        int work = changes.drain(0 == snapshots ? this::discard : this::publish, DRAIN_LIMIT);
        if (!allWatching() || !allSynced())
        {
            // a cache is stale or being relisted: the snapshot waits until every watch is back
            watching = false;
            return work;
        }
        final long now = System.nanoTime();
        final boolean reconnected = !watching;
        watching = true;
        if (reconnected || overflowed || now - nextResyncNs >= 0)
        {
            overflowed = false;
            nextResyncNs = now + resyncIntervalNs;
            publishSnapshot();
            work++;
        }
        return work;
    }

    private boolean allWatching()
    {
        for (final SharedIndexInformer<? extends HasMetadata> informer : informers)
        {
            if (!informer.isWatching())
            {
                return false;
            }
        }
        return !informers.isEmpty();
    }

    private boolean allSynced()
    {
        for (final SharedIndexInformer<? extends HasMetadata> informer : informers)
        {
            if (!informer.hasSynced())
            {
                return false;
            }
        }
        return !informers.isEmpty();
    }

    private void discard(final Change change)
    {
    }

    private void publish(final Change change)
    {
        final HasMetadata object = change.object();
        final ObjectKind kind = ObjectKinds.of(object);
        if (null == kind)
        {
            return;
        }
        if (change.deleted())
        {
            proxy.delete(SourceKind.KUBERNETES, kind, object.getMetadata().getNamespace(),
                object.getMetadata().getName());
        }
        else
        {
            proxy.upsert(SourceKind.KUBERNETES, 0, object);
        }
    }

    private void publishSnapshot()
    {
        final long id = ++snapshotId;
        proxy.snapshotBegin(SourceKind.KUBERNETES, id);
        int count = 0;
        for (final SharedIndexInformer<? extends HasMetadata> informer : informers)
        {
            for (final HasMetadata object : informer.getStore().list())
            {
                proxy.upsert(SourceKind.KUBERNETES, id, object);
                count++;
            }
        }
        proxy.snapshotEnd(SourceKind.KUBERNETES, id, count);
        snapshots++;
    }

    /** Snapshots published so far. */
    public long snapshots()
    {
        return snapshots;
    }

    /** Stops the informers; the client stays open (its owner closes it). */
    @Override
    public void onClose()
    {
        informers.forEach(SharedIndexInformer::stop);
    }

    @Override
    public String roleName()
    {
        return "kubernetes-source";
    }
}
