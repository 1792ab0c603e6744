package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.agent.StateStore;

import java.io.IOException;
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The objects the CLI explains and names frontends with: the running agent's live view ({@code /objects} and
 * {@code /rejected} on its metrics address), which holds what every source gave it and the EndpointSlices it
 * derived from Pods; only when no agent answers, the objects kept under {@code --state-dir} (manifests and
 * {@code apply}), which lack both. {@link #source()} says which, so the output can say it too.
 *
 * @param objects    Services, EndpointSlices, Pods and Nodes
 * @param rejections what the agent refused and why (empty when read from the state directory)
 * @param source     where they were read, for the user
 * @param live       whether they came from a running agent
 */
record AgentObjects(List<HasMetadata> objects, List<Rejection> rejections, String source, boolean live)
{
    /** The default of {@code --agent}: the agent's default {@code --metrics-address}. */
    static final String DEFAULT_AGENT = "http://127.0.0.1:10249";

    private static final int CONNECT_TIMEOUT_MS = 300;
    private static final int READ_TIMEOUT_MS = 5_000;

    /** One object the agent refused: its kind, namespace ("" for Nodes), name, the field and the reason. */
    record Rejection(String kind, String namespace, String name, String field, String reason)
    {
    }

    /** From the agent at {@code agent} ("off": never), else from {@code stateDirectory}. */
    static AgentObjects load(final String agent, final Path stateDirectory)
    {
        final KubernetesSerialization serialization = new KubernetesSerialization();
        String unreachable = null;
        if (!"off".equals(agent))
        {
            try
            {
                final KubernetesList list = serialization.unmarshal(get(agent, "/objects"), KubernetesList.class);
                final Map<?, ?> rejected = serialization.unmarshal(get(agent, "/rejected"), Map.class);
                return new AgentObjects(List.copyOf(list.getItems()), rejections(rejected),
                    "the agent's live view (" + agent + ")", true);
            }
            catch (final IOException | RuntimeException ex)
            {
                unreachable = ex.getMessage();
            }
        }
        return new AgentObjects(stateObjects(stateDirectory, serialization), List.of(),
            "--state-dir " + stateDirectory + (null == unreachable ? "" :
                " (no agent answered at " + agent + ": " + unreachable + ")"), false);
    }

    /** The rejection of {@code kind namespace/name}, or null. */
    Rejection rejectionOf(final String kind, final String namespace, final String name)
    {
        return rejections.stream().filter(r -> r.kind().equals(kind) && r.namespace().equals(namespace) &&
            r.name().equals(name)).findFirst().orElse(null);
    }

    static String get(final String agent, final String path) throws IOException
    {
        final HttpURLConnection connection = (HttpURLConnection)URI.create(agent + path).toURL().openConnection();
        connection.setConnectTimeout(CONNECT_TIMEOUT_MS);
        connection.setReadTimeout(READ_TIMEOUT_MS);
        try
        {
            final int status = connection.getResponseCode();
            if (status != 200)
            {
                throw new IOException("HTTP " + status + " for " + path + " (an agent older than the live view?)");
            }
            try (InputStream in = connection.getInputStream())
            {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
        }
        finally
        {
            connection.disconnect();
        }
    }

    private static List<Rejection> rejections(final Map<?, ?> list)
    {
        final List<Rejection> rejections = new ArrayList<>();
        if (list.get("items") instanceof List<?> items)
        {
            for (final Object item : items)
            {
                if (item instanceof Map<?, ?> map)
                {
                    rejections.add(new Rejection(text(map, "kind"), text(map, "namespace"), text(map, "name"),
                        text(map, "field"), text(map, "reason")));
                }
            }
        }
        return rejections;
    }

    private static String text(final Map<?, ?> map, final String key)
    {
        return Objects.toString(map.get(key), "");
    }

    /** Every object the agent keeps under {@code stateDirectory}, from manifests and from the CLI. */
    private static List<HasMetadata> stateObjects(final Path stateDirectory,
        final KubernetesSerialization serialization)
    {
        if (!Files.isDirectory(stateDirectory))
        {
            return List.of();
        }
        try
        {
            return new StateStore(stateDirectory, serialization).load().stream().map(StateStore.Saved::object)
                .toList();
        }
        catch (final RuntimeException ex)
        {
            return List.of();
        }
    }
}
