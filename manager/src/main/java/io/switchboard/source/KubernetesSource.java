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
 * <p>A full snapshot of the informer caches is published once every informer has listed, when the queue
 * overflowed, and periodically. When a watch was seen down, the informers are replaced by new ones once
 * the server answers again: they list afresh, and the snapshot of their caches lacks whatever was deleted
 * while nobody was watching, so the agent removes it. (fabric8 resumes a dropped watch from its last
 * resourceVersion; an API server replays what happened since or answers 410 Gone, which makes the
 * informer relist, but a fresh list does not depend on either.) Changes are published as upserts and
 * deletes only after the first snapshot of the current informers, and only those informers' changes: the
 * caches a snapshot is read from already hold what came before it. An upsert queued before a snapshot may
 * be published after it with an older version of the object; the newer version's own event follows it,
 * so the agent ends on the cached state.
 */
public final class KubernetesSource implements Agent
{
    /** How often the caches are published in full even when every watch stayed up. */
    public static final long DEFAULT_RESYNC_INTERVAL_NS = TimeUnit.SECONDS.toNanos(60);

    private static final int QUEUE_CAPACITY = 64 * 1024;
    private static final int DRAIN_LIMIT = 1024;

    /**
     * One informer callback: the object as it now is, or as it was last seen before it was deleted, from
     * the informers of {@code generation}.
     */
    private record Change(int generation, HasMetadata object, boolean deleted)
    {
    }

    private final KubernetesClient client;
    private final DesiredStateProxy proxy;
    private final Consumer<String> log;
    private final long resyncIntervalNs;
    private final ManyToOneConcurrentArrayQueue<Change> changes = new ManyToOneConcurrentArrayQueue<>(QUEUE_CAPACITY);
    private final List<SharedIndexInformer<? extends HasMetadata>> informers = new ArrayList<>();
    private volatile boolean overflowed;
    /** Counts informer sets: changes from replaced informers are dropped. */
    private volatile int generation;
    private boolean watching;
    private boolean watchWasDown;
    private boolean snapshotOfCurrentInformers;
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
        startInformers();
    }

    private void startInformers()
    {
        final int current = ++generation;
        watching = false;
        watchWasDown = false;
        snapshotOfCurrentInformers = false;
        start(current, "services", client.services().inAnyNamespace().runnableInformer(0));
        start(current, "endpointslices",
            client.discovery().v1().endpointSlices().inAnyNamespace().runnableInformer(0));
        start(current, "nodes", client.nodes().runnableInformer(0));
    }

    private <T extends HasMetadata> void start(
        final int informerGeneration, final String resource, final SharedIndexInformer<T> informer)
    {
        informer.addEventHandler(new ResourceEventHandler<T>()
        {
            @Override
            public void onAdd(final T object)
            {
                enqueue(new Change(informerGeneration, object, false));
            }

            @Override
            public void onUpdate(final T previous, final T object)
            {
                enqueue(new Change(informerGeneration, object, false));
            }

            @Override
            public void onDelete(final T object, final boolean finalStateUnknown)
            {
                enqueue(new Change(informerGeneration, object, true));
            }
        });
        informer.stopped().whenComplete((ignored, error) ->
        {
            if (null != error && informerGeneration == generation)
            {
                log.accept("kubernetes: the " + resource + " informer stopped: " + error.getMessage());
            }
        });
        informers.add(informer);
        informer.start();
    }

    private void enqueue(final Change change)
    {
        if (change.generation() == generation && !changes.offer(change))
        {
            // the next snapshot of the caches carries what was dropped
            overflowed = true;
        }
    }

    @Override
    public int doWork()
    {
        int work = changes.drain(this::publish, DRAIN_LIMIT);
        if (!allWatching() || !allSynced())
        {
            // a cache is stale or being listed: the snapshot waits until every watch is back
            watchWasDown |= watching;
            watching = false;
            return work;
        }
        if (watchWasDown)
        {
            log.accept("kubernetes: the watches are back; listing everything afresh");
            stopInformers();
            startInformers();
            return work + 1;
        }
        final long now = System.nanoTime();
        final boolean firstSnapshot = !snapshotOfCurrentInformers;
        watching = true;
        if (firstSnapshot || overflowed || now - nextResyncNs >= 0)
        {
            overflowed = false;
            nextResyncNs = now + resyncIntervalNs;
            publishSnapshot();
            snapshotOfCurrentInformers = true;
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

    private void publish(final Change change)
    {
        if (change.generation() != generation || !snapshotOfCurrentInformers)
        {
            // from replaced informers, or already in the caches the coming snapshot is read from
            return;
        }
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
        stopInformers();
    }

    private void stopInformers()
    {
        informers.forEach(SharedIndexInformer::stop);
        informers.clear();
    }

    @Override
    public String roleName()
    {
        return "kubernetes-source";
    }
}
