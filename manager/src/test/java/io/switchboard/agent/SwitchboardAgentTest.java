package io.switchboard.agent;

import io.aeron.Aeron;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.ControlPlaneAdapter;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.ControlPlaneTest;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.EmbeddedMediaDriver;
import io.switchboard.control.codecs.ObjectKind;
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
import io.switchboard.model.Protocol;
import io.switchboard.model.ServicePortKey;
import io.switchboard.netns.Names;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The agent's duty cycle, driven by hand on the test thread. */
@KernelTest
class SwitchboardAgentTest
{
    private static final ServicePortKey WEB = new ServicePortKey(new NamespacedName("default", "web"), "http",
        Protocol.TCP);

    @Test
    void updatesArriveOverAeronAreProgrammedAndTheIdleLoopAllocatesNothing(final PinDirectory pins) throws Exception
    {
        try (Rig rig = new Rig(pins.path(), SIZES))
        {
            final List<String> log = rig.log;
            final DatapathProgrammer programmer = rig.programmer;
            final SwitchboardAgent agent = rig.agent;
            final DesiredStateProxy proxy = rig.proxy;

            proxy.snapshotBegin(SourceKind.MANIFESTS, 1);
            proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.service("web", "10.96.0.10", 80, 30080));
            proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11")));
            proxy.snapshotEnd(SourceKind.MANIFESTS, 1, 2);
            runUntil(agent, () -> agent.adapter().applied() == 4 && !programmer.frontends(WEB).isEmpty());
            assertThat(programmer.frontends(WEB)).hasSize(2);

            // a later snapshot without the slice removes its endpoints: the service refuses
            proxy.snapshotBegin(SourceKind.MANIFESTS, 2);
            proxy.upsert(SourceKind.MANIFESTS, 2, Manifests.service("web", "10.96.0.10", 80, 30080));
            proxy.snapshotEnd(SourceKind.MANIFESTS, 2, 1);
            runUntil(agent, () -> agent.adapter().applied() == 7 &&
                programmer.frontends(WEB).values().stream().allMatch(value -> value.backendCount() == 0));

            // an invalid object is rejected and changes nothing
            proxy.upsert(SourceKind.CLI, 0, Manifests.service("web", "10.96.0.10", 70000, 0));
            runUntil(agent, () -> agent.adapter().rejected() == 1);
            assertThat(log).anyMatch(line -> line.contains("spec.ports[0].port"));
            assertThat(programmer.frontends(WEB)).hasSize(2);

            proxy.delete(SourceKind.MANIFESTS, ObjectKind.SERVICE, "default", "web");
            runUntil(agent, () -> programmer.frontends(WEB).isEmpty());

            // steady state: nothing to read, nothing to write
            assertThat(ControlPlaneTest.steadyStateAllocation(agent::doWork))
                .as("bytes allocated by 100,000 idle duty cycles").isZero();
        }
    }

    @Test
    void theLatencyRecorderGetsOneValuePerAppliedUpdateAfterTheMapsAreWritten(final PinDirectory pins)
        throws Exception
    {
        try (Rig rig = new Rig(pins.path(), SIZES))
        {
            final DatapathProgrammer programmer = rig.programmer;
            final SwitchboardAgent agent = rig.agent;
            // each value: the duty cycle it came in, latency, intended time, frontends programmed at that moment
            final List<long[]> recorded = new ArrayList<>();
            final long[] cycle = {0};
            agent.latencyRecorder((latencyNs, intendedNs) ->
                recorded.add(new long[] {cycle[0], latencyNs, intendedNs, programmer.frontends(WEB).size()}));
            final DesiredStateProxy proxy = rig.proxy;

            // intended send times one, two and three seconds ago: each latency is at least that old
            final long now = System.nanoTime();
            final long[] intended = {now - 1_000_000_000L, now - 2_000_000_000L, now - 3_000_000_000L};
            proxy.upsert(SourceKind.CLI, 0, Manifests.service("web", "10.96.0.10", 80, 30080), intended[0]);
            proxy.upsert(SourceKind.CLI, 0, Manifests.slice("web", List.of("198.19.0.10")), intended[1]);
            proxy.upsert(SourceKind.CLI, 0, Manifests.service("web", "10.96.0.10", 70000, 0), now); // rejected
            proxy.upsert(SourceKind.CLI, 0, Manifests.slice("web", List.of("198.19.0.11")), intended[2]);
            final long deadline = System.nanoTime() + 10_000_000_000L;
            while (agent.adapter().applied() + agent.adapter().rejected() < 4)
            {
                cycle[0]++;
                agent.doWork();
                assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
            }
            for (int i = 0; i < 10; i++)
            {
                cycle[0]++;
                agent.doWork();
            }

            assertThat(agent.adapter().rejected()).isEqualTo(1);
            assertThat(recorded).as("one value per applied update, none for the rejected one").hasSize(3);
            for (int i = 0; i < 3; i++)
            {
                final long[] value = recorded.get(i);
                assertThat(value[2]).isEqualTo(intended[i]);
                assertThat(value[1]).isGreaterThanOrEqualTo((i + 1) * 1_000_000_000L);
                assertThat(value[3]).as("the service was programmed before its latency was recorded").isEqualTo(2);
                for (final long[] other : recorded)
                {
                    if (other[0] == value[0])
                    {
                        // values of one cycle are measured against the same instant, after its flush
                        assertThat(other[1] + other[2]).isEqualTo(value[1] + value[2]);
                    }
                }
            }
            assertThat(programmer.frontends(WEB).values()).allMatch(value -> value.backendCount() == 1);
        }
    }

    /** A port renamed in place: its successor takes over the same frontend, which must survive the old port's removal. */
    @Test
    void aRenamedPortKeepsItsFrontend(final PinDirectory pins) throws Exception
    {
        try (Rig rig = new Rig(pins.path(), SIZES))
        {
            final Datapath datapath = rig.datapath;
            final DatapathProgrammer programmer = rig.programmer;
            final SwitchboardAgent agent = rig.agent;
            final DesiredStateProxy proxy = rig.proxy;
            proxy.upsert(SourceKind.CLI, 0, Manifests.service("web", "10.96.0.10", 80, 0));
            proxy.upsert(SourceKind.CLI, 0, Manifests.slice("web", List.of("198.19.0.10")));
            runUntil(agent, () -> !programmer.frontends(WEB).isEmpty());

            final var renamed = new io.fabric8.kubernetes.api.model.ServiceBuilder(
                Manifests.service("web", "10.96.0.10", 80, 0)).editSpec().editFirstPort().withName("web")
                .endPort().endSpec().build();
            final var slice = new io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder(
                Manifests.slice("web", List.of("198.19.0.10"))).editFirstPort().withName("web").endPort().build();
            // one duty cycle sees both: the Service first, so the new port is queued before the old one's removal
            proxy.upsert(SourceKind.CLI, 0, renamed);
            proxy.upsert(SourceKind.CLI, 0, slice);
            final ServicePortKey successor = new ServicePortKey(new NamespacedName("default", "web"), "web",
                Protocol.TCP);
            runUntil(agent, () -> programmer.frontends(WEB).isEmpty() && !programmer.frontends(successor).isEmpty());

            final DatapathProgrammer.FrontendKey clusterIp = programmer.frontends(successor).keySet().iterator().next();
            assertThat(io.switchboard.datapath.DatapathReader.of(datapath.maps()).services())
                .as("10.96.0.10:80/TCP in sb_services").anyMatch(entry -> entry.address().equals(clusterIp.address())
                    && entry.port() == 80);
        }
    }

    /**
     * Issue 12: a one-endpoint change costs what it changes. The same change of one Service at 1,000 and at 4,000
     * Services issues the same map writes and allocates about as much on the agent thread (decoding it, the model's
     * work for that Service, one table's diff): nothing in the duty cycle walks every Service (status, outer map).
     */
    @Test
    void aOneEndpointChangeCostsTheSameAt1000And4000Services(final PinDirectory pins) throws Exception
    {
        final long[] small = oneChangeCost(pins.path().resolve("small"), 1000);
        final long[] large = oneChangeCost(pins.path().resolve("large"), 4000);

        assertThat(large[0]).as("map elements written per change").isEqualTo(small[0]);
        assertThat(large[1]).as("bytes the agent thread allocates per change, 4,000 vs 1,000 Services: %d vs %d",
            large[1], small[1]).isLessThan(small[1] + small[1] / 4);
    }

    /** {map elements written, bytes allocated by the agent's duty cycles} per one-endpoint change at {@code count}. */
    private static long[] oneChangeCost(final Path bpffs, final int count) throws Exception
    {
        final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean)java.lang.management.ManagementFactory.getThreadMXBean();
        try (Rig rig = new Rig(bpffs, new Datapath.Sizes(2 * count + 64, 4 * count + 64, count + 64, 4096, 1024, 64)))
        {
            final List<String> log = rig.log;
            final DatapathProgrammer programmer = rig.programmer;
            final SwitchboardAgent agent = rig.agent;
            final DesiredStateProxy proxy = rig.proxy;
            proxy.snapshotBegin(SourceKind.MANIFESTS, 1);
            for (int i = 0; i < count; i++)
            {
                proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.service("svc" + i,
                    "10.96." + (i / 250) + "." + (i % 250 + 1), 80, 0));
                proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.slice("svc" + i,
                    List.of("198.19.0.10", "198.19.0.11", "198.19.0.12")));
                while (agent.adapter().applied() < 2L * i)
                {
                    agent.doWork(); // the publication's window is bounded and this thread is its subscriber
                }
            }
            proxy.snapshotEnd(SourceKind.MANIFESTS, 1, 2 * count);
            runUntil(agent, () -> agent.adapter().applied() == 2L * count + 2 && programmer.programmedCount() == count);

            final List<List<String>> endpoints = List.of(List.of("198.19.0.10", "198.19.0.11", "198.19.0.12"),
                List.of("198.19.0.10", "198.19.0.11", "198.19.0.13"));
            long written = 0;
            long allocated = 0;
            final int warmup = 30;
            final int measured = 60;
            for (int change = 0; change < warmup + measured; change++)
            {
                final long applied = agent.adapter().applied();
                final long writesBefore = programmer.writes().total();
                proxy.upsert(SourceKind.MANIFESTS, 0, Manifests.slice("svc7", endpoints.get(change % 2)));
                long bytes = 0;
                final long deadline = System.nanoTime() + 10_000_000_000L;
                while (agent.adapter().applied() == applied)
                {
                    final long before = threads.getCurrentThreadAllocatedBytes();
                    agent.doWork();
                    bytes += threads.getCurrentThreadAllocatedBytes() - before;
                    assertThat(System.nanoTime()).as("timed out").isLessThan(deadline);
                }
                Thread.sleep(2); // past the 1 ms after which retired backends and the old half are handled
                for (int cycle = 0; cycle < 3; cycle++)
                {
                    final long before = threads.getCurrentThreadAllocatedBytes();
                    agent.doWork();
                    bytes += threads.getCurrentThreadAllocatedBytes() - before;
                }
                if (change >= warmup)
                {
                    written += programmer.writes().total() - writesBefore;
                    allocated += bytes;
                }
            }
            assertThat(log).noneMatch(line -> line.contains("reject"));
            return new long[] {written / measured, allocated / measured};
        }
    }

    /**
     * A service port that cannot be programmed (here: every svc_id in use) is logged once, counted and retried
     * alone with backoff: a change of another port in the same cycles is programmed meanwhile (it stayed blocked
     * behind the failing one before), and the failed one is programmed once room is made.
     */
    @Test
    void aPortThatCannotBeProgrammedIsRetriedAloneAndBlocksNoOther(final PinDirectory pins) throws Exception
    {
        final ServicePortKey a = new ServicePortKey(new NamespacedName("default", "a"), "http", Protocol.TCP);
        final ServicePortKey c = new ServicePortKey(new NamespacedName("default", "c"), "http", Protocol.TCP);
        try (Rig rig = new Rig(pins.path(), new Datapath.Sizes(64, 64, 3, 1024, 64, 16)))
        {
            // sb_maglev of 3 entries: svc_ids 1 and 2, so two service ports
            final List<String> log = rig.log;
            final DatapathProgrammer programmer = rig.programmer;
            final SwitchboardAgent agent = rig.agent;
            agent.restore(null); // nothing to restore: synced, so the status (metrics) is published
            final DesiredStateProxy proxy = rig.proxy;
            proxy.snapshotBegin(SourceKind.MANIFESTS, 1);
            for (final String name : List.of("a", "b"))
            {
                proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.service(name, "10.96.0." + (name.equals("a") ? 10 : 11), 80, 0));
                proxy.upsert(SourceKind.MANIFESTS, 1, Manifests.slice(name, List.of("198.19.0.10")));
            }
            proxy.snapshotEnd(SourceKind.MANIFESTS, 1, 4);
            runUntil(agent, () -> agent.adapter().applied() == 6 && !programmer.frontends(a).isEmpty());

            // c needs a third svc_id; a's change comes after it
            proxy.upsert(SourceKind.CLI, 0, Manifests.service("c", "10.96.0.12", 80, 0));
            proxy.upsert(SourceKind.CLI, 0, Manifests.slice("c", List.of("198.19.0.12")));
            proxy.upsert(SourceKind.MANIFESTS, 0, Manifests.slice("a", List.of("198.19.0.10", "198.19.0.11")));
            runUntil(agent, () -> programmer.frontends(a).values().stream().allMatch(v -> v.backendCount() == 2));
            final long retryWindow = System.nanoTime() + 1_000_000_000L;
            while (System.nanoTime() < retryWindow)
            {
                agent.doWork(); // retries come and fail meanwhile (100 ms, 200 ms, ...)
            }
            assertThat(programmer.frontends(c)).isEmpty();
            assertThat(log.stream().filter(line -> line.startsWith("WARN programming default/c:http/TCP failed")))
                .as("logged once, however often retried").singleElement().asString()
                .contains("service ids are in use");
            assertThat(agent.status().failingServicePorts()).isEqualTo(1);
            assertThat(agent.status().programFailures()).isGreaterThan(1);
            assertThat(agent.errors().entries()).as("errors as data").singleElement().satisfies(entry ->
            {
                assertThat(entry.kind()).isEqualTo(ErrorLog.Kind.PROGRAM);
                assertThat(entry.subject()).isEqualTo("Service port default/c:http/TCP");
                assertThat(entry.count()).isEqualTo(agent.status().programFailures());
            });

            proxy.delete(SourceKind.MANIFESTS, ObjectKind.SERVICE, "default", "b");
            runUntil(agent, () -> !programmer.frontends(c).isEmpty());
            assertThat(log).anyMatch(line -> line.startsWith("programmed default/c:http/TCP after "));
            assertThat(agent.status().failingServicePorts()).isZero();
        }
    }

    private static final Datapath.Sizes SIZES = new Datapath.Sizes(1024, 4096, 1024, 4096, 1024, 64);

    /**
     * An agent as the command builds it, driven by the test thread: its own media driver, a datapath pinned under
     * {@code bpffs} with {@code sizes}, the programmer, a model of one node (198.18.0.1), and a publisher of
     * desired state. Everything the agent logs is in {@link #log}.
     */
    private static final class Rig implements AutoCloseable
    {
        final List<String> log = new CopyOnWriteArrayList<>();
        final EmbeddedMediaDriver driver;
        final Aeron aeron;
        final Datapath datapath;
        final DatapathProgrammer programmer;
        final SwitchboardAgent agent;
        final DesiredStateProxy proxy;

        Rig(final Path bpffs, final Datapath.Sizes sizes) throws Exception
        {
            final KubernetesSerialization serialization = new KubernetesSerialization();
            driver = EmbeddedMediaDriver.launch(Path.of("/dev/shm", "switchboard-" + Names.next()));
            try
            {
                aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.directory().toString()));
                datapath = Datapath.load(bpffs, sizes);
                programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
                    new MaglevTableBuilder(new MaglevHash(0), TableSizes.defaults()), TableSizes.defaults());
                final ClusterModel model = new ClusterModel(ModelConfig.forNode(Manifests.NODE)
                    .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
                agent = new SwitchboardAgent(model, programmer, null, null, Set.of(), log::add);
                agent.adapter(new ControlPlaneAdapter(aeron.addSubscription(ControlPlaneConfiguration.CHANNEL,
                    ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), agent, serialization, log::add));
                proxy = new DesiredStateProxy(aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
                    ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), serialization);
            }
            catch (final Exception | Error ex)
            {
                close();
                throw ex;
            }
        }

        @Override
        public void close()
        {
            // in reverse order of making; what was not made yet is null
            org.agrona.CloseHelper.closeAll(programmer, datapath, aeron, driver);
        }
    }

    private static void runUntil(final SwitchboardAgent agent, final BooleanSupplier done)
    {
        final long deadline = System.nanoTime() + 10_000_000_000L;
        while (!done.getAsBoolean())
        {
            agent.doWork();
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("timed out");
            }
        }
        for (int i = 0; i < 10; i++)
        {
            agent.doWork();
        }
    }
}
