package io.switchboard.bpf;

import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import static io.switchboard.bpf.ProbeMaps.COUNTERS;
import static io.switchboard.bpf.ProbeMaps.COUNTERS_SPEC;
import static org.assertj.core.api.Assertions.assertThat;

/** Every kind of attachment the datapath uses, each seeing real traffic, and batch writes and iteration. */
@KernelTest
class AttachmentsTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(3);

    @Test
    void tcFiltersOnIngressAndEgressSeeTrafficUntilDetached(@Pods(1) final LabNetwork network)
    {
        network.startServer(0, 8080);
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load();
            BpfMap counters = probe.map(COUNTERS, COUNTERS_SPEC))
        {
            final Host node = network.node();
            final BpfProgram program = probe.program("probe_tc");
            final TcAttachment[] filters = node.call(() ->
            {
                final int ifindex = Interfaces.index(network.podInterface(0));
                return new TcAttachment[] {
                    program.attachTc(ifindex, TcDirection.INGRESS, 1, 1),
                    program.attachTc(ifindex, TcDirection.EGRESS, 1, 1)};
            });
            Requests.tcp(network.client(), new InetSocketAddress(network.pod(0).address4(), 8080), TIMEOUT);
            final long seen = ProbeMaps.packets(counters, ProbeMaps.SLOT_TC);
            // a TCP exchange crosses the pod's link both ways: at least SYN, ACK, FIN each direction
            assertThat(seen).isGreaterThanOrEqualTo(6);

            node.run(() ->
            {
                filters[0].detach();
                filters[1].detach();
            });
            // the first exchange's last segments may still have been on the wire when it was read above
            final long detached = ProbeMaps.packets(counters, ProbeMaps.SLOT_TC);
            Requests.tcp(network.client(), new InetSocketAddress(network.pod(0).address4(), 8080), TIMEOUT);
            assertThat(ProbeMaps.packets(counters, ProbeMaps.SLOT_TC)).as("nothing counted after detach")
                .isEqualTo(detached);
        }
    }

    @Test
    void aCgroupConnectHookSeesConnectsOfProcessesInItsCgroupOnly(@Pods(1) final LabNetwork network,
        final TestCgroup cgroup) throws Exception
    {
        network.startServer(0, 8080);
        final String target = network.pod(0).address4().getHostAddress();
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load();
            BpfMap counters = probe.map(COUNTERS, COUNTERS_SPEC);
            BpfLink link = probe.program("probe_connect4").attachCgroup(cgroup.path(), CgroupHook.INET4_CONNECT))
        {
            final Process inside = cgroup.start(network.client(), "bash", "-c",
                "for i in 1 2 3; do exec 3<>/dev/tcp/" + target + "/8080; exec 3>&-; done");
            assertThat(inside.waitFor()).isZero();
            // the test JVM is not in the cgroup: its connect is not counted
            Requests.tcp(network.client(), new InetSocketAddress(network.pod(0).address4(), 8080), TIMEOUT);

            assertThat(ProbeMaps.packets(counters, ProbeMaps.SLOT_CONNECT)).isEqualTo(3);
        }
    }

    @Test
    void aPinnedXdpLinkKeepsTheProgramAttachedAfterEveryDescriptorIsClosed(@Pods(0) final LabNetwork network,
        final PinDirectory pins)
    {
        final Host node = network.node();
        final InetSocketAddress target = new InetSocketAddress(node.address4(), 9);
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load())
        {
            probe.map(COUNTERS, COUNTERS_SPEC).pin(pins.resolve(COUNTERS));
            try (BpfLink link = node.call(() -> probe.program(ProbeMaps.PROGRAM)
                .attachXdp(Interfaces.index(node.interfaceName()), XdpMode.GENERIC)))
            {
                assertThat(link.xdpMode()).isEqualTo(XdpMode.GENERIC);
                link.pin(pins.resolve("xdp_link"));
            }
        }
        // object, program, map and link descriptors are all closed now; only the pins hold them
        try (BpfMap counters = BpfMap.openPinned(pins.resolve(COUNTERS), COUNTERS_SPEC))
        {
            Requests.sendUdp(network.client(), target, 10);
            assertThat(ProbeMaps.awaitPackets(counters, ProbeMaps.SLOT_UDP, 10)).isGreaterThanOrEqualTo(10);

            try (BpfLink adopted = BpfLink.openPinned(pins.resolve("xdp_link")))
            {
                adopted.detach();
            }
            final long afterDetach = ProbeMaps.packets(counters, ProbeMaps.SLOT_UDP);
            Requests.sendUdp(network.client(), target, 10);
            assertThat(ProbeMaps.packets(counters, ProbeMaps.SLOT_UDP)).isEqualTo(afterDetach);
        }
    }

    @Test
    void batchUpdateWritesEveryElementAndIterationVisitsEachOnce()
    {
        final int count = 1000;
        try (BpfMap map = BpfMap.create("sb_batch_test", new MapSpec(MapType.HASH, 4, 8), 4096);
            Arena arena = Arena.ofConfined())
        {
            final MemorySegment keys = arena.allocate(ValueLayout.JAVA_INT, count);
            final MemorySegment values = arena.allocate(ValueLayout.JAVA_LONG, count);
            for (int i = 0; i < count; i++)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, i, i * 7);
                values.setAtIndex(ValueLayout.JAVA_LONG, i, i * 1_000_003L);
            }

            assertThat(map.updateBatch(keys, values, count, BpfMap.BPF_ANY)).isEqualTo(count);

            final Map<Integer, Long> seen = new HashMap<>();
            final MemorySegment key = arena.allocate(ValueLayout.JAVA_INT);
            final MemorySegment next = arena.allocate(ValueLayout.JAVA_INT);
            final MemorySegment value = arena.allocate(ValueLayout.JAVA_LONG);
            MemorySegment previous = null;
            while (map.nextKey(previous, next))
            {
                key.copyFrom(next);
                assertThat(map.lookup(key, value)).isTrue();
                assertThat(seen.put(key.get(ValueLayout.JAVA_INT, 0), value.get(ValueLayout.JAVA_LONG, 0))).isNull();
                previous = key;
            }
            assertThat(seen).hasSize(count);
            assertThat(seen.get(7 * 999)).isEqualTo(999 * 1_000_003L);

            assertThat(map.delete(key)).isTrue();
            assertThat(map.delete(key)).as("deleting twice reports absence").isFalse();
            assertThat(map.lookup(key, value)).isFalse();
        }
    }
}
