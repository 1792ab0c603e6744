package io.switchboard.bench;

import io.switchboard.bpf.BpfLink;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.bpf.XdpMode;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.maglev.Backend;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.MaglevTableDiff;
import io.switchboard.maglev.TableSizes;
import io.switchboard.netns.LabNetwork;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Switchboard programmed the way the agent will do it, with direct {@link DatapathAbi} map writes: per
 * service port its own backend ids, its own Maglev table built by {@link MaglevTableBuilder} into its own
 * inner map, then the outer {@code sb_maglev} entries, then {@code sb_services}, all batched. A change
 * follows the agent's double buffering: the new table is diffed against the standby half of the inner map (two
 * generations ago), only changed slots are written, and one update of the frontend's sb_services value
 * (SVC_F_TABLE_B) makes it live; the outer map is not written.
 * <p>
 * The headline "switchboard" column uses the agent's {@link io.switchboard.datapath.DatapathProgrammer}
 * ({@link ProgrammerDataplane}); this one shows what the same writes cost without the model in between.
 */
final class SwitchboardDataplane implements DataplaneUnderTest
{
    private final LabNetwork network;
    private final int pods;
    private final MaglevTableBuilder builder = new MaglevTableBuilder(new MaglevHash(MaglevHash.DEFAULT_SEED),
        TableSizes.defaults());
    private SwitchboardMaps maps;
    private BpfLink xdp;
    private ServiceSet set;
    private long loadNanos;
    // The changed (last) service: its backends, its inner table and which half is live.
    private final List<Backend> lastBackends = new ArrayList<>();
    private BpfMap live;
    private boolean liveB;
    private int[] liveSlots;
    private int[] standbySlots;
    private int nextBackendId;
    private MemorySegment diffKeys;
    private MemorySegment diffValues;
    private MemorySegment oneKey;
    private MemorySegment oneBackend;
    private MemorySegment lastServiceKey;
    private MemorySegment lastServiceValue;
    private int tableSize;

    SwitchboardDataplane(final LabNetwork network, final int pods)
    {
        this.network = network;
        this.pods = pods;
    }

    @Override
    public String name()
    {
        return "switchboard-abi";
    }

    @Override
    public String note()
    {
        return "direct DatapathAbi map writes from this harness (the reference the programmer is compared with): " +
            "Maglev build + one inner map per service + batched sb_backends/sb_maglev/sb_services; object load " +
            "and attach (" + loadNanos / 1_000_000 + " ms) not included; change = table diff against the " +
            "standby half + the frontend's sb_services value names it (no outer write)";
    }

    long loadNanos()
    {
        return loadNanos;
    }

    @Override
    public long program(final ServiceSet services)
    {
        this.set = services;
        final int count = services.count();
        final int endpoints = services.endpointsPerService();
        final long loadStart = System.nanoTime();
        maps = SwitchboardMaps.load(count + 1, count * endpoints + 1024);
        attach();
        loadNanos = System.nanoTime() - loadStart;
        nextBackendId = count * endpoints + 1;

        final long start = System.nanoTime();
        final MemorySegment backendKeys = maps.arena.allocate(ValueLayout.JAVA_INT, (long)count * endpoints);
        final MemorySegment backendValues = maps.arena.allocate(SwitchboardMaps.BACKEND_SIZE * count * endpoints);
        final byte[][] ips = new byte[endpoints][];
        for (int j = 0; j < endpoints; j++)
        {
            ips[j] = ip(services.endpoints().get(j).ip());
        }
        for (int i = 0; i < count; i++)
        {
            for (int j = 0; j < endpoints; j++)
            {
                final int index = i * endpoints + j;
                backendKeys.setAtIndex(ValueLayout.JAVA_INT, index, index + 1);
                SwitchboardMaps.putBackend(backendValues, index, ips[j], services.endpoints().get(j).port());
            }
        }
        maps.backends.updateBatch(backendKeys, backendValues, count * endpoints, BpfMap.BPF_ANY);

        final int tableSize = builder.sizes().sizeFor(endpoints);
        final int[] slots = new int[tableSize];
        final List<Backend> backends = new ArrayList<>(endpoints);
        final MemorySegment svcIds = maps.arena.allocate(ValueLayout.JAVA_INT, count);
        final MemorySegment fds = maps.arena.allocate(ValueLayout.JAVA_INT, count);
        final List<BpfMap> tables = new ArrayList<>(count);
        try
        {
            for (int i = 0; i < count; i++)
            {
                backends.clear();
                for (int j = 0; j < endpoints; j++)
                {
                    backends.add(new Backend(i * endpoints + j + 1, ips[j], services.endpoints().get(j).port(), 1));
                }
                builder.populate(backends, slots);
                final BpfMap table = maps.createTable("sb_mg_" + (i + 1), slots);
                tables.add(table);
                svcIds.setAtIndex(ValueLayout.JAVA_INT, i, i + 1);
                fds.setAtIndex(ValueLayout.JAVA_INT, i, table.fd());
                if (i == services.lastIndex())
                {
                    lastBackends.addAll(backends);
                    liveSlots = slots.clone();
                }
            }
            maps.pointTables(svcIds, fds, count);
        }
        finally
        {
            // the outer map holds the inner maps now; keep only the last service's descriptor for changes
            for (int i = 0; i < tables.size() - 1; i++)
            {
                tables.get(i).close();
            }
        }
        live = tables.getLast();

        final MemorySegment serviceKeys = maps.arena.allocate(SwitchboardMaps.SVC_KEY_SIZE * count);
        final MemorySegment serviceValues = maps.arena.allocate(SwitchboardMaps.SVC_VALUE_SIZE * count);
        for (int i = 0; i < count; i++)
        {
            SwitchboardMaps.putServiceKey(serviceKeys, i, ip(services.clusterIp(i)), ServiceSet.SERVICE_PORT);
            SwitchboardMaps.putServiceValue(serviceValues, i, i + 1, DatapathAbi.SVC_F_ANY_ENDPOINTS, endpoints,
                tableSize);
        }
        maps.services.updateBatch(serviceKeys, serviceValues, count, BpfMap.BPF_ANY);
        final long elapsed = System.nanoTime() - start;

        diffKeys = maps.arena.allocate(ValueLayout.JAVA_INT, tableSize);
        diffValues = maps.arena.allocate(ValueLayout.JAVA_INT, tableSize);
        oneKey = maps.arena.allocate(ValueLayout.JAVA_INT);
        oneBackend = maps.arena.allocate(SwitchboardMaps.BACKEND_SIZE);
        lastServiceKey = maps.arena.allocate(SwitchboardMaps.SVC_KEY_SIZE);
        lastServiceValue = maps.arena.allocate(SwitchboardMaps.SVC_VALUE_SIZE);
        SwitchboardMaps.putServiceKey(lastServiceKey, 0, ip(services.clusterIp(services.lastIndex())),
            ServiceSet.SERVICE_PORT);
        this.tableSize = tableSize;
        standbySlots = liveSlots;
        return elapsed;
    }

    private void attach()
    {
        final BpfProgram fromClient = maps.object.program(DatapathAbi.PROGRAM_XDP);
        final BpfProgram fromPod = maps.object.program(DatapathAbi.PROGRAM_TC_FROM_POD);
        network.node().run(() ->
        {
            xdp = fromClient.attachXdp(Interfaces.index(LabNetwork.NODE_EXTERNAL_INTERFACE), XdpMode.NATIVE_OR_GENERIC);
            for (int p = 0; p < pods; p++)
            {
                fromPod.attachTc(Interfaces.index(network.podInterface(p)), TcDirection.INGRESS, 1, 1);
            }
        });
    }

    /** The XDP mode the kernel accepted on the node's external interface. */
    XdpMode xdpMode()
    {
        return xdp == null ? null : xdp.xdpMode();
    }

    @Override
    public long changeOneEndpoint(final int change)
    {
        final ServiceSet.Endpoint incoming = set.endpointsAfterChanges(change).getFirst();
        final long start = System.nanoTime();
        final int svcId = set.lastIndex() + 1;
        final int removedId = lastBackends.getFirst().id();
        final int newId = nextBackendId++;
        final byte[] ip = ip(incoming.ip());
        final MemorySegment key = oneKey;
        final MemorySegment value = oneBackend;
        key.set(ValueLayout.JAVA_INT, 0, newId);
        SwitchboardMaps.putBackend(value, 0, ip, incoming.port());
        maps.backends.update(key, value, BpfMap.BPF_ANY);

        lastBackends.set(0, new Backend(newId, ip, incoming.port(), 1));
        final int[] next = new int[liveSlots.length];
        builder.populate(lastBackends, next);
        final int changed = MaglevTableDiff.diff(standbySlots, next, diffKeys, diffValues);
        final int first = DatapathAbi.MAGLEV_SLOT_FIRST + (liveB ? 0 : next.length);
        for (int i = 0; i < changed; i++)
        {
            diffKeys.setAtIndex(ValueLayout.JAVA_INT, i, diffKeys.getAtIndex(ValueLayout.JAVA_INT, i) + first);
        }
        live.updateBatch(diffKeys, diffValues, changed, BpfMap.BPF_ANY);
        liveB = !liveB;
        SwitchboardMaps.putServiceValue(lastServiceValue, 0, svcId,
            DatapathAbi.SVC_F_ANY_ENDPOINTS | (liveB ? DatapathAbi.SVC_F_TABLE_B : 0), lastBackends.size(), tableSize);
        maps.services.update(lastServiceKey, lastServiceValue, BpfMap.BPF_ANY);
        standbySlots = liveSlots;
        liveSlots = next;

        key.set(ValueLayout.JAVA_INT, 0, removedId);
        maps.backends.delete(key);
        return System.nanoTime() - start;
    }

    static byte[] ip(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal).getAddress();
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
        }
    }

    @Override
    public void close()
    {
        if (xdp != null)
        {
            xdp.close();
        }
        if (live != null)
        {
            live.close();
        }
        if (maps != null)
        {
            maps.close();
        }
        // tc filters belong to the pod veths and go with the namespaces
    }
}
