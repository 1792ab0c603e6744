package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import picocli.CommandLine.Command;

import java.nio.file.Path;
import java.util.function.BiFunction;

/** {@code switchboard apply -f FILE|DIR}: creates or replaces objects through the agent's stream. */
@Command(name = "apply", mixinStandardHelpOptions = true,
    description = "Validate manifests, then send their objects to the agent (as kubectl apply does).")
public final class ApplyCommand extends ManifestCommand
{
    public ApplyCommand()
    {
        this(DesiredStateSink::aeron);
    }

    ApplyCommand(final BiFunction<Path, KubernetesSerialization, DesiredStateSink> sinks)
    {
        super(sinks);
    }

    @Override
    String send(final DesiredStateSink sink, final HasMetadata object)
    {
        sink.upsert(object);
        return "configured";
    }

    @Override
    boolean deleting()
    {
        return false;
    }
}
