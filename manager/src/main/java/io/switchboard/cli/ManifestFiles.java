package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.model.EndpointSliceValidator;
import io.switchboard.model.NamespacedName;
import io.switchboard.model.NodePortRange;
import io.switchboard.model.NodeValidator;
import io.switchboard.model.RejectedObjectException;
import io.switchboard.model.ServiceValidator;
import io.switchboard.source.ManifestSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The objects of {@code -f FILE|DIR}, read and validated completely before anything is published: a
 * missing file, a document that does not parse, a kind the control plane does not carry or an object the
 * model's validators refuse is a {@link CliException} whose one line names the file, the object and the
 * field. Namespaced objects without a namespace get {@code default}, as kubectl gives them.
 */
final class ManifestFiles
{
    /** One object and the file it came from. */
    record FileObject(Path file, HasMetadata object)
    {
    }

    private final KubernetesSerialization serialization;
    private final ServiceValidator serviceValidator = new ServiceValidator(NodePortRange.DEFAULT);

    ManifestFiles(final KubernetesSerialization serialization)
    {
        this.serialization = serialization;
    }

    /** Every object of {@code path} (a file, or the manifests directly inside a directory), validated. */
    List<FileObject> read(final Path path)
    {
        final List<FileObject> objects = new ArrayList<>();
        for (final Path file : files(path))
        {
            final List<HasMetadata> parsed;
            try
            {
                parsed = ManifestSource.parse(serialization, file);
            }
            catch (final IOException | RuntimeException ex)
            {
                throw new CliException(file + ": does not parse: " + firstLine(ex.getMessage()));
            }
            for (final HasMetadata object : parsed)
            {
                validate(file, object);
                objects.add(new FileObject(file, object));
            }
        }
        if (objects.isEmpty())
        {
            throw new CliException(path + ": no objects found");
        }
        return objects;
    }

    private static List<Path> files(final Path path)
    {
        if (Files.isRegularFile(path))
        {
            return List.of(path);
        }
        if (!Files.isDirectory(path))
        {
            throw new CliException(path + ": no such file or directory");
        }
        try (Stream<Path> entries = Files.list(path))
        {
            return entries.filter(ManifestFiles::isManifest).sorted().toList();
        }
        catch (final IOException ex)
        {
            throw new CliException(path + ": cannot read: " + ex.getMessage());
        }
    }

    private static boolean isManifest(final Path file)
    {
        final String name = file.getFileName().toString();
        return Files.isRegularFile(file) && (name.endsWith(".yaml") || name.endsWith(".yml") || name.endsWith(".json"));
    }

    private void validate(final Path file, final HasMetadata object)
    {
        if (!(object instanceof Node) && null == object.getMetadata().getNamespace())
        {
            object.getMetadata().setNamespace(NamespacedName.DEFAULT_NAMESPACE);
        }
        try
        {
            switch (object)
            {
                case Service service -> serviceValidator.validate(service);
                case EndpointSlice slice -> EndpointSliceValidator.validate(slice);
                case Node node -> NodeValidator.validate(node);
                case Pod ignored -> { }
                default -> throw new CliException(file + ": " + object.getKind() + " " + NamespacedName.of(object) +
                    ": kind: switchboard carries Service, EndpointSlice, Pod and Node only");
            }
        }
        catch (final RejectedObjectException ex)
        {
            throw new CliException(file + ": " + ex.getMessage());
        }
    }

    /** "service/web", the way kubectl names an object in its output. */
    static String resourceName(final HasMetadata object)
    {
        return object.getKind().toLowerCase() + "/" + object.getMetadata().getName();
    }

    static String firstLine(final String text)
    {
        if (null == text)
        {
            return "unreadable";
        }
        final int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }
}
