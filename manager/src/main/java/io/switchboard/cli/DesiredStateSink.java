package io.switchboard.cli;

import io.aeron.Aeron;
import io.aeron.CommonContext;
import io.aeron.Publication;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;
import org.agrona.CloseHelper;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Where {@code apply} and {@code delete} send desired state: the agent's stream, or a test's recorder. */
interface DesiredStateSink extends AutoCloseable
{
    void upsert(HasMetadata object);

    void delete(ObjectKind kind, String namespace, String name);

    @Override
    void close();

    /**
     * Connects to the media driver in {@code aeronDirectory} and publishes as {@link SourceKind#CLI}.
     *
     * @throws CliException when no driver runs there (no agent).
     */
    static DesiredStateSink aeron(final Path aeronDirectory, final KubernetesSerialization serialization)
    {
        final boolean driverActive = Files.exists(aeronDirectory.resolve("cnc.dat")) &&
            CommonContext.isDriverActive(aeronDirectory.toFile(), TimeUnit.SECONDS.toMillis(2), message -> { });
        if (!driverActive)
        {
            throw new CliException("no agent: no Aeron media driver runs in " + aeronDirectory +
                " (is `switchboard agent` running? pass its --aeron-dir)");
        }
        final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDirectory.toString()));
        final Publication publication = aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
            ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);
        final DesiredStateProxy proxy = new DesiredStateProxy(publication, serialization);
        return new DesiredStateSink()
        {
            @Override
            public void upsert(final HasMetadata object)
            {
                proxy.upsert(SourceKind.CLI, 0, object);
            }

            @Override
            public void delete(final ObjectKind kind, final String namespace, final String name)
            {
                proxy.delete(SourceKind.CLI, kind, namespace, name);
            }

            @Override
            public void close()
            {
                CloseHelper.quietCloseAll(publication, aeron);
            }
        };
    }
}
