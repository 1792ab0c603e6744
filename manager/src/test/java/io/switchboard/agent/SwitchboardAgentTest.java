package io.switchboard.agent;

import io.aeron.Aeron;
import io.aeron.Publication;
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
        final KubernetesSerialization serialization = new KubernetesSerialization();
        final List<String> log = new ArrayList<>();
        try (EmbeddedMediaDriver driver = EmbeddedMediaDriver.launch(Path.of("/dev/shm", "switchboard-" + Names.next()));
            Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(driver.directory().toString()));
            Datapath datapath = Datapath.load(pins.path(), new Datapath.Sizes(1024, 4096, 1024, 4096, 1024, 64));
            DatapathProgrammer programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
                new MaglevTableBuilder(new MaglevHash(0), TableSizes.defaults()), TableSizes.defaults()))
        {
            final ClusterModel model = new ClusterModel(ModelConfig.forNode(Manifests.NODE)
                .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
            final SwitchboardAgent agent = new SwitchboardAgent(model, programmer, null, null, Set.of(), log::add);
            agent.adapter(new ControlPlaneAdapter(aeron.addSubscription(ControlPlaneConfiguration.CHANNEL,
                ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID), agent, serialization, log::add));
            final Publication publication = aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
                ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);
            final DesiredStateProxy proxy = new DesiredStateProxy(publication, serialization);

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
