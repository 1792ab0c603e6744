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

    /** One scale, loaded and filled: its maps, tables, programs and packets. */
    private final class Fixture implements AutoCloseable
    {
        final int services;
        final BpfObject empty;
        final SwitchboardMaps maps;
        final List<BpfMap> tables = new ArrayList<>();
        BpfProgram xdp;
        BpfProgram baseline;
        final Map<String, byte[]> packets = new LinkedHashMap<>();
        final Map<String, List<Double>> samples = new LinkedHashMap<>();
        int measuredSvcId;
        int affinitySvcId;

        Fixture(final int services)
        {
            this.services = services;
            this.empty = BpfObject.open(emptyObject).load();
            try
            {
                this.maps = SwitchboardMaps.load(services + 2, 2 * endpoints + 1);
            }
            catch (final RuntimeException ex)
            {
                empty.close();
                throw ex;
            }
        }

        @Override
        public void close()
        {
            tables.forEach(BpfMap::close);
            maps.close();
            empty.close();
        }
    }

    /**
     * Measures every scale in {@code scales}: all are loaded first, then each sampling round runs every case at
     * every scale, so that a change in the machine's load during the run spreads over all of them alike.
     */
    void measureAll(final List<Integer> scales) throws Exception
    {
        final List<Fixture> fixtures = new ArrayList<>();
        try
        {
            for (final int services : scales)
            {
                final Fixture fixture = new Fixture(services);
                fixtures.add(fixture);
                fill(fixture);
            }
            final Map<Fixture, long[]> before = new LinkedHashMap<>();
            for (final Fixture f : fixtures)
            {
                before.put(f, new long[] {f.maps.serviceCounter(f.measuredSvcId, "new_flows"),
                    f.maps.serviceCounter(f.measuredSvcId, "ct_hits"),
                    f.maps.serviceCounter(f.affinitySvcId, "affinity_hits")});
            }
            for (int round = 0; round < samples; round++)
            {
                for (final Fixture f : fixtures)
                {
                    for (final var packet : f.packets.entrySet())
                    {
                        final BpfProgram program = packet.getKey().equals("empty") ? f.baseline : f.xdp;
                        final TestRunResult result = program.testRun(packet.getValue(), repeat);
                        expectPass(result, packet.getKey());
                        f.samples.computeIfAbsent(packet.getKey(), k -> new ArrayList<>())
                            .add((double)result.durationNanos());
                    }
                }
            }
            final long runs = (long)repeat * samples;
            for (final Fixture f : fixtures)
            {
                for (final String name : CASES)
                {
                    results.get(name).put(f.services, median(f.samples.get(name)));
                }
                emptySamples.addAll(f.samples.get("empty"));
                final long[] b = before.get(f);
                checks.add(f.services + " services: new_flows +" +
                    (f.maps.serviceCounter(f.measuredSvcId, "new_flows") - b[0]) + ", ct_hits +" +
                    (f.maps.serviceCounter(f.measuredSvcId, "ct_hits") - b[1]) + ", affinity_hits +" +
                    (f.maps.serviceCounter(f.affinitySvcId, "affinity_hits") - b[2]) + " (each expected +" + runs +
                    ")");
            }
        }
        finally
        {
            fixtures.forEach(Fixture::close);
        }
    }

    private void fill(final Fixture f) throws Exception
    {
        final int services = f.services;
        final SwitchboardMaps maps = f.maps;
        final ServiceSet set = ServiceSet.onPods(services, endpoints, endpoints);
        f.measuredSvcId = services;
        f.affinitySvcId = services + 1;
        final Inet4Address client = (Inet4Address)InetAddress.getByName("198.18.0.2");
        final Inet4Address frontend = (Inet4Address)InetAddress.getByName(set.clusterIp(set.lastIndex()));
        final Inet4Address affinityFrontend = (Inet4Address)InetAddress.getByName("10.127.0.1");
        final Inet4Address elsewhere = (Inet4Address)InetAddress.getByName("10.128.0.1");

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
        final BpfMap shared = maps.createTable("sb_mg_shared", table(builder, tableSize, 1));
        f.tables.add(shared);
        final BpfMap affinityTable = maps.createTable("sb_mg_aff", table(builder, tableSize, endpoints + 1));
        f.tables.add(affinityTable);
        final MemorySegment svcIds = maps.arena.allocate(ValueLayout.JAVA_INT, services + 1L);
        final MemorySegment fds = maps.arena.allocate(ValueLayout.JAVA_INT, services + 1L);
        for (int i = 0; i <= services; i++)
        {
            svcIds.setAtIndex(ValueLayout.JAVA_INT, i, i + 1);
            fds.setAtIndex(ValueLayout.JAVA_INT, i, i < services ? shared.fd() : affinityTable.fd());
        }
        maps.pointTables(svcIds, fds, services + 1);

        final MemorySegment serviceKeys = maps.arena.allocate(SwitchboardMaps.SVC_KEY_SIZE * (services + 1));
        final MemorySegment serviceValues = maps.arena.allocate(SwitchboardMaps.SVC_VALUE_SIZE * (services + 1));
        for (int i = 0; i < services; i++)
        {
            SwitchboardMaps.putServiceKey(serviceKeys, i, InetAddress.getByName(set.clusterIp(i)).getAddress(),
                ServiceSet.SERVICE_PORT);
            SwitchboardMaps.putServiceValue(serviceValues, i, i + 1, DatapathAbi.SVC_F_ANY_ENDPOINTS, endpoints,
                tableSize);
        }
        SwitchboardMaps.putServiceKey(serviceKeys, services, affinityFrontend.getAddress(), ServiceSet.SERVICE_PORT);
        SwitchboardMaps.putServiceValue(serviceValues, services, f.affinitySvcId,
            DatapathAbi.SVC_F_ANY_ENDPOINTS | DatapathAbi.SVC_F_AFFINITY, endpoints, tableSize);
        maps.services.updateBatch(serviceKeys, serviceValues, services + 1, BpfMap.BPF_ANY);

        f.xdp = maps.object.program(DatapathAbi.PROGRAM_XDP);
        f.baseline = f.empty.program("empty_xdp");
        final byte[] ackSyn = Frames.tcp(client, CLIENT_PORT + 1, frontend, ServiceSet.SERVICE_PORT, Frames.TCP_SYN);
        f.packets.put("new_flow", Frames.tcp(client, CLIENT_PORT, frontend, ServiceSet.SERVICE_PORT, Frames.TCP_SYN));
        f.packets.put("established", Frames.tcp(client, CLIENT_PORT + 1, frontend, ServiceSet.SERVICE_PORT,
            Frames.TCP_ACK));
        f.packets.put("affinity", Frames.tcp(client, CLIENT_PORT + 2, affinityFrontend, ServiceSet.SERVICE_PORT,
            Frames.TCP_SYN));
        f.packets.put("not_service", Frames.tcp(client, CLIENT_PORT + 3, elsewhere, ServiceSet.SERVICE_PORT,
            Frames.TCP_SYN));
        f.packets.put("empty", f.packets.get("new_flow"));

        // the conntrack entry of the established flow, and the affinity entry, made once beforehand
        expectPass(f.xdp.testRun(ackSyn, 1), "conntrack setup SYN");
        expectPass(f.xdp.testRun(f.packets.get("affinity"), 1), "affinity setup SYN");
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

    static double median(final List<Double> values)
    {
        return median(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    static double median(final double[] values)
    {
        final double[] sorted = values.clone();
        Arrays.sort(sorted);
        final int n = sorted.length;
        return n == 0 ? Double.NaN : n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
