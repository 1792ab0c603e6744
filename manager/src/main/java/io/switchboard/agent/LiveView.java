package io.switchboard.agent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesListBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the agent's model holds, for the CLI: every Service, EndpointSlice (received and derived by the endpoints
 * controller), Pod and Node as the agent last accepted it, and the objects it rejected with the field and reason.
 * The agent thread updates it per object (O(change)); the HTTP threads read it without locks. Objects are not
 * changed after they are put here (the agent makes new ones), so serving them from another thread is safe.
 */
public final class LiveView
{
    /** A rejected object: what {@code apply} and {@code explain} report. */
    public record Rejection(String kind, String namespace, String name, String field, String reason)
    {
    }

    private final ConcurrentHashMap<String, HasMetadata> objects = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, Rejection> rejections = new ConcurrentHashMap<>();
    /** Key → the sequence number of the last time the agent accepted, rejected or deleted it. */
    private final ConcurrentHashMap<String, Long> observed = new ConcurrentHashMap<>();
    private final AtomicLong sequence = new AtomicLong();

    /** The object as the model holds it now, in {@code namespace} ("" for Nodes); clears a rejection of it. */
    public void put(final String namespace, final HasMetadata object)
    {
        final String key = key(object.getKind(), namespace, object.getMetadata().getName());
        objects.put(key, object);
        rejections.remove(key);
        observe(key);
    }

    /** The object is gone (deleted, or a derived slice no longer wanted). */
    public void remove(final String kind, final String namespace, final String name)
    {
        final String key = key(kind, namespace, name);
        objects.remove(key);
        rejections.remove(key);
        observe(key);
    }

    /** The agent refused this version of the object; an earlier accepted version, which the model still serves, stays. */
    public void reject(final String kind, final String namespace, final String name, final String field,
        final String reason)
    {
        final String key = key(kind, namespace, name);
        rejections.put(key, new Rejection(kind, null == namespace || namespace.isEmpty() ? "" : namespace, name,
            field, reason));
        observe(key);
    }

    private void observe(final String key)
    {
        observed.put(key, sequence.incrementAndGet());
    }

    /**
     * What the agent handled after sequence number {@code after}, so {@code apply} and {@code delete} can wait for
     * their verdict: {@code {"kind": "ObservedList", "sequence": N, "items": [{kind, namespace, name, sequence}]}};
     * an object's entry there means it is now in {@code /objects} (accepted), in {@code /rejected}, or gone.
     */
    public String observedJson(final KubernetesSerialization serialization, final long after)
    {
        final List<Map<String, Object>> items = new ArrayList<>();
        observed.forEach((key, seen) ->
        {
            if (seen > after)
            {
                final String[] parts = key.split("/", 3);
                final Map<String, Object> item = new LinkedHashMap<>();
                item.put("kind", parts[0]);
                item.put("namespace", parts[1]);
                item.put("name", parts[2]);
                item.put("sequence", seen);
                items.add(item);
            }
        });
        final Map<String, Object> list = new LinkedHashMap<>();
        list.put("kind", "ObservedList");
        list.put("sequence", sequence.get());
        list.put("items", items);
        return serialization.asJson(list);
    }

    /** The objects as a Kubernetes {@code v1 List}, sorted by kind, namespace and name. */
    public String objectsJson(final KubernetesSerialization serialization)
    {
        final List<HasMetadata> items = new ArrayList<>(objects.values());
        items.sort(Comparator.comparing((HasMetadata o) -> o.getKind())
            .thenComparing(o -> String.valueOf(o.getMetadata().getNamespace()))
            .thenComparing(o -> o.getMetadata().getName()));
        return serialization.asJson(new KubernetesListBuilder().withItems(items).build());
    }

    /** The rejections as {@code {"kind": "RejectionList", "items": [{kind, namespace, name, field, reason}]}}. */
    public String rejectionsJson(final KubernetesSerialization serialization)
    {
        final List<Rejection> items = new ArrayList<>(rejections.values());
        items.sort(Comparator.comparing(Rejection::kind).thenComparing(Rejection::namespace)
            .thenComparing(Rejection::name));
        final Map<String, Object> list = new LinkedHashMap<>();
        list.put("kind", "RejectionList");
        list.put("items", items);
        return serialization.asJson(list);
    }

    private static String key(final String kind, final String namespace, final String name)
    {
        return kind + "/" + (null == namespace ? "" : namespace) + "/" + name;
    }
}
