package io.switchboard.bench;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;
import io.switchboard.bpf.XdpMode;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.switchboard.datapath.DatapathAbi.offset;

/**
 * Packets per second of {@code sb_xdp} on one core, frames processed for real: {@code BPF_PROG_TEST_RUN} with
 * {@code BPF_F_TEST_XDP_LIVE_FRAMES} (kernel 5.18+) on the node's {@code ext0} of a {@link LabNetwork} with
 * one pod, run from the node's namespace. The program run is {@code mpps_flows} of
 * {@code bpf/tests/mpps_xdp.bpf.c}: it writes flow {@code n % flows} into the frame and tail-calls
 * {@code sb_xdp}, so a run cycles through {@code flows} distinct client tuples. Forwarded frames leave by
 * {@code SB_CFG_F_XDP_FIB_REDIRECT} ({@code bpf_fib_lookup} + {@code bpf_redirect}) to the pod's veth, refusals
 * by {@code XDP_TX} back out of {@code ext0}; the far end of both veths runs an {@code XDP_DROP} program (so the
 * veths take the frames, and drop them on arrival). Not-service frames go to the node's stack
 * ({@code XDP_PASS}), which drops them (no route): that case measures the kernel's receive path too.
 * <p>
 * Cases: {@code new_flow} TCP SYN to the frontend (a Maglev pick and both conntrack entries written: replaced,
 * once the flow was seen); {@code established} ACK of the same flows (conntrack hit; the SYNs of
 * {@code new_flow}, run first in each round, made the entries); {@code not_service} SYN to no frontend;
 * {@code refused} SYN to a frontend without endpoints (TCP RST by {@code XDP_TX}); {@code harness}:
 * {@code mpps_flows} tail-calling {@code mpps_drop} instead, the frame source's own ceiling. Mpps = 1000 / the
 * kernel's average ns per frame; median of {@code samples} runs of {@code frames} frames, cases and flow
 * counts interleaved in each round. {@code sb_ct} holds {@link #conntrackEntries} entries.
 */
final class DatapathMpps
{
    static final List<String> CASES = List.of("new_flow", "established", "not_service", "refused", "harness");
    private static final int SVC_FORWARD = 1;
    private static final int SVC_REFUSE = 2;
    private static final int BACKENDS = 10;
    private static final int MAGLEV_M = 1021;
    private static final int TARGET_PORT = 8080;
    private static final int SERVICE_PORT = 80;
    private static final int CLIENT_PORT = 20000;
    private static final MapSpec GEN_CONFIG = new MapSpec(MapType.ARRAY, 4, 20);
    private static final MapSpec GEN_NEXT = new MapSpec(MapType.PROG_ARRAY, 4, 4);
    private static final int EPERM = 1;
    private static final int EINVAL = 22;

    private final int frames;
    private final int samples;
    private final int conntrackEntries;
    private final Path generatorObject;
    /** Why the kernel refused live frames, once it has (then every run is a plain test run). */
    private String liveRefused;

    /** Per case, per flow count: median Mpps, and the median ns per frame it comes from. */
    final Map<String, Map<Integer, Double>> mpps = new LinkedHashMap<>();
    final Map<String, Map<Integer, Double>> nanos = new LinkedHashMap<>();
    final List<String> checks = new ArrayList<>();

    DatapathMpps(final int frames, final int samples, final int conntrackEntries, final Path generatorObject)
    {
        this.frames = frames;
        this.samples = samples;
        this.conntrackEntries = conntrackEntries;
        this.generatorObject = generatorObject;
        CASES.forEach(name ->
        {
            mpps.put(name, new LinkedHashMap<>());
            nanos.put(name, new LinkedHashMap<>());
        });
    }

    private record Case(String name, String destination, int tcpFlags, boolean throughDatapath)
    {
    }

    private static final List<Case> PLAN = List.of(
        new Case("new_flow", "10.96.0.10", Frames.TCP_SYN, true),
        new Case("established", "10.96.0.10", Frames.TCP_ACK, true),
        new Case("not_service", "10.128.0.1", Frames.TCP_SYN, true),
        new Case("refused", "10.96.0.11", Frames.TCP_SYN, true),
        new Case("harness", "10.96.0.10", Frames.TCP_SYN, false));

    void measure(final List<Integer> flowCounts) throws Exception
    {
        try (LabNetwork network = LabNetwork.create(1))
        {
            final Host node = network.node();
            final Host client = network.client();
            final Host pod = network.pod(0);
            final BpfObject generator = network.closeWithNetwork(BpfObject.open(generatorObject).load());
            final BpfProgram drop = generator.program("mpps_drop");
            network.closeWithNetwork(client.call(() ->
                drop.attachXdp(Interfaces.index(client.interfaceName()), XdpMode.NATIVE)));
            network.closeWithNetwork(pod.call(() -> drop.attachXdp(Interfaces.index(pod.interfaceName()), XdpMode.NATIVE)));
            final SwitchboardMaps maps = network.closeWithNetwork(SwitchboardMaps.load(SVC_REFUSE + 1, BACKENDS + 1,
                conntrackEntries));
            final int ext0 = node.call(() -> Interfaces.index(LabNetwork.NODE_EXTERNAL_INTERFACE));
            program(maps, pod, ext0);
            // the FIB lookup forwards only to a known neighbour: the pod's, made permanent
            node.exec("ip", "neigh", "replace", pod.address4().getHostAddress(), "lladdr",
                mac(pod, pod.interfaceName()), "dev", network.podInterface(0), "nud", "permanent");
            // frames to the stack must carry ext0's own address
            final byte[] ext0Mac = HexFormat.ofDelimiter(":").parseHex(mac(node, LabNetwork.NODE_EXTERNAL_INTERFACE));

            final BpfProgram flows = generator.program("mpps_flows");
            final BpfProgram datapath = maps.object.program(DatapathAbi.PROGRAM_XDP);
            try (BpfMap config = generator.map("mpps_config", GEN_CONFIG);
                BpfMap next = generator.map("mpps_next", GEN_NEXT);
                Arena arena = Arena.ofConfined())
            {
                final Map<String, List<Double>> runs = new LinkedHashMap<>();
                final long[] before = counters(maps);
                for (int round = 0; round < samples; round++)
                {
                    for (final int flowCount : flowCounts)
                    {
                        for (final Case c : PLAN)
                        {
                            next.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0),
                                arena.allocateFrom(ValueLayout.JAVA_INT, (c.throughDatapath() ? datapath : drop).fd()),
                                BpfMap.BPF_ANY);
                            config.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0),
                                generatorConfig(arena, flowCount, client.address4(), c), BpfMap.BPF_ANY);
                            final byte[] frame = Frames.tcp((Inet4Address)client.address4(), CLIENT_PORT,
                                (Inet4Address)InetAddress.getByName(c.destination()), SERVICE_PORT, c.tcpFlags());
                            System.arraycopy(ext0Mac, 0, frame, 0, 6);
                            final int ns = node.call(() -> run(flows, frame, ext0));
                            runs.computeIfAbsent(c.name() + "/" + flowCount, k -> new ArrayList<>()).add((double)ns);
                        }
                    }
                }
                for (final Case c : PLAN)
                {
                    for (final int flowCount : flowCounts)
                    {
                        final double ns = DatapathCost.median(runs.get(c.name() + "/" + flowCount));
                        nanos.get(c.name()).put(flowCount, ns);
                        mpps.get(c.name()).put(flowCount, ns > 0 ? 1000.0 / ns : Double.NaN);
                    }
                }
                final long[] after = counters(maps);
                final long perCase = (long)frames * samples * flowCounts.size();
                checks.add("new_flows +" + (after[0] - before[0]) + ", ct_hits +" + (after[1] - before[1]) +
                    " (each expected +" + perCase + "), refused +" + (after[2] - before[2]) + " (expected +" + perCase +
                    ")");
            }
        }
    }

    /**
     * One run of {@link #frames} frames: live frames while the kernel allows them; after it refuses them (some
     * kernel builds answer EPERM even to root), plain test runs of the same program and frame, so the figure is
     * the program's cost alone (no driver, no redirect carried out) and {@link #method} says so.
     */
    private int run(final BpfProgram flows, final byte[] frame, final int ext0)
    {
        if (liveRefused == null)
        {
            try
            {
                return flows.testRunLiveFrames(frame, frames, ext0, 0);
            }
            catch (final BpfException refused)
            {
                if (refused.errno() != EPERM && refused.errno() != EINVAL)
                {
                    throw refused;
                }
                liveRefused = refused.getMessage();
                System.out.println("   live frames refused, measuring plain test runs: " + liveRefused);
            }
        }
        return flows.testRun(frame, frames).durationNanos();
    }

    /** How the frames were run: live, or plain test runs and why (the figures then exclude the driver). */
    String method()
    {
        return liveRefused == null ? "live frames"
            : "plain test runs (program only: no driver, redirect not carried out); live frames refused: " + liveRefused;
    }

    /** The MAC address of {@code interfaceName} in {@code host}'s namespace ("ext0@if2 UP aa:bb:... <...>"). */
    private static String mac(final Host host, final String interfaceName)
    {
        return host.exec("ip", "-br", "link", "show", interfaceName).strip().split("\\s+")[2];
    }

    private static long[] counters(final SwitchboardMaps maps)
    {
        return new long[] {maps.serviceCounter(SVC_FORWARD, "new_flows"), maps.serviceCounter(SVC_FORWARD, "ct_hits"),
            maps.serviceCounter(SVC_REFUSE, "refused")};
    }

    /** {@code struct mpps_config} of {@code mpps_xdp.bpf.c}. */
    private static MemorySegment generatorConfig(final Arena arena, final int flowCount, final InetAddress client,
        final Case c) throws Exception
    {
        final MemorySegment value = arena.allocate(GEN_CONFIG.valueSize());
        value.set(ValueLayout.JAVA_INT, 0, flowCount);
        value.set(ValueLayout.JAVA_INT, 4, ByteBuffer.wrap(client.getAddress()).order(ByteOrder.BIG_ENDIAN).getInt());
        MemorySegment.copy(InetAddress.getByName(c.destination()).getAddress(), 0, value, ValueLayout.JAVA_BYTE, 8, 4);
        value.set(ValueLayout.JAVA_SHORT, 12, (short)CLIENT_PORT);
        value.set(DatapathAbi.NET_PORT, 14, (short)SERVICE_PORT);
        value.set(ValueLayout.JAVA_BYTE, 16, (byte)c.tcpFlags());
        return value;
    }

    /**
     * Frontend 10.96.0.10:80 over {@value #BACKENDS} backend ids that all lead to the pod (local, so never
     * source-translated), frontend 10.96.0.11:80 without endpoints; forwarding by FIB redirect; refusals by
     * {@code XDP_TX} on {@code ext0}.
     */
    private static void program(final SwitchboardMaps maps, final Host pod, final int ext0)
    {
        final BpfObject object = maps.object;
        final MemorySegment backendKeys = maps.arena.allocate(ValueLayout.JAVA_INT, BACKENDS);
        final MemorySegment backendValues = maps.arena.allocate(SwitchboardMaps.BACKEND_SIZE * BACKENDS);
        for (int j = 0; j < BACKENDS; j++)
        {
            backendKeys.setAtIndex(ValueLayout.JAVA_INT, j, j + 1);
            SwitchboardMaps.putBackend(backendValues, j, pod.address4().getAddress(), TARGET_PORT);
        }
        maps.backends.updateBatch(backendKeys, backendValues, BACKENDS, BpfMap.BPF_ANY);
        final int[] slots = new int[MAGLEV_M];
        for (int i = 0; i < MAGLEV_M; i++)
        {
            slots[i] = 1 + i % BACKENDS;
        }
        final BpfMap table = maps.createTable("sb_mg_mpps", slots);
        try
        {
            maps.pointTables(maps.arena.allocateFrom(ValueLayout.JAVA_INT, SVC_FORWARD),
                maps.arena.allocateFrom(ValueLayout.JAVA_INT, table.fd()), 1);
        }
        finally
        {
            table.close(); // the outer map holds it
        }
        final MemorySegment keys = maps.arena.allocate(SwitchboardMaps.SVC_KEY_SIZE * 2);
        final MemorySegment values = maps.arena.allocate(SwitchboardMaps.SVC_VALUE_SIZE * 2);
        try
        {
            SwitchboardMaps.putServiceKey(keys, 0, InetAddress.getByName("10.96.0.10").getAddress(), SERVICE_PORT);
            SwitchboardMaps.putServiceValue(values, 0, SVC_FORWARD, DatapathAbi.SVC_F_ANY_ENDPOINTS, BACKENDS, MAGLEV_M);
            SwitchboardMaps.putServiceKey(keys, 1, InetAddress.getByName("10.96.0.11").getAddress(), SERVICE_PORT);
            SwitchboardMaps.putServiceValue(values, 1, SVC_REFUSE, 0, 0, 0);
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
        maps.services.updateBatch(keys, values, 2, BpfMap.BPF_ANY);

        try (BpfMap config = object.map(DatapathAbi.CONFIG, DatapathAbi.CONFIG_SPEC);
            BpfMap ifaces = object.map(DatapathAbi.IFACES, DatapathAbi.IFACES_SPEC);
            Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(DatapathAbi.CONFIG_VALUE);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "flags"), DatapathAbi.CFG_F_XDP_FIB_REDIRECT);
            config.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0), value, BpfMap.BPF_ANY);
            final MemorySegment iface = arena.allocate(DatapathAbi.IFACE_VALUE);
            iface.set(ValueLayout.JAVA_INT, offset(DatapathAbi.IFACE_VALUE, "flags"), DatapathAbi.IFACE_F_XDP_TX);
            ifaces.update(arena.allocateFrom(ValueLayout.JAVA_INT, ext0), iface, BpfMap.BPF_ANY);
        }
    }
}
