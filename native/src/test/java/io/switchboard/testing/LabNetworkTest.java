package io.switchboard.testing;

import io.switchboard.netns.Host;
import io.switchboard.netns.LabCluster;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Names;
import io.switchboard.netns.Requests;
import io.switchboard.netns.Shell;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;
import org.junit.jupiter.api.Test;
import org.junit.platform.testkit.engine.EngineTestKit;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

/** The harness itself: the namespaces carry real traffic, and nothing a test made outlives it (clusters included). */
@KernelTest
class LabNetworkTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    @Test
    void theClientReachesEveryPodThroughTheNodeOverTcpAndUdpOnBothFamilies(@Pods(2) final LabNetwork network)
    {
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
            final Host pod = network.pod(i);
            for (final var address : List.of(pod.address4(), pod.address6()))
            {
                final Requests.Answer tcp = Requests.tcp(network.client(), new InetSocketAddress(address, 8080), TIMEOUT);
                final Requests.Answer udp = Requests.udp(network.client(), new InetSocketAddress(address, 8080), TIMEOUT);

                assertThat(tcp.pod()).isEqualTo(pod.role());
                assertThat(udp.pod()).isEqualTo(pod.role());
                assertThat(tcp.callerSeenByPod()).isIn(network.client().address4(), network.client().address6());
            }
        }
    }

    @Test
    void theClientIsPlainWithNoProgramOnItsInterfaceUntilATestAboutXdpTxAsksForOne(@Pods(0) final LabNetwork network)
    {
        assertThat(network.client().exec("ip", "-d", "link", "show", "eth0")).doesNotContain("xdp");

        network.passAllXdpOnClient();

        assertThat(network.client().exec("ip", "-d", "link", "show", "eth0")).contains("xdp");
    }

    @Test
    void aProcessStartedInTheTestCgroupRunsThereAndInTheHostsNamespace(@Pods(0) final LabNetwork network,
        final TestCgroup cgroup) throws Exception
    {
        final Process process = cgroup.start(network.client(), "sh", "-c", "cat /proc/self/cgroup; ip -o -4 addr show eth0");
        final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        process.waitFor();

        assertThat(output).contains(cgroup.path().getFileName().toString()).contains("198.18.0.2");
    }

    @Test
    void namespacesPinsAndCgroupsAreRemovedWhenATestFailsAsWhenItPasses()
    {
        final List<String> namespacesBefore = namespaces();
        final List<String> pinsBefore = list(Path.of("/sys/fs/bpf"));
        final List<String> cgroupsBefore = list(Cgroups.unifiedMount());

        final var results = EngineTestKit.engine("junit-jupiter")
            .selectors(selectClass(FailingInsideResources.class))
            .execute()
            .testEvents();

        results.assertStatistics(stats -> stats.started(2).succeeded(1).failed(1));
        assertThat(FailingInsideResources.made).hasSize(3);
        assertThat(namespaces()).isEqualTo(namespacesBefore);
        assertThat(list(Path.of("/sys/fs/bpf"))).isEqualTo(pinsBefore);
        assertThat(list(Cgroups.unifiedMount())).isEqualTo(cgroupsBefore);
    }

    /** What this JVM made carries its pid: other runs may share the machine. */
    private static final String OURS = Names.PREFIX + ProcessHandle.current().pid() + "-";

    private static List<String> namespaces()
    {
        return Shell.run("ip", "netns", "list").lines().map(line -> line.split(" ")[0])
            .filter(name -> name.contains(OURS)).sorted().toList();
    }

    private static List<String> list(final Path directory)
    {
        try (var entries = Files.list(directory))
        {
            return entries.map(Path::toString).filter(name -> name.contains(OURS)).sorted().toList();
        }
        catch (final java.io.IOException ex)
        {
            throw new java.io.UncheckedIOException(ex);
        }
    }

    /** Run only through the test kit above: one test passes, one fails, both inside every resource. */
    @KernelTest
    static class FailingInsideResources
    {
        static final List<String> made = new ArrayList<>();

        @Test
        void passes(@Pods(1) final LabNetwork network, final PinDirectory pins, final TestCgroup cgroup,
            @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster)
        {
            cgroup.child("node0");
            try (BpfMap map = BpfMap.create("sb_pin_probe", new MapSpec(MapType.ARRAY, 4, 4), 1))
            {
                map.pin(pins.resolve("pinned"));
            }
            made.add(network.namespaces().get(0));
        }

        @Test
        void fails(@Pods(1) final LabNetwork network, final PinDirectory pins, final TestCgroup cgroup,
            @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster)
        {
            cgroup.child("node0");
            made.add(cluster.namespaces().get(0));
            made.add(network.namespaces().get(0));
            throw new AssertionError("deliberate failure: its resources must still be removed");
        }
    }
}
