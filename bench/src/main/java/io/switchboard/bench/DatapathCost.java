package io.switchboard.bench;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.TestRunResult;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.maglev.Backend;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * ns/packet of {@code sb_xdp} through {@code BPF_PROG_TEST_RUN} (the kernel's average over {@code repeat}
 * runs, median of {@code samples} such runs), beside an empty XDP program in the same process, at several
 * numbers of programmed service ports.
 * <p>
 * A test run repeats the program on the same buffer, which a DNAT rewrites in place; so that every repeat sees
 * the packet the first one saw, the measured services' backends are their own frontend address and port
 * (DNAT to the same tuple: the checksum and header writes still happen). Every service shares one inner
 * Maglev table of M = 1021 slots over E backend ids; the affinity service has its own.
 */
final class DatapathCost
{
    static final List<String> CASES = List.of("new_flow", "established", "affinity", "not_service");
    private static final int CLIENT_PORT = 40000;

    private final int repeat;
    private final int samples;
    private final int endpoints;
    private final Path emptyObject;

    /** Per case, per service count: median ns/packet; plus "empty". */
    final Map<String, Map<Integer, Double>> results = new LinkedHashMap<>();
    final List<Double> emptySamples = new ArrayList<>();
    final List<String> checks = new ArrayList<>();

    DatapathCost(final int repeat, final int samples, final int endpoints, final Path emptyObject)
    {
        this.repeat = repeat;
        this.samples = samples;
        this.endpoints = endpoints;
        this.emptyObject = emptyObject;
        CASES.forEach(name -> results.put(name, new LinkedHashMap<>()));
    }

    double empty()
    {
        return median(emptySamples.stream().mapToDouble(Double::doubleValue).toArray());
    }

    void measure(final int services) throws Exception
    {
        try (BpfObject empty = BpfObject.open(emptyObject).load();
             SwitchboardMaps maps = SwitchboardMaps.load(services + 2, 2 * endpoints + 1))
        {
            final ServiceSet set = ServiceSet.onPods(services, endpoints, endpoints);
            final int measuredSvcId = services;
            final int affinitySvcId = services + 1;
            final Inet4Address client = (Inet4Address)InetAddress.getByName("198.18.0.2");
            final Inet4Address frontend = (Inet4Address)InetAddress.getByName(set.clusterIp(set.lastIndex()));
            final Inet4Address affinityFrontend = (Inet4Address)InetAddress.getByName("10.97.0.1");
            final Inet4Address elsewhere = (Inet4Address)InetAddress.getByName("10.98.0.1");

            // backends 1..E route to the measured frontend, E+1..2E to the affinity frontend (see class doc)
            final MemorySegment keys = maps.arena.allocate(ValueLayout.JAVA_INT, 2L * endpoints);
            final MemorySegment values = maps.arena.allocate(SwitchboardMaps.BACKEND_SIZE * 2 * endpoints);
            for (int j = 0; j < 2 * endpoints; j++)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, j, j + 1);
                SwitchboardMaps.putBackend(values, j, (j < endpoints ? frontend : affinityFrontend).getAddress(),
                    ServiceSet.SERVICE_PORT);
            }
            maps.backends.updateBatch(keys, values, 2 * endpoints, BpfMap.BPF_ANY);

            final MaglevTableBuilder builder = new MaglevTableBuilder(new MaglevHash(0), TableSizes.defaults());
            final int tableSize = builder.sizes().sizeFor(endpoints);
            try (BpfMap shared = maps.createTable("sb_mg_shared", table(builder, tableSize, 1));
                 BpfMap affinityTable = maps.createTable("sb_mg_aff", table(builder, tableSize, endpoints + 1)))
            {
                final MemorySegment svcIds = maps.arena.allocate(ValueLayout.JAVA_INT, services + 1L);
                final MemorySegment fds = maps.arena.allocate(ValueLayout.JAVA_INT, services + 1L);
                for (int i = 0; i <= services; i++)
                {
                    svcIds.setAtIndex(ValueLayout.JAVA_INT, i, i + 1);
                    fds.setAtIndex(ValueLayout.JAVA_INT, i, i < services ? shared.fd() : affinityTable.fd());
                }
                maps.pointTables(svcIds, fds, services + 1);

                final MemorySegment serviceKeys = maps.arena.allocate(SwitchboardMaps.SVC_KEY_SIZE * (services + 1));
                final MemorySegment serviceValues =
                    maps.arena.allocate(SwitchboardMaps.SVC_VALUE_SIZE * (services + 1));
                for (int i = 0; i < services; i++)
                {
                    SwitchboardMaps.putServiceKey(serviceKeys, i,
                        InetAddress.getByName(set.clusterIp(i)).getAddress(), ServiceSet.SERVICE_PORT);
                    SwitchboardMaps.putServiceValue(serviceValues, i, i + 1, DatapathAbi.SVC_F_ANY_ENDPOINTS,
                        endpoints, tableSize);
                }
                SwitchboardMaps.putServiceKey(serviceKeys, services, affinityFrontend.getAddress(),
                    ServiceSet.SERVICE_PORT);
                SwitchboardMaps.putServiceValue(serviceValues, services, affinitySvcId,
                    DatapathAbi.SVC_F_ANY_ENDPOINTS | DatapathAbi.SVC_F_AFFINITY, endpoints, tableSize);
                maps.services.updateBatch(serviceKeys, serviceValues, services + 1, BpfMap.BPF_ANY);

                final BpfProgram xdp = maps.object.program(DatapathAbi.PROGRAM_XDP);
                final BpfProgram baseline = empty.program("empty_xdp");
                final byte[] syn = Frames.tcp(client, CLIENT_PORT, frontend, ServiceSet.SERVICE_PORT, Frames.TCP_SYN);
                final byte[] ack = Frames.tcp(client, CLIENT_PORT + 1, frontend, ServiceSet.SERVICE_PORT,
                    Frames.TCP_ACK);
                final byte[] ackSyn = Frames.tcp(client, CLIENT_PORT + 1, frontend, ServiceSet.SERVICE_PORT,
                    Frames.TCP_SYN);
                final byte[] affinitySyn = Frames.tcp(client, CLIENT_PORT + 2, affinityFrontend,
                    ServiceSet.SERVICE_PORT, Frames.TCP_SYN);
                final byte[] other = Frames.tcp(client, CLIENT_PORT + 3, elsewhere, ServiceSet.SERVICE_PORT,
                    Frames.TCP_SYN);

                // the conntrack entry of the established flow, and the affinity entry, made once beforehand
                expectPass(xdp.testRun(ackSyn, 1), "conntrack setup SYN");
                expectPass(xdp.testRun(affinitySyn, 1), "affinity setup SYN");

                final long newFlowsBefore = maps.serviceCounter(measuredSvcId, "new_flows");
                final long ctHitsBefore = maps.serviceCounter(measuredSvcId, "ct_hits");
                final long affinityBefore = maps.serviceCounter(affinitySvcId, "affinity_hits");
                results.get("new_flow").put(services, run(xdp, syn));
                results.get("established").put(services, run(xdp, ack));
                results.get("affinity").put(services, run(xdp, affinitySyn));
                results.get("not_service").put(services, run(xdp, other));
                emptySamples.add(run(baseline, syn));
                final long runs = (long)repeat * samples;
                checks.add(services + " services: new_flows +" + (maps.serviceCounter(measuredSvcId, "new_flows")
                    - newFlowsBefore) + ", ct_hits +" + (maps.serviceCounter(measuredSvcId, "ct_hits") - ctHitsBefore)
                    + ", affinity_hits +" + (maps.serviceCounter(affinitySvcId, "affinity_hits") - affinityBefore)
                    + " (each expected +" + runs + ")");
            }
        }
    }

    private int[] table(final MaglevTableBuilder builder, final int tableSize, final int firstId)
    {
        final List<Backend> backends = new ArrayList<>();
        for (int j = 0; j < endpoints; j++)
        {
            // placement addresses only; what the ids route to is in sb_backends
            backends.add(new Backend(firstId + j, new byte[] {(byte)198, 19, 0, (byte)(10 + j)}, 8080, 1));
        }
        final int[] slots = new int[tableSize];
        builder.populate(backends, slots);
        return slots;
    }

    private static void expectPass(final TestRunResult result, final String what)
    {
        if (result.returnValue() != TestRunResult.XDP_PASS)
        {
            throw new IllegalStateException(what + ": XDP returned " + result.returnValue());
        }
    }

    private double run(final BpfProgram program, final byte[] packet)
    {
        final double[] durations = new double[samples];
        for (int s = 0; s < samples; s++)
        {
            final TestRunResult result = program.testRun(packet, repeat);
            expectPass(result, program.name());
            durations[s] = result.durationNanos();
        }
        return median(durations);
    }

    static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
