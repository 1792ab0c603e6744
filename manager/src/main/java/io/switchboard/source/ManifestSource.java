package io.switchboard.source;

import io.switchboard.log.Log;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.KubernetesList;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.ObjectKinds;
import io.switchboard.control.codecs.SourceKind;
import org.agrona.concurrent.Agent;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Stream;

/**
 * Desired state from a directory of ordinary Kubernetes YAML (or JSON) manifests. Whenever a file
 * changes, the whole directory is published as one snapshot, so a deleted file or object disappears
 * from the dataplane. A file that does not parse keeps its last good objects in the snapshot (and is
 * reported once per change), so a typo never deletes a running service.
 */
public final class ManifestSource implements Agent
{
    private static final long SCAN_INTERVAL_NS = 250_000_000L;

    private final Path directory;
    private final DesiredStateProxy proxy;
    private final KubernetesSerialization serialization;
    private final Consumer<String> log;
    private final Map<Path, List<HasMetadata>> lastGood = new HashMap<>();
    private Map<Path, FileTime> fingerprint = Map.of();
    private long nextScanNs;
    private long snapshotId = System.currentTimeMillis();

    public ManifestSource(final Path directory, final DesiredStateProxy proxy,
        final KubernetesSerialization serialization, final Consumer<String> log)
    {
        this.directory = Objects.requireNonNull(directory, "directory");
        this.proxy = Objects.requireNonNull(proxy, "proxy");
        this.serialization = Objects.requireNonNull(serialization, "serialization");
        this.log = Objects.requireNonNull(log, "log");
    }

    @Override
    public int doWork()
    {
        final long now = System.nanoTime();
        if (now - nextScanNs < 0)
        {
            return 0;
        }
        nextScanNs = now + SCAN_INTERVAL_NS;
        final Map<Path, FileTime> current = scan();
        if (current.equals(fingerprint))
        {
            return 0;
        }
        fingerprint = current;
        publishSnapshot(current);
        return 1;
    }

    private Map<Path, FileTime> scan()
    {
        final Map<Path, FileTime> files = new HashMap<>();
        try (Stream<Path> entries = Files.list(directory))
        {
            for (final Path file : entries.filter(ManifestSource::isManifest).toList())
            {
                files.put(file, Files.getLastModifiedTime(file));
            }
        }
        catch (final IOException ex)
        {
            log.accept(Log.warn("manifests: cannot read " + directory + ": " + ex.getMessage()));
            return fingerprint;
        }
        return files;
    }

    private static boolean isManifest(final Path file)
    {
        final String name = file.getFileName().toString();
        return Files.isRegularFile(file) && (name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json"));
    }

    private void publishSnapshot(final Map<Path, FileTime> files)
    {
        final List<HasMetadata> objects = new ArrayList<>();
        lastGood.keySet().retainAll(files.keySet());
        for (final Path file : files.keySet().stream().sorted().toList())
        {
            try
            {
                final List<HasMetadata> parsed = parse(file);
                lastGood.put(file, parsed);
                objects.addAll(parsed);
            }
            catch (final RuntimeException | IOException ex)
            {
                log.accept(Log.warn("manifests: " + file + ": " + firstLine(ex.getMessage()) +
                    " (keeping its last good objects)"));
                objects.addAll(lastGood.getOrDefault(file, List.of()));
            }
        }
        final long id = ++snapshotId;
        proxy.snapshotBegin(SourceKind.MANIFESTS, id);
        int count = 0;
        for (final HasMetadata object : objects)
        {
            if (null != ObjectKinds.of(object))
            {
                proxy.upsert(SourceKind.MANIFESTS, id, object);
                count++;
            }
        }
        proxy.snapshotEnd(SourceKind.MANIFESTS, id, count);
    }

    /** The objects of one file: several YAML documents, or a v1 List, are all read. */
    public List<HasMetadata> parse(final Path file) throws IOException
    {
        return parse(serialization, file);
    }

    /**
     * The objects of one file, parsed with {@code serialization}.
     *
     * @throws IllegalArgumentException when a document is not a Kubernetes object or has no name
     */
    public static List<HasMetadata> parse(final KubernetesSerialization serialization, final Path file)
        throws IOException
    {
        try (InputStream in = Files.newInputStream(file))
        {
            final Object parsed = serialization.unmarshal(in);
            final List<HasMetadata> objects = new ArrayList<>();
            collect(parsed, objects, file);
            return objects;
        }
    }

    private static void collect(final Object parsed, final List<HasMetadata> into, final Path file)
    {
        switch (parsed)
        {
            case null -> { }
            case KubernetesList list -> list.getItems().forEach(item -> collect(item, into, file));
            case List<?> documents -> documents.forEach(document -> collect(document, into, file));
            case HasMetadata object ->
            {
                if (null == object.getMetadata() || null == object.getMetadata().getName())
                {
                    throw new IllegalArgumentException(object.getKind() + " without metadata.name");
                }
                into.add(object);
            }
            default -> throw new IllegalArgumentException("not a Kubernetes object: " + parsed.getClass().getSimpleName());
        }
    }

    private static String firstLine(final String text)
    {
        if (null == text)
        {
            return "unreadable";
        }
        final int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }

    @Override
    public String roleName()
    {
        return "manifest-source";
    }
}
