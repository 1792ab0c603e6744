package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;

import java.io.IOException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.LockSupport;

/**
 * What the running agent made of the objects {@code apply} or {@code delete} sent, read from its live view
 * ({@code /objects}, {@code /rejected}, {@code /observed} on its metrics address): each object's verdict as kubectl
 * prints it ({@code created}, {@code configured}, {@code unchanged}, {@code deleted}) or the agent's reason for
 * refusing it. The view is read once before sending (what existed, and the agent's sequence number) and again once
 * the agent has handled every object sent (each appears in {@code /observed} after that number).
 */
final class AgentVerdicts
{
    /** How long the agent may take to handle what was sent (it parks up to 10 ms between polls). */
    private static final long WAIT_NS = 10_000_000_000L;
    private static final long POLL_NS = 5_000_000L;

    /** One object's outcome: a verb to print, or the reason it failed (error non-null). */
    record Verdict(String verb, String error)
    {
    }

    private final String agent;
    private final KubernetesSerialization serialization;
    private final long sequence;
    private final Map<String, String> before;

    private AgentVerdicts(final String agent, final KubernetesSerialization serialization, final long sequence,
        final Map<String, String> before)
    {
        this.agent = agent;
        this.serialization = serialization;
        this.sequence = sequence;
        this.before = before;
    }

    /** The agent's view before sending, or null when none answers at {@code agent} (or it is "off"). */
    static AgentVerdicts before(final String agent, final KubernetesSerialization serialization)
    {
        if ("off".equals(agent))
        {
            return null;
        }
        try
        {
            final long sequence = sequence(serialization.unmarshal(
                AgentObjects.get(agent, "/observed?after=" + Long.MAX_VALUE), Map.class));
            return new AgentVerdicts(agent, serialization, sequence, objects(agent, serialization));
        }
        catch (final IOException | RuntimeException ex)
        {
            return null;
        }
    }

    /**
     * Waits until the agent has handled every object of {@code sent}, then gives each its verdict, by {@link #key}.
     * An object the agent has not handled within 10 s gets the verb {@code sent (no verdict yet)}.
     */
    Map<String, Verdict> await(final List<HasMetadata> sent, final boolean deleting) throws IOException
    {
        final Set<String> waiting = new HashSet<>();
        sent.forEach(object -> waiting.add(key(object)));
        final long deadline = System.nanoTime() + WAIT_NS;
        while (!waiting.isEmpty() && System.nanoTime() - deadline < 0)
        {
            final Map<?, ?> observed = serialization.unmarshal(AgentObjects.get(agent, "/observed?after=" + sequence),
                Map.class);
            if (observed.get("items") instanceof List<?> items)
            {
                for (final Object item : items)
                {
                    if (item instanceof Map<?, ?> entry)
                    {
                        waiting.remove(entry.get("kind") + "/" + entry.get("namespace") + "/" + entry.get("name"));
                    }
                }
            }
            if (!waiting.isEmpty())
            {
                LockSupport.parkNanos(POLL_NS);
            }
        }
        final Map<String, String> after = objects(agent, serialization);
        final Map<String, String> rejected = new HashMap<>();
        final Map<?, ?> rejections = serialization.unmarshal(AgentObjects.get(agent, "/rejected"), Map.class);
        if (rejections.get("items") instanceof List<?> items)
        {
            for (final Object item : items)
            {
                if (item instanceof Map<?, ?> entry)
                {
                    rejected.put(entry.get("kind") + "/" + entry.get("namespace") + "/" + entry.get("name"),
                        entry.get("field") + ": " + entry.get("reason"));
                }
            }
        }
        final Map<String, Verdict> verdicts = new HashMap<>();
        for (final HasMetadata object : sent)
        {
            final String key = key(object);
            final Verdict verdict;
            if (waiting.contains(key))
            {
                verdict = new Verdict("sent (no verdict from the agent within 10 s; see its log)", null);
            }
            else if (deleting)
            {
                verdict = before.containsKey(key) ? new Verdict("deleted", null) : new Verdict(null, "not found");
            }
            else if (rejected.containsKey(key))
            {
                verdict = new Verdict(null, "the agent rejected it: " + rejected.get(key));
            }
            else if (!before.containsKey(key))
            {
                verdict = new Verdict("created", null);
            }
            else
            {
                verdict = new Verdict(before.get(key).equals(after.get(key)) ? "unchanged" : "configured", null);
            }
            verdicts.put(key, verdict);
        }
        return verdicts;
    }

    /** Kind/namespace/name as the live view keys it ("default" when a namespaced object names none). */
    static String key(final HasMetadata object)
    {
        final String namespace = object instanceof Node ? "" :
            null == object.getMetadata().getNamespace() || object.getMetadata().getNamespace().isEmpty() ? "default" :
                object.getMetadata().getNamespace();
        return object.getKind() + "/" + namespace + "/" + object.getMetadata().getName();
    }

    private static Map<String, String> objects(final String agent, final KubernetesSerialization serialization)
        throws IOException
    {
        final KubernetesList list = serialization.unmarshal(AgentObjects.get(agent, "/objects"), KubernetesList.class);
        final Map<String, String> objects = new HashMap<>();
        for (final HasMetadata item : list.getItems())
        {
            objects.put(key(item), serialization.asJson(item));
        }
        return objects;
    }

    private static long sequence(final Map<?, ?> observed)
    {
        return observed.get("sequence") instanceof Number number ? number.longValue() : 0;
    }
}
