package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateProxy;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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

    @Option(names = "--agent", defaultValue = AgentObjects.DEFAULT_AGENT, description = "The running agent's "
        + "metrics address, where its verdict on each object is read (default ${DEFAULT-VALUE}; off: print what was "
        + "sent without waiting).")
    private String agent;

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
            final List<String> sentVerbs = new ArrayList<>();
            AgentVerdicts verdicts = null;
            try (DesiredStateSink sink = sinks.apply(directory, serialization))
            {
                verdicts = AgentVerdicts.before(agent, serialization); // what existed, before anything is sent
                for (final ManifestFiles.FileObject object : objects)
                {
                    sentVerbs.add(send(sink, object.object()));
                }
            }
            if (null == verdicts)
            {
                for (int i = 0; i < objects.size(); i++)
                {
                    out.println(ManifestFiles.resourceName(objects.get(i).object()) + " " + sentVerbs.get(i));
                }
                if (!"off".equals(agent))
                {
                    err.println("note: no agent answered at " + agent + " (its --metrics-address): sent, but its "
                        + "verdicts are only in its log");
                }
                out.flush();
                err.flush();
                return 0;
            }
            final Map<String, AgentVerdicts.Verdict> results = verdicts.await(
                objects.stream().map(ManifestFiles.FileObject::object).toList(), deleting());
            int code = 0;
            for (final ManifestFiles.FileObject object : objects)
            {
                final AgentVerdicts.Verdict verdict = results.get(AgentVerdicts.key(object.object()));
                if (null == verdict.error())
                {
                    out.println(ManifestFiles.resourceName(object.object()) + " " + verdict.verb());
                }
                else
                {
                    err.println("error: " + object.file() + ": " + ManifestFiles.resourceName(object.object()) + ": " +
                        verdict.error());
                    code = 1;
                }
            }
            out.flush();
            err.flush();
            return code;
        }
        catch (final IOException ex)
        {
            err.println("error: reading the agent's verdicts at " + agent + ": " + ex.getMessage());
            err.flush();
            return 1;
        }
        catch (final CliException | DesiredStateProxy.PublishException ex)
        {
            err.println("error: " + ex.getMessage());
            err.flush();
            return 1;
        }
    }

    /** Sends one object; returns the verb printed after its name when no agent's verdict can be read. */
    abstract String send(DesiredStateSink sink, HasMetadata object);

    /** Whether this command deletes what it sends. */
    abstract boolean deleting();
}
