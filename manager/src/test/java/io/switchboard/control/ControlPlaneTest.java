package io.switchboard.control;

import io.aeron.Aeron;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.codecs.MessageHeaderEncoder;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.ObjectUpsertEncoder;
import io.switchboard.control.codecs.SourceKind;
import io.switchboard.netns.Names;
import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import org.agrona.ExpandableArrayBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

public class ControlPlaneTest
{
    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final List<String> errorLog = new ArrayList<>();
    private final RecordingListener listener = new RecordingListener();
    private EmbeddedMediaDriver driver;
    private Aeron aeron;
    private Publication publication;
    private Subscription subscription;
    private DesiredStateProxy proxy;
    private ControlPlaneAdapter adapter;

    @BeforeEach
    void start()
    {
        driver = EmbeddedMediaDriver.launch(Path.of("/dev/shm", "switchboard-" + Names.next()));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.directory().toString()));
        subscription = aeron.addSubscription(ControlPlaneConfiguration.CHANNEL,
            ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);
        publication = aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
            ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);
        proxy = new DesiredStateProxy(publication, serialization);
        adapter = new ControlPlaneAdapter(subscription, listener, serialization, errorLog::add);
    }

    @AfterEach
    void stop()
    {
        aeron.close();
        driver.close();
        assertThat(driver.directory()).as("the driver removes its directory").doesNotExist();
    }

    @Test
    void upsertsDeletesAndSnapshotBracketsArriveInOrderWithTheirObjects()
    {
        proxy.snapshotBegin(SourceKind.MANIFESTS, 7);
        proxy.upsert(SourceKind.MANIFESTS, 7, service("web", 80));
        proxy.upsert(SourceKind.MANIFESTS, 7, slice("web-abc", "web", "198.19.0.10"));
        proxy.snapshotEnd(SourceKind.MANIFESTS, 7, 2);
        proxy.delete(SourceKind.CLI, ObjectKind.SERVICE, "default", "web");

        pollUntil(() -> listener.events.size() == 5);

        assertThat(listener.events).containsExactly(
            "begin MANIFESTS 7",
            "upsert MANIFESTS 7 SERVICE default/web",
            "upsert MANIFESTS 7 ENDPOINT_SLICE default/web-abc",
            "end MANIFESTS 7 2",
            "delete CLI SERVICE default/web");
        final Service service = (Service)listener.objects.get(0);
        assertThat(service.getSpec().getPorts().get(0).getPort()).isEqualTo(80);
        final EndpointSlice slice = (EndpointSlice)listener.objects.get(1);
        assertThat(slice.getEndpoints().get(0).getAddresses()).containsExactly("198.19.0.10");
        assertThat(adapter.applied()).isEqualTo(5);
        assertThat(adapter.rejected()).isZero();
    }

    @Test
    void malformedMessagesAreCountedLoggedOnceEachAndChangeNothing()
    {
        final Random random = new Random(42);
        final List<byte[]> bad = new ArrayList<>();
        for (int i = 0; i < 200; i++)
        {
            final byte[] noise = new byte[1 + random.nextInt(300)];
            random.nextBytes(noise);
            bad.add(noise);
        }
        bad.add(withHeader(4242 + 1, 1, 1));                   // another schema
        bad.add(withHeader(4242, 99, 1));                      // a newer version
        bad.add(withHeader(4242, 1, 77));                      // an unknown template
        bad.add(new byte[] {1, 2, 3});                         // truncated
        bad.add(upsertWithBody("{\"kind\":\"Service\", not json"));
        bad.add(upsertWithBody("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"other\"}}"));
        bad.add(upsertWithBody("{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"other\"}}"));
        for (final byte[] message : bad)
        {
            proxy.offerRaw(message);
        }
        proxy.upsert(SourceKind.CLI, 0, service("good", 443));
        proxy.upsert(SourceKind.CLI, 0, service(RecordingListener.REFUSED, 443));

        pollUntil(() -> adapter.applied() + adapter.rejected() >= bad.size() + 2);

        assertThat(listener.events).as("only the good update reached the model")
            .containsExactly("upsert CLI 0 SERVICE default/good");
        assertThat(adapter.rejected()).isEqualTo(bad.size() + 1);
        // errors as data: what could not be read is told apart from an object the listener refused
        assertThat(listener.rejections).hasSize(bad.size() + 1);
        assertThat(listener.rejections.subList(0, bad.size())).allMatch(line -> line.startsWith("UNDECODABLE "));
        assertThat(listener.rejections.getLast()).isEqualTo(
            "REFUSED SERVICE default/refused: SERVICE default/refused: spec: refused by the test's listener");
        assertThat(errorLog).as("one log line per distinct error").doesNotHaveDuplicates()
            .anyMatch(line -> line.contains("unknown schema id 4243"))
            .anyMatch(line -> line.contains("schema version 99 is newer than this agent's 1"))
            .anyMatch(line -> line.contains("unknown template id 77"))
            .anyMatch(line -> line.contains("truncated"))
            .anyMatch(line -> line.contains("Service default/web") && line.contains("not a valid SERVICE"))
            .anyMatch(line -> line.contains("metadata.name") && line.contains("does not match"));
        assertThat(adapter.distinctErrors().entrySet())
            .anyMatch(entry -> entry.getKey().contains("metadata.name") && entry.getValue() == 2L);
    }

    @Test
    void aPublisherWithoutAnAgentFailsWithAClearMessage()
    {
        try (Publication lonely = aeron.addPublication(ControlPlaneConfiguration.CHANNEL, 4711))
        {
            final DesiredStateProxy nobodyListening =
                new DesiredStateProxy(lonely, serialization, TimeUnit.MILLISECONDS.toNanos(200));

            assertThatThrownBy(() -> nobodyListening.upsert(SourceKind.CLI, 0, service("web", 80)))
                .isInstanceOf(DesiredStateProxy.PublishException.class)
                .hasMessageContaining("no agent is subscribed to stream 4711");
        }
    }

    @Test
    void pollingAnIdleStreamAllocatesNothing()
    {
        assertThat(steadyStateAllocation(adapter::poll)).isZero();
    }

    /**
     * Bytes the current thread allocates over 100,000 calls once the JIT has settled: windows are
     * measured until one allocates nothing, at most 30 (before C2 compiles a loop, objects its escape
     * analysis would remove are still allocated, and a loaded machine delays that).
     */
    public static long steadyStateAllocation(final Runnable work)
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)ManagementFactory.getThreadMXBean();
        long allocated = -1;
        for (int window = 0; window < 30 && allocated != 0; window++)
        {
            final long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < 100_000; i++)
            {
                work.run();
            }
            allocated = threads.getCurrentThreadAllocatedBytes() - before;
        }
        return allocated;
    }

    @Test
    @KernelTest // needs root to switch to an unprivileged user
    void anUnprivilegedUserCanNeitherOpenNorWriteTheAeronDirectory() throws Exception
    {
        final Path directory = driver.directory();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(directory))).isEqualTo("rwx------");

        final Shell.Result read = Shell.tryRun("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "cat", directory.resolve("cnc.dat").toString());
        final Shell.Result write = Shell.tryRun("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
            "sh", "-c", "echo x >> " + directory.resolve("cnc.dat"));

        assertThat(read.exitCode()).isNotZero();
        assertThat(read.output()).contains("Permission denied");
        assertThat(write.exitCode()).isNotZero();
        assertThat(write.output()).contains("Permission denied");
    }

    private byte[] withHeader(final int schemaId, final int version, final int templateId)
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(64);
        new MessageHeaderEncoder().wrap(buffer, 0).blockLength(ObjectUpsertEncoder.BLOCK_LENGTH)
            .templateId(templateId).schemaId(schemaId).version(version);
        final byte[] bytes = new byte[MessageHeaderEncoder.ENCODED_LENGTH + 40];
        buffer.getBytes(0, bytes, 0, MessageHeaderEncoder.ENCODED_LENGTH);
        return bytes;
    }

    private static byte[] upsertWithBody(final String body)
    {
        final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(256);
        final ObjectUpsertEncoder encoder = new ObjectUpsertEncoder()
            .wrapAndApplyHeader(buffer, 0, new MessageHeaderEncoder())
            .kind(ObjectKind.SERVICE).source(SourceKind.CLI).snapshotId(0).intendedSendTimeNs(0).sequence(1)
            .objectNamespace("default").objectName("web").body(body);
        final byte[] bytes = new byte[MessageHeaderEncoder.ENCODED_LENGTH + encoder.encodedLength()];
        buffer.getBytes(0, bytes);
        return bytes;
    }

    private void pollUntil(final BooleanSupplier done)
    {
        final long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!done.getAsBoolean())
        {
            if (adapter.poll() == 0)
            {
                Thread.onSpinWait();
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out; events so far " + listener.events + ", errors " + errorLog);
            }
        }
    }

    static Service service(final String name, final int port)
    {
        return new ServiceBuilder().withNewMetadata().withNamespace("default").withName(name).endMetadata()
            .withNewSpec().withClusterIP("10.96.0.10").addNewPort().withName("http").withProtocol("TCP")
            .withPort(port).endPort().endSpec().build();
    }

    static EndpointSlice slice(final String name, final String service, final String address)
    {
        return new EndpointSliceBuilder().withNewMetadata().withNamespace("default").withName(name)
            .addToLabels("kubernetes.io/service-name", service).endMetadata()
            .withAddressType("IPv4")
            .addNewEndpoint().withAddresses(address).withNewConditions().withReady(true).endConditions().endEndpoint()
            .addNewPort().withName("http").withProtocol("TCP").withPort(8080).endPort()
            .build();
    }
}
