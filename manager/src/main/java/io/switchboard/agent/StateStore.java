package io.switchboard.agent;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ObjectKinds;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Objects that arrived from the CLI or from manifests, kept under {@code --state-dir} so that a
 * restarted agent restores them before anything else (with a Kubernetes API, the API is the truth and
 * nothing is kept). One JSON file per object, written atomically (write then rename).
 */
public final class StateStore
{
    private final Path directory;
    private final KubernetesSerialization serialization;

    public StateStore(final Path directory, final KubernetesSerialization serialization)
    {
        this.directory = directory;
        this.serialization = serialization;
    }

    /** One restored object and the source it came from. */
    public record Saved(SourceKind source, HasMetadata object)
    {
    }

    void save(final SourceKind source, final ObjectKind kind, final HasMetadata object)
    {
        final Path file = file(source, kind, object.getMetadata().getNamespace(), object.getMetadata().getName());
        try
        {
            Files.createDirectories(file.getParent());
            final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
            Files.writeString(temporary, serialization.asJson(object), StandardCharsets.UTF_8);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("saving " + file, ex);
        }
    }

    void remove(final SourceKind source, final ObjectKind kind, final String namespace, final String name)
    {
        try
        {
            Files.deleteIfExists(file(source, kind, namespace, name));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /** Every saved object, Nodes first, then Services, then the rest (so references resolve). */
    public List<Saved> load()
    {
        final List<Saved> objects = new ArrayList<>();
        for (final SourceKind source : List.of(SourceKind.MANIFESTS, SourceKind.CLI))
        {
            for (final ObjectKind kind : List.of(ObjectKind.NODE, ObjectKind.SERVICE, ObjectKind.ENDPOINT_SLICE,
                ObjectKind.POD))
            {
                load(source, kind, objects);
            }
        }
        return objects;
    }

    private void load(final SourceKind source, final ObjectKind kind, final List<Saved> objects)
    {
        {
            final Path kindDirectory = directory.resolve(source.name().toLowerCase()).resolve(kind.name().toLowerCase());
            if (!Files.isDirectory(kindDirectory))
            {
                return;
            }
            try (Stream<Path> files = Files.list(kindDirectory))
            {
                for (final Path file : files.filter(f -> f.toString().endsWith(".json")).sorted().toList())
                {
                    objects.add(new Saved(source,
                        serialization.unmarshal(Files.readString(file), ObjectKinds.modelClass(kind))));
                }
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException("reading " + kindDirectory, ex);
            }
        }
    }

    private Path file(final SourceKind source, final ObjectKind kind, final String namespace, final String name)
    {
        final String prefix = null == namespace || namespace.isEmpty() ? "_" : namespace;
        return directory.resolve(source.name().toLowerCase()).resolve(kind.name().toLowerCase())
            .resolve(prefix + "." + name + ".json");
    }
}
