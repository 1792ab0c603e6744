package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ObjectKinds;
import picocli.CommandLine.Command;

import java.nio.file.Path;
import java.util.function.BiFunction;

/** {@code switchboard delete -f FILE|DIR}: removes the objects a manifest names. */
@Command(name = "delete", mixinStandardHelpOptions = true,
    description = "Remove the objects of manifests from the agent's desired state.")
public final class DeleteCommand extends ManifestCommand
{
    public DeleteCommand()
    {
        this(DesiredStateSink::aeron);
    }

    DeleteCommand(final BiFunction<Path, KubernetesSerialization, DesiredStateSink> sinks)
    {
        super(sinks);
    }

    @Override
    String send(final DesiredStateSink sink, final HasMetadata object)
    {
        sink.delete(ObjectKinds.of(object), object.getMetadata().getNamespace(), object.getMetadata().getName());
        return "deleted";
    }

    @Override
    boolean deleting()
    {
        return true;
    }
}
