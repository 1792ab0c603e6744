package io.switchboard.source;

import io.switchboard.log.Log;
import io.aeron.Aeron;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.switchboard.agent.SwitchboardAgent;
import io.switchboard.control.ControlPlaneAdapter;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateListener;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.EmbeddedMediaDriver;
import io.switchboard.control.RecordingListener;
import io.switchboard.control.codecs.SourceKind;
import io.switchboard.datapath.Datapath;
import io.switchboard.datapath.DatapathProgrammer;
import io.switchboard.datapath.Manifests;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.ModelConfig;
import io.switchboard.model.NamespacedName;
import io.switchboard.netns.Names;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.IntSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The Kubernetes source against fabric8's mock API server in CRUD mode (real HTTP, real watches). */
class KubernetesSourceTest
{
    private static final NamespacedName WEB = new NamespacedName("default", "web");

    private final KubernetesSerialization serialization = new KubernetesSerialization();
    private final List<String> log = new ArrayList<>();
    private final ApiTrouble dispatcher = new ApiTrouble(new KubernetesCrudDispatcher());
    private KubernetesMockServer server;
    private KubernetesClient admin;
    private EmbeddedMediaDriver driver;
    private Aeron aeron;
    private DesiredStateProxy proxy;

    @BeforeEach
    void start()
    {
        // CRUD mode: objects are stored, listed and watched as an apiserver would
        server = new MockApiServer(dispatcher);
        server.init();
        admin = server.createClient();
        driver = EmbeddedMediaDriver.launch(Path.of("/dev/shm", "switchboard-" + Names.next()));
        aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.directory().toString()));
    }

    @AfterEach
    void stop() throws Exception
    {
        aeron.close();
        driver.close();
        admin.close();
        server.destroy();
    }

    @Test
    void publishesTheCachesAsASnapshotThenAddsUpdatesAndDeletes() throws Exception
    {
        final RecordingListener listener = new RecordingListener();
        final ControlPlaneAdapter adapter = adapter(listener);
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(Manifests.NODE).endMetadata().build())
            .create();
        try (KubernetesClient client = server.createClient())
        {
            final KubernetesSource source = new KubernetesSource(client, proxy, log::add);
            source.onStart();
            try
            {
                pumpUntil(source, adapter::poll, () -> listener.events.stream().anyMatch(e -> e.startsWith("end ")));
                assertThat(listener.events).hasSize(3);
                assertThat(listener.events.get(0)).startsWith("begin KUBERNETES ");
                assertThat(listener.events.get(1)).endsWith(" NODE null/" + Manifests.NODE);
                assertThat(listener.events.get(2)).startsWith("end KUBERNETES ").endsWith(" 1");
                listener.events.clear();

                admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
                admin.discovery().v1().endpointSlices().resource(Manifests.slice("web", List.of("198.19.0.10")))
                    .create();
                pumpUntil(source, adapter::poll, () -> listener.events.size() == 2);
                assertThat(listener.events).containsExactly(
                    "upsert KUBERNETES 0 SERVICE default/web",
                    "upsert KUBERNETES 0 ENDPOINT_SLICE default/web-slice");

                admin.services().inNamespace("default").withName("web").edit(service -> new ServiceBuilder(service)
                    .editSpec().editFirstPort().withPort(8080).endPort().endSpec().build());
                pumpUntil(source, adapter::poll, () -> listener.events.size() == 3);
                assertThat(listener.events.get(2)).isEqualTo("upsert KUBERNETES 0 SERVICE default/web");
                final Service updated = (Service)listener.objects.getLast();
                assertThat(updated.getSpec().getPorts().getFirst().getPort()).isEqualTo(8080);

                admin.services().inNamespace("default").withName("web").delete();
                pumpUntil(source, adapter::poll, () -> listener.events.size() == 4);
                assertThat(listener.events.get(3)).isEqualTo("delete KUBERNETES SERVICE default/web");
                assertThat(source.snapshots()).as("no snapshot while the watches stayed up").isEqualTo(1);
            }
            finally
            {
                source.onClose();
            }
        }
    }

    @Test
    void afterTheApiServerRestartsWithoutItsHistoryWhatWasDeletedMeanwhileIsPublishedAsDeleted() throws Exception
    {
        final RecordingListener listener = new RecordingListener();
        final ControlPlaneAdapter adapter = adapter(listener);
        admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
        try (KubernetesClient client = server.createClient())
        {
            final KubernetesSource source = new KubernetesSource(client, proxy, log::add);
            source.onStart();
            try
            {
                pumpUntil(source, adapter::poll, () -> source.snapshots() == 1);
                assertThat(listener.events).anyMatch(e -> e.endsWith(" SERVICE default/web"));
                listener.events.clear();

                restartServerDeletingWeb();

                // fabric8 resumes the watch from its resourceVersion; this server lost its history and answers
                // 410 Gone, as an API server does when it cannot replay from there: the informer lists again and
                // reports what disappeared meanwhile, and the source publishes that deletion, no snapshot
                pumpUntil(source, adapter::poll,
                    () -> listener.events.contains("delete KUBERNETES SERVICE default/web"));
                assertThat(dispatcher.gone).as("watches answered 410 Gone").isPositive();
                assertThat(log).contains(Log.warn("kubernetes: a watch is down; following changes again once it is back"));
                assertThat(listener.events).noneMatch(e -> e.startsWith("upsert "));
                pumpUntil(source, adapter::poll, source::watching);
                assertThat(source.snapshots()).as("nothing listed everything again").isEqualTo(1);
            }
            finally
            {
                source.onClose();
            }
        }
    }

    @Test
    void anApiServerThatIsDownAtStartIsFollowedOnceItAnswers() throws Exception
    {
        final RecordingListener listener = new RecordingListener();
        final ControlPlaneAdapter adapter = adapter(listener);
        admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
        final int port = server.getPort();
        try (KubernetesClient client = server.createClient())
        {
            admin.close();
            server.destroy();
            final KubernetesSource source = new KubernetesSource(client, proxy, log::add);
            source.onStart();
            try
            {
                for (int i = 0; i < 200; i++)
                {
                    source.doWork();
                    Thread.sleep(5);
                }
                assertThat(source.snapshots()).isZero();
                server = new MockApiServer(dispatcher);
                server.init(InetAddress.getLoopbackAddress(), port);
                admin = server.createClient();
                pumpUntil(source, adapter::poll, () -> source.snapshots() == 1);
                assertThat(listener.events).anyMatch(e -> e.endsWith(" SERVICE default/web"));
            }
            finally
            {
                source.onClose();
            }
        }
    }

    @Test
    @KernelTest
    void aServiceDeletedWhileDisconnectedIsRemovedAfterReconnecting(final PinDirectory pins)
        throws Exception
    {
        admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
        admin.discovery().v1().endpointSlices().resource(Manifests.slice("web", List.of("198.19.0.10"))).create();
        try (Datapath datapath = Datapath.load(pins.path(), new Datapath.Sizes(1024, 4096, 1024, 4096, 1024, 64));
            DatapathProgrammer programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
                new MaglevTableBuilder(new MaglevHash(0), TableSizes.defaults()), TableSizes.defaults()))
        {
            final ClusterModel model = new ClusterModel(ModelConfig.forNode(Manifests.NODE)
                .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
            final SwitchboardAgent agent = new SwitchboardAgent(model, programmer, null, null, Set.of(), log::add);
            agent.adapter(adapter(agent));
            agent.restore(SourceKind.KUBERNETES);

            try (KubernetesClient client = server.createClient())
            {
                final KubernetesSource source = new KubernetesSource(client, proxy, log::add);
                source.onStart();
                try
                {
                    pumpUntil(source, agent::doWork, () -> null != model.service(WEB) && source.snapshots() == 1);
                    restartServerDeletingWeb();
                    pumpUntil(source, agent::doWork, () -> null == model.service(WEB));
                }
                finally
                {
                    source.onClose();
                }
            }
            assertThat(model.service(WEB)).as("removed after reconnecting").isNull();
            assertThat(agent.adapter().rejected()).as(String.join("\n", log)).isZero();
        }
    }

    @Test
    void informersThatGaveUpAreReplacedUntilTheApiServerLetsThemListAndHealthSaysSoMeanwhile() throws Exception
    {
        final RecordingListener listener = new RecordingListener();
        final ControlPlaneAdapter adapter = adapter(listener);
        admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
        dispatcher.forbidden = true; // RBAC: the agent's ClusterRole lacks list/watch until an admin fixes it
        try (KubernetesClient client = server.createClient())
        {
            final KubernetesSource source = new KubernetesSource(client, proxy, log::add,
                KubernetesSource.DEFAULT_RESYNC_INTERVAL_NS, TimeUnit.MILLISECONDS.toNanos(20));
            final KubernetesSourceMetrics health = new KubernetesSourceMetrics(source, Duration.ofMillis(100));
            source.onStart();
            try
            {
                pumpUntil(source, adapter::poll, () -> source.restarts() >= 2);
                assertThat(log).anyMatch(line -> line.startsWith("WARN kubernetes: the ") && line.contains(" gave up ("));
                assertThat(source.snapshots()).isZero();
                assertThat(source.watching()).isFalse();
                Thread.sleep(150);
                assertThat(health.unhealthy()).startsWith("no live watch on the Kubernetes API server for ");
                assertThat(metric(health, "switchboard_kubernetes_watching")).isZero();
                assertThat(metric(health, "switchboard_kubernetes_informer_restarts")).isGreaterThanOrEqualTo(2);

                dispatcher.forbidden = false;
                pumpUntil(source, adapter::poll, () -> source.snapshots() == 1);
                assertThat(listener.events).anyMatch(e -> e.endsWith(" SERVICE default/web"));
                assertThat(source.watching()).isTrue();
                assertThat(health.unhealthy()).isNull();
                assertThat(metric(health, "switchboard_kubernetes_watching")).isEqualTo(1);
            }
            finally
            {
                source.onClose();
            }
        }
    }

    /** The one value of a metric the source's collector gives. */
    private static double metric(final KubernetesSourceMetrics metrics, final String name)
    {
        return metrics.collect().stream().filter(snapshot -> snapshot.getMetadata().getName().equals(name))
            .findFirst().orElseThrow().getDataPoints().stream().mapToDouble(point -> switch (point)
            {
                case GaugeSnapshot.GaugeDataPointSnapshot gauge -> gauge.getValue();
                case CounterSnapshot.CounterDataPointSnapshot counter -> counter.getValue();
                default -> throw new IllegalStateException(point.toString());
            }).sum();
    }

    /**
     * The API server goes away and comes back on the same address with the same objects but without its watch
     * history (it answers 410 Gone to a watch that resumes from an older resourceVersion); the Service "web" is
     * deleted before the informers reconnect.
     */
    private void restartServerDeletingWeb()
    {
        final int port = server.getPort();
        admin.close();
        server.destroy();
        dispatcher.historyLost = true;
        server = new MockApiServer(dispatcher);
        server.init(InetAddress.getLoopbackAddress(), port);
        admin = server.createClient();
        admin.services().inNamespace("default").withName("web").delete();
    }

    /**
     * The CRUD dispatcher, with trouble on demand: every request refused with 403 Forbidden while
     * {@code forbidden}; once {@code historyLost}, the first watch of each resource that resumes from a
     * resourceVersion answered 410 Gone (a restarted API server that cannot replay from there).
     */
    private static final class ApiTrouble extends Dispatcher
    {
        private final Dispatcher crud;
        private final Set<String> goneAnswered = ConcurrentHashMap.newKeySet();
        volatile boolean forbidden;
        volatile boolean historyLost;
        volatile int gone;

        ApiTrouble(final Dispatcher crud)
        {
            this.crud = crud;
        }

        @Override
        public MockResponse dispatch(final RecordedRequest request)
        {
            final String path = request.getPath();
            if (forbidden)
            {
                return status(403, "Forbidden", "services is forbidden: User cannot list resource");
            }
            final int query = path.indexOf('?');
            if (historyLost && query > 0 && path.contains("watch=true") && path.contains("resourceVersion=") &&
                goneAnswered.add(path.substring(0, query)))
            {
                gone++;
                // as an API server answers such a watch: accepted, then an ERROR event carrying 410 Gone
                return new MockResponse().withWebSocketUpgrade(new WebSocketListener()
                {
                    @Override
                    public void onOpen(final WebSocket socket, final Response response)
                    {
                        socket.send("{\"type\":\"ERROR\",\"object\":" + statusJson(410, "Expired",
                            "too old resource version") + "}");
                        socket.close(1000, "gone");
                    }
                });
            }
            return crud.dispatch(request);
        }

        private static MockResponse status(final int code, final String reason, final String message)
        {
            return new MockResponse().setResponseCode(code).setHeader("Content-Type", "application/json")
                .setBody(statusJson(code, reason, message));
        }

        private static String statusJson(final int code, final String reason, final String message)
        {
            return "{\"apiVersion\":\"v1\",\"kind\":\"Status\",\"status\":\"Failure\",\"message\":\"" + message +
                "\",\"reason\":\"" + reason + "\",\"code\":" + code + "}";
        }
    }

    private ControlPlaneAdapter adapter(final DesiredStateListener listener)
    {
        final ControlPlaneAdapter adapter = new ControlPlaneAdapter(aeron.addSubscription(
            ControlPlaneConfiguration.CHANNEL, ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), listener,
            serialization, log::add);
        proxy = new DesiredStateProxy(aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
            ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), serialization);
        return adapter;
    }

    /** Runs the source and the receiving side on this thread until {@code done}, then a few cycles more. */
    private static void pumpUntil(final KubernetesSource source, final IntSupplier receiver, final BooleanSupplier done)
        throws InterruptedException
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!done.getAsBoolean())
        {
            if (source.doWork() + receiver.getAsInt() == 0)
            {
                Thread.sleep(1);
            }
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out");
            }
        }
        for (int i = 0; i < 10; i++)
        {
            source.doWork();
            receiver.getAsInt();
        }
    }
}
