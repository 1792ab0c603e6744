package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateProxy;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.BiFunction;

/**
 * What {@code apply} and {@code delete} share: read and validate every object of every {@code -f} first;
 * only when all are valid, connect to the agent and send them. Errors are one line and exit 1.
 */
abstract class ManifestCommand implements Callable<Integer>
{
    @Option(names = {"-f", "--filename"}, required = true,
        description = "A manifest file, or a directory of them (repeatable).")
    private List<Path> paths = new ArrayList<>();

    @Option(names = "--aeron-dir", description = "The agent's Aeron directory (default /dev/shm/switchboard-aeron).")
    private Path aeronDirectory;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    private final BiFunction<Path, KubernetesSerialization, DesiredStateSink> sinks;

    ManifestCommand(final BiFunction<Path, KubernetesSerialization, DesiredStateSink> sinks)
    {
        this.sinks = sinks;
    }

    @Override
    public final Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final PrintWriter err = spec.commandLine().getErr();
        final KubernetesSerialization serialization = new KubernetesSerialization();
        try
        {
            final ManifestFiles files = new ManifestFiles(serialization);
            final List<ManifestFiles.FileObject> objects = new ArrayList<>();
            for (final Path path : paths)
            {
                objects.addAll(files.read(path));
            }
            final Path directory = null == aeronDirectory ? ControlPlaneConfiguration.aeronDirectory() : aeronDirectory;
            try (DesiredStateSink sink = sinks.apply(directory, serialization))
            {
                for (final ManifestFiles.FileObject object : objects)
                {
                    out.println(ManifestFiles.resourceName(object.object()) + " " + send(sink, object.object()));
                    out.flush();
                }
            }
            return 0;
        }
        catch (final CliException | DesiredStateProxy.PublishException ex)
        {
            err.println("error: " + ex.getMessage());
            err.flush();
            return 1;
        }
    }

    /** Sends one object; returns the verb printed after its name. */
    abstract String send(DesiredStateSink sink, HasMetadata object);
}
