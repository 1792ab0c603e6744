package io.switchboard.source;

import io.switchboard.log.Log;
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
 * overflowed, and periodically (from the caches: no request to the API server). A watch that drops is resumed
 * by fabric8 from its last resourceVersion: the API server replays what happened since, or answers 410 Gone,
 * on which the informer lists afresh and reports what disappeared meanwhile as deletions; nothing here lists
 * everything again on a reconnect. An informer that gives up (its first list failed: RBAC 403, an API server
 * that never answered) is not left stopped: the whole set is replaced by new informers after a backoff (1 s,
 * doubling up to {@link #MAX_RESTART_BACKOFF_NS}), until they list. {@link #watching} /
 * {@link #notWatchingForNs} tell the agent's {@code /healthz} how long it has been without live watches.
 * Changes are published as upserts and deletes only after the first snapshot of the current informers, and
 * only those informers' changes: the caches a snapshot is read from already hold what came before it. An
 * upsert queued before a snapshot may be published after it with an older version of the object; the newer
 * version's own event follows it, so the agent ends on the cached state.
 */
public final class KubernetesSource implements Agent
{
    /** How often the caches are published in full even when every watch stayed up. */
    public static final long DEFAULT_RESYNC_INTERVAL_NS = TimeUnit.SECONDS.toNanos(60);

    /** First wait before informers that gave up are replaced; it doubles up to the maximum. */
    public static final long FIRST_RESTART_BACKOFF_NS = TimeUnit.SECONDS.toNanos(1);
    public static final long MAX_RESTART_BACKOFF_NS = TimeUnit.SECONDS.toNanos(30);

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
    /** Why an informer of the current set gave up, or null. */
    private volatile Throwable gaveUp;
    private String gaveUpResource;
    private final long firstRestartBackoffNs;
    private long restartBackoffNs;
    private long restartAtNs;
    private volatile long restarts;
    /** Since when (nanoTime) not every informer has been watching a synced cache; 0 while they are. */
    private volatile long notWatchingSinceNs;
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
        this(client, proxy, log, resyncIntervalNs, FIRST_RESTART_BACKOFF_NS);
    }

    /** @param firstRestartBackoffNs the first wait before informers that gave up are replaced (then doubled). */
    public KubernetesSource(final KubernetesClient client, final DesiredStateProxy proxy, final Consumer<String> log,
        final long resyncIntervalNs, final long firstRestartBackoffNs)
    {
        this.client = Objects.requireNonNull(client, "client");
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.log = Objects.requireNonNull(log, "log");
        this.resyncIntervalNs = resyncIntervalNs;
        this.restartBackoffNs = firstRestartBackoffNs;
        this.firstRestartBackoffNs = firstRestartBackoffNs;
    }

    /** Starts the informers (without waiting for them to list); the first snapshot follows once they have. */
    @Override
    public void onStart()
    {
        notWatchingSinceNs = System.nanoTime();
        startInformers();
    }

    private void startInformers()
    {
        final int current = ++generation;
        gaveUp = null;
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
            if (null != error && informerGeneration == generation && null == gaveUp)
            {
                gaveUpResource = resource;
                gaveUp = error; // published by the volatile write: the agent thread replaces the set
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
        final long now = System.nanoTime();
        final Throwable error = gaveUp;
        if (null != error)
        {
            notWatching(now);
            if (0 == restartAtNs)
            {
                restartAtNs = now + restartBackoffNs;
                log.accept(Log.warn("kubernetes: the " + gaveUpResource + " informer gave up (" + rootMessage(error) +
                    "); new informers in " + TimeUnit.NANOSECONDS.toMillis(restartBackoffNs) + " ms"));
                return work + 1;
            }
            if (now - restartAtNs >= 0)
            {
                restartAtNs = 0;
                restartBackoffNs = Math.min(2 * restartBackoffNs, MAX_RESTART_BACKOFF_NS);
                restarts++;
                stopInformers();
                startInformers();
                return work + 1;
            }
            return work;
        }
        if (!allWatching() || !allSynced())
        {
            // a cache is stale or being listed: fabric8 resumes the watch (or lists again on 410 Gone)
            notWatching(now);
            return work;
        }
        if (0 != notWatchingSinceNs)
        {
            notWatchingSinceNs = 0;
            restartBackoffNs = firstRestartBackoffNs;
        }
        final boolean firstSnapshot = !snapshotOfCurrentInformers;
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

    private void notWatching(final long now)
    {
        if (0 == notWatchingSinceNs)
        {
            notWatchingSinceNs = now;
            log.accept(Log.warn("kubernetes: a watch is down; following changes again once it is back"));
        }
    }

    private static String rootMessage(final Throwable error)
    {
        Throwable cause = error;
        while (null != cause.getCause() && cause.getCause() != cause)
        {
            cause = cause.getCause();
        }
        return null == cause.getMessage() ? cause.toString() : cause.getMessage();
    }

    /**
     * How long (ns) the source has been without a live, synced watch on every resource, as of {@code nowNs};
     * 0 while it has them. Safe from any thread.
     */
    public long notWatchingForNs(final long nowNs)
    {
        final long since = notWatchingSinceNs;
        return 0 == since ? 0 : Math.max(1, nowNs - since);
    }

    /** Whether every informer watches a synced cache now. Safe from any thread. */
    public boolean watching()
    {
        return 0 == notWatchingSinceNs;
    }

    /** Times the informers were replaced after one gave up. Safe from any thread. */
    public long restarts()
    {
        return restarts;
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
