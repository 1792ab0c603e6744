package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;
import io.switchboard.maglev.Backend;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.Cidr;
import io.switchboard.model.Frontend;
import io.switchboard.model.FrontendKind;
import io.switchboard.model.IpFamily;
import io.switchboard.model.Protocol;
import io.switchboard.model.ServiceEndpoint;
import io.switchboard.model.ServicePortKey;
import io.switchboard.model.ServicePortState;
import io.switchboard.model.TrafficOutcome;
import io.switchboard.model.TrafficScope;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import static io.switchboard.datapath.DatapathAbi.AFFINITY_KEY;
import static io.switchboard.datapath.DatapathAbi.BACKEND;
import static io.switchboard.datapath.DatapathAbi.CT_VALUE;
import static io.switchboard.datapath.DatapathAbi.NET_PORT;
import static io.switchboard.datapath.DatapathAbi.SOURCE_RANGE_KEY;
import static io.switchboard.datapath.DatapathAbi.SVC_KEY;
import static io.switchboard.datapath.DatapathAbi.SVC_VALUE;
import static io.switchboard.datapath.DatapathAbi.offset;

/**
 * Turns resolved service ports into datapath map entries, writing only what differs (invariant 3),
 * from one thread (invariant 7).
 * <p>
 * Each service port gets one <em>table</em> per (traffic scope, IP family) — an svc_id with its own
 * backend ids and Maglev table — and one {@code sb_services} entry per frontend. A table's Maglev
 * slots live in an inner map that packets read through {@code sb_maglev[svc_id]}, in two halves: a change is
 * written into the half no frontend names (diffed against what that half holds) and made live by rewriting
 * each frontend's value, one atomic update of {@code sb_services} each (invariant 1). The outer map is written
 * only when a table is created or its size changes: every map-in-map update waits for an RCU grace period,
 * ~17 ms on the test machine, which per change would set the update latency (bench/README.md). Backend ids are per table, so removing an endpoint from a service deletes its
 * id: conntrack and affinity entries naming it stop routing at once (the datapath checks sb_backends) and age
 * out; ids go round 2^31 values before one is reused, so such an entry never comes to name another backend.
 */
public final class DatapathProgrammer implements AutoCloseable
{
    /** How long a removed backend stays readable for packets that read the previous table (RCU). */
    private static final long DEFERRED_DELETE_NS = 1_000_000L;
    /** New inner tables held open at most before their outer updates are written (descriptors). */
    private static final int OUTER_BATCH = 256;

    /** What one programmed table is. */
    public record TableKey(ServicePortKey port, TrafficScope scope, IpFamily family)
    {
    }

    /** One {@code sb_services} key. */
    public record FrontendKey(InetAddress address, int port, Protocol protocol)
    {
        static FrontendKey of(final Frontend frontend)
        {
            return new FrontendKey(frontend.address(), frontend.port(), frontend.protocol());
        }
    }

    /** One {@code sb_services} value. */
    public record FrontendValue(int svcId, int flags, int affinityTimeoutSeconds, int backendCount, int tableSize,
        int generation)
    {
    }

    private record EndpointKey(InetAddress address, int port)
    {
    }

    private record SourceRange(int svcId, Cidr cidr)
    {
    }

    /** Map writes so far, by kind: what the one-change tests count. */
    public static final class WriteCounters
    {
        private long serviceEntries;
        private long backendEntries;
        private long maglevSlots;
        private long tableSwitches;
        private long deletions;
        private long standbySlots;
        private long outerUpdates;
        private long outerBatches;

        public long serviceEntries()
        {
            return serviceEntries;
        }

        public long backendEntries()
        {
            return backendEntries;
        }

        public long maglevSlots()
        {
            return maglevSlots;
        }

        public long tableSwitches()
        {
            return tableSwitches;
        }

        public long deletions()
        {
            return deletions;
        }

        /** Slots written into standby tables after a switch, to keep them one generation behind. */
        public long standbySlots()
        {
            return standbySlots;
        }

        /** Updates and deletes of {@code sb_maglev} itself (a table created, resized or removed). */
        public long outerUpdates()
        {
            return outerUpdates;
        }

        /** Syscalls that wrote or deleted {@code sb_maglev} entries: each waits for one RCU grace period (6.7 on). */
        public long outerBatches()
        {
            return outerBatches;
        }

        /** Every element written or deleted. */
        public long total()
        {
            return serviceEntries + backendEntries + maglevSlots + tableSwitches + deletions + standbySlots;
        }
    }

    private static final class Table
    {
        final int svcId;
        Map<EndpointKey, Integer> backendIds = new HashMap<>();
        Map<Integer, Boolean> backendLocal = new HashMap<>();
        /** Slots of the live half. */
        int[] live;
        /** Kernel id of the inner table; only sb_maglev holds it, no descriptor is kept. */
        int liveId;
        /** Whether sb_maglev holds an inner table for this svc_id. */
        boolean inOuter;
        /** Whether the inner table has both halves (2M + 1 slots); one left by an ABI 3 agent before them does not. */
        boolean halves;
        /** Whether half B is live (frontends carry SVC_F_TABLE_B). */
        boolean liveB;
        /** Content of the other half, or null when unknown. */
        int[] standby;
        /** Packets that read the other half before it stopped being live have finished by then. */
        long standbyFreeNs;
        int generation;
        int backendCount;
        boolean removed;

        Table(final int svcId)
        {
            this.svcId = svcId;
        }
    }

    private static final class Programmed
    {
        final Map<TableKey, Table> tables = new HashMap<>();
        final Map<FrontendKey, FrontendValue> frontends = new HashMap<>();
        final Set<SourceRange> sourceRanges = new HashSet<>();
        final Set<InetAddress> announced = new HashSet<>();
    }

    /** One {@code sb_neigh} key: an announced address on one interface. */
    private record NeighKey(InetAddress address, int ifindex)
    {
    }

    private record DeferredDelete(long dueNs, int backendId)
    {
    }

    private record CatchUp(long dueNs, Table table, int generation)
    {
    }

    private final DatapathMaps maps;
    private final Path tablePins;
    private final MaglevTableBuilder builder;
    private final TableSizes sizes;
    private final IdAllocator svcIds;
    private final IdAllocator backendIds;
    private final Map<ServicePortKey, Programmed> programmed = new HashMap<>();
    private final ArrayDeque<DeferredDelete> deferredDeletes = new ArrayDeque<>();
    private final ArrayDeque<CatchUp> catchUps = new ArrayDeque<>();
    /** Nesting of {@link #begin()}; map-in-map writes wait for {@link #commit()} while it is above 0. */
    private int batchDepth;
    /** New inner tables (held open) by svc_id, waiting for their outer update, in the order they were made. */
    private final Map<Integer, BpfMap> pendingInserts = new LinkedHashMap<>();
    /** The tables of pendingInserts, by svc_id. */
    private final Map<Integer, Table> pendingTables = new HashMap<>();
    /** Frontend values that name a table in pendingInserts: written after it is live. */
    private final Map<FrontendKey, FrontendValue> pendingFrontends = new LinkedHashMap<>();
    /** Tables to remove from sb_maglev once no frontend names them. */
    private final List<Table> pendingRemovals = new ArrayList<>();
    /** Backends that stopped being named in this batch: due a grace after the commit that made that true. */
    private final List<Integer> retiring = new ArrayList<>();
    /** Tables whose frontends move to the other half in this batch. */
    private final List<Table> flipped = new ArrayList<>();
    private MemorySegment outerKeys = MemorySegment.NULL;
    private MemorySegment outerValues = MemorySegment.NULL;
    private final WriteCounters writes = new WriteCounters();
    private final Arena arena = Arena.ofShared();
    private final MemorySegment svcKey = arena.allocate(SVC_KEY);
    private final MemorySegment svcValue = arena.allocate(SVC_VALUE);
    private final MemorySegment u32Key = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment config = arena.allocate(DatapathAbi.CONFIG_VALUE);
    private final MemorySegment u32Value = arena.allocate(ValueLayout.JAVA_INT);
    private final MemorySegment backendValue = arena.allocate(BACKEND);
    private final MemorySegment rangeKey = arena.allocate(SOURCE_RANGE_KEY);
    private final MemorySegment byteValue = arena.allocate(1);
    private final MemorySegment neighKey = arena.allocate(DatapathAbi.NEIGH_KEY);
    private final MemorySegment neighValue = arena.allocate(DatapathAbi.NEIGH_VALUE);
    /** Interfaces that answer ARP / NDP for announced addresses: ifindex → MAC. */
    private Map<Integer, byte[]> announceInterfaces = Map.of();
    /** Announced address → the service ports that want it announced (an address may serve several). */
    private final Map<InetAddress, Set<ServicePortKey>> announcers = new HashMap<>();
    /** What sb_neigh holds as written: only these are written or deleted. */
    private final Map<NeighKey, byte[]> neighEntries = new HashMap<>();
    private final MemorySegment statsZero;
    private MemorySegment slotKeys = MemorySegment.NULL;
    private MemorySegment slotValues = MemorySegment.NULL;
    private Adoption adoption;
    /** The table removed svc_ids point at (M = 0); created on the first removal. */
    private BpfMap emptyTable;

    /**
     * @param maps       the datapath's maps, sized when the object was loaded.
     * @param tablePins  a bpffs directory where standby Maglev tables are pinned.
     * @param builder    the Maglev builder (its hash seed must equal {@code sb_config.maglev_seed}).
     * @param sizes      Maglev table sizes per backend count.
     */
    public DatapathProgrammer(final DatapathMaps maps, final Path tablePins, final MaglevTableBuilder builder,
        final TableSizes sizes)
    {
        this.maps = Objects.requireNonNull(maps, "maps");
        this.tablePins = Objects.requireNonNull(tablePins, "tablePins");
        this.builder = Objects.requireNonNull(builder, "builder");
        this.sizes = Objects.requireNonNull(sizes, "sizes");
        this.svcIds = new IdAllocator("service", maps.maglev().maxEntries() - 1);
        // ids far beyond the map's capacity: entries naming a removed backend's id expire before it is reused
        this.backendIds = new IdAllocator("backend", maps.backends().maxEntries(), Integer.MAX_VALUE);
        this.statsZero = arena.allocate(maps.serviceStats().valueBufferSize(), 8);
    }

    /** Writes the cluster-wide settings: the Maglev flow-hash seed and conntrack idle timeouts (0 = default). */
    public void configure(final int maglevSeed, final int tcpSynSeconds, final int tcpEstablishedSeconds,
        final int tcpClosingSeconds, final int udpSeconds)
    {
        config.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "maglev_seed"), maglevSeed);
        config.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "ct_tcp_syn_s"), tcpSynSeconds);
        config.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "ct_tcp_established_s"),
            tcpEstablishedSeconds);
        config.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "ct_tcp_closing_s"), tcpClosingSeconds);
        config.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "ct_udp_s"), udpSeconds);
        writeConfig();
    }

    /**
     * Writes this node's source-translation settings: the address translated flows leave with, per
     * family (null: flows of that family keep the client's address), and the range of source ports.
     */
    public void configureSourceTranslation(final Inet4Address node4, final Inet6Address node6, final int portMin,
        final int portMax)
    {
        if (portMin < 1 || portMax > 65_535 || portMin > portMax)
        {
            throw new IllegalArgumentException("SNAT port range " + portMin + "-" + portMax
                + ": want 1 <= first <= last <= 65535");
        }
        config.set(ValueLayout.JAVA_SHORT, offset(DatapathAbi.CONFIG_VALUE, "snat_port_min"), (short)portMin);
        config.set(ValueLayout.JAVA_SHORT, offset(DatapathAbi.CONFIG_VALUE, "snat_port_max"), (short)portMax);
        writeNodeAddress(offset(DatapathAbi.CONFIG_VALUE, "node_addr4"), node4);
        writeNodeAddress(offset(DatapathAbi.CONFIG_VALUE, "node_addr6"), node6);
        writeConfig();
    }

    /**
     * Closes {@code port} (TCP and UDP) of the node addresses of {@link #configureSourceTranslation} to everything
     * outside the node: {@code sb_xdp} drops datagrams and TCP SYNs to it from its interfaces, while the node
     * itself and its pods still reach it (the agent's DNS server, the DNS Service's endpoint). 0 opens it again.
     */
    public void closeNodePort(final int port)
    {
        if (port < 0 || port > 65_535)
        {
            throw new IllegalArgumentException("closed node port " + port + ": want 0..65535");
        }
        config.set(DatapathAbi.NET_PORT, offset(DatapathAbi.CONFIG_VALUE, "closed_port"), (short)port);
        writeConfig();
    }

    /** A node address of the config, or all zero (none). */
    private void writeNodeAddress(final long offset, final InetAddress address)
    {
        if (null == address)
        {
            config.asSlice(offset, 16).fill((byte)0);
            return;
        }
        DatapathAbi.writeAddress(config, offset, address);
    }

    private void writeConfig()
    {
        u32Key.set(ValueLayout.JAVA_INT, 0, 0);
        maps.config().update(u32Key, config, BpfMap.BPF_ANY);
    }

    public WriteCounters writes()
    {
        return writes;
    }

    /**
     * Starts a batch: until the matching {@link #commit()}, tables are created, resized and removed in
     * {@code sb_maglev} together, so that a kernel that waits for one RCU grace period per map-in-map batch (6.7 on)
     * waits once per {@value #OUTER_BATCH} tables instead of once per table. Frontends that name a new table are
     * written after it is live; removed tables leave sb_maglev after no frontend names them. Calls outside a batch
     * commit by themselves.
     */
    public void begin()
    {
        batchDepth++;
    }

    /** Ends a batch: writes what {@link #begin()} held back, in the order that keeps every frontend's table live. */
    public void commit()
    {
        if (batchDepth > 0 && --batchDepth > 0)
        {
            return;
        }
        insertPendingTables();
        removePendingTables();
        final long nowNs = System.nanoTime();
        final long due = nowNs + DEFERRED_DELETE_NS;
        for (final Table table : flipped)
        {
            table.standbyFreeNs = due;
            // once no packet can still be reading it, bring the now standby half up to the live one, so the next
            // change writes exactly the slots it changes (and an agent of the previous release, which reads
            // half A only, finds the live table there after a rollback)
            catchUps.addLast(new CatchUp(due, table, table.generation));
        }
        flipped.clear();
        for (final int id : retiring)
        {
            deferredDeletes.addLast(new DeferredDelete(due, id));
        }
        retiring.clear();
    }

    private MemorySegment outerKeys(final int count)
    {
        if (outerKeys.byteSize() < 4L * count)
        {
            outerKeys = arena.allocate(ValueLayout.JAVA_INT, Math.max(count, OUTER_BATCH));
            outerValues = arena.allocate(ValueLayout.JAVA_INT, Math.max(count, OUTER_BATCH));
        }
        return outerKeys;
    }

    /** One outer batch for the held tables, then the frontends that name them. */
    private void insertPendingTables()
    {
        if (pendingInserts.isEmpty())
        {
            pendingFrontends.clear();
            return;
        }
        final MemorySegment keys = outerKeys(pendingInserts.size());
        int count = 0;
        for (final Map.Entry<Integer, BpfMap> entry : pendingInserts.entrySet())
        {
            keys.setAtIndex(ValueLayout.JAVA_INT, count, entry.getKey());
            outerValues.setAtIndex(ValueLayout.JAVA_INT, count, entry.getValue().fd());
            count++;
        }
        try
        {
            // one atomic update per table makes it live (invariant 1); the kernel waits for a grace period
            maps.maglev().updateBatch(keys, outerValues, count, BpfMap.BPF_ANY);
            writes.outerUpdates += count;
            writes.outerBatches++;
            writes.tableSwitches += count;
        }
        catch (final RuntimeException ex)
        {
            forgetPendingTables();
            throw ex;
        }
        finally
        {
            pendingInserts.values().forEach(BpfMap::close); // sb_maglev holds them now
            pendingInserts.clear();
            pendingTables.clear();
        }
        final List<Map.Entry<FrontendKey, FrontendValue>> frontends = List.copyOf(pendingFrontends.entrySet());
        pendingFrontends.clear();
        for (final Map.Entry<FrontendKey, FrontendValue> entry : frontends)
        {
            writeFrontendNow(entry.getKey(), entry.getValue());
        }
    }

    /**
     * The outer batch failed: none of its tables is live. They are made new again (the next apply rebuilds them from
     * nothing) and the frontends that were waiting for them are forgotten as written, so it writes them too.
     */
    private void forgetPendingTables()
    {
        for (final Table table : pendingTables.values())
        {
            table.live = null;
            table.liveId = 0;
            table.inOuter = false;
            table.halves = false;
            table.standby = null;
        }
        for (final Programmed current : programmed.values())
        {
            current.frontends.keySet().removeAll(pendingFrontends.keySet());
        }
        pendingFrontends.clear();
    }

    /**
     * Removed tables leave sb_maglev by one batch update that points their svc_ids at one shared empty table (slot
     * 0 = M = 0: never routes): the kernel has no batch delete for a map-of-maps, and a delete per table would wait
     * for a grace period each. The empty table costs one slot; a svc_id that comes round again gets a real one.
     */
    private void removePendingTables()
    {
        if (pendingRemovals.isEmpty())
        {
            return;
        }
        final MemorySegment keys = outerKeys(pendingRemovals.size());
        final int emptyFd = emptyTable().fd();
        int count = 0;
        for (final Table table : pendingRemovals)
        {
            if (table.inOuter)
            {
                keys.setAtIndex(ValueLayout.JAVA_INT, count, table.svcId);
                outerValues.setAtIndex(ValueLayout.JAVA_INT, count, emptyFd);
                count++;
            }
        }
        if (count > 0)
        {
            maps.maglev().updateBatch(keys, outerValues, count, BpfMap.BPF_ANY);
            writes.outerBatches++;
        }
        writes.deletions += count;
        writes.outerUpdates += count;
        for (final Table table : pendingRemovals)
        {
            svcIds.free(table.svcId); // only now: a new table must not take the id of one still in sb_maglev
        }
        pendingRemovals.clear();
    }

    private BpfMap emptyTable()
    {
        if (null == emptyTable)
        {
            emptyTable = BpfMap.create("sb_mglv_empty", DatapathAbi.MAGLEV_TABLE_SPEC, 1, BpfMap.BPF_F_INNER_MAP);
        }
        return emptyTable;
    }

    /**
     * Programs one service port as {@code state} resolves it; only entries that differ from what is
     * programmed are written.
     *
     * @param internalLocal whether internalTrafficPolicy is Local (flags the internal tables)
     * @param externalLocal whether externalTrafficPolicy is Local (flags the external tables)
     */
    public void apply(final ServicePortState state, final boolean internalLocal, final boolean externalLocal)
    {
        begin();
        try
        {
            applyInBatch(state, internalLocal, externalLocal);
        }
        catch (final RuntimeException ex)
        {
            distrustFlips();
            throw ex;
        }
        finally
        {
            commit();
        }
    }

    /**
     * A write failed part way: some frontends of a table flipped in this batch may still name its other half. The
     * next change of such a table builds a new inner table instead of writing a half that may be read.
     */
    private void distrustFlips()
    {
        for (final Table table : flipped)
        {
            table.halves = false;
        }
    }

    private void applyInBatch(final ServicePortState state, final boolean internalLocal, final boolean externalLocal)
    {
        final ServicePortKey key = state.key();
        final Programmed current = programmed.computeIfAbsent(key, k -> new Programmed());

        final Map<TableKey, List<ServiceEndpoint>> desiredEndpoints = new LinkedHashMap<>();
        final Map<TableKey, Integer> desiredFlags = new HashMap<>();
        final Map<FrontendKey, TableKey> desiredFrontends = new LinkedHashMap<>();
        final Map<FrontendKey, Integer> frontendFlags = new HashMap<>();
        for (final Frontend frontend : state.frontends())
        {
            final TableKey tableKey = new TableKey(key, frontend.scope(), frontend.family());
            if (!desiredEndpoints.containsKey(tableKey))
            {
                final List<ServiceEndpoint> endpoints = new ArrayList<>(
                    state.selectionFor(frontend).endpoints(frontend.family()));
                endpoints.sort(ServiceEndpoint.ORDER);
                desiredEndpoints.put(tableKey, endpoints);
                int flags = 0;
                if (frontend.scope() == TrafficScope.EXTERNAL)
                {
                    flags |= DatapathAbi.SVC_F_EXTERNAL;
                }
                if (frontend.scope() == TrafficScope.INTERNAL ? internalLocal : externalLocal)
                {
                    flags |= DatapathAbi.SVC_F_LOCAL_ONLY;
                }
                if (state.outcomeFor(frontend) != TrafficOutcome.REFUSE)
                {
                    flags |= DatapathAbi.SVC_F_ANY_ENDPOINTS;
                }
                if (state.affinityTimeoutSeconds() > 0)
                {
                    flags |= DatapathAbi.SVC_F_AFFINITY;
                }
                desiredFlags.put(tableKey, flags);
            }
            int flags = 0;
            if (frontend.kind() == FrontendKind.NODE_PORT)
            {
                flags |= DatapathAbi.SVC_F_NODEPORT;
            }
            if (frontend.kind() == FrontendKind.LOAD_BALANCER)
            {
                flags |= DatapathAbi.SVC_F_LOADBALANCER;
                if (!state.sourceRanges().isEmpty())
                {
                    flags |= DatapathAbi.SVC_F_SOURCE_RANGES;
                }
            }
            desiredFrontends.put(FrontendKey.of(frontend), tableKey);
            frontendFlags.put(FrontendKey.of(frontend), flags);
        }

        // tables that keep or gain backends first, so frontends never point at a missing table
        final Map<TableKey, Table> tables = new HashMap<>();
        for (final Map.Entry<TableKey, List<ServiceEndpoint>> entry : desiredEndpoints.entrySet())
        {
            Table table = current.tables.get(entry.getKey());
            if (null == table)
            {
                table = newTable(entry.getKey(), desiredFrontends);
                current.tables.put(entry.getKey(), table);
            }
            tables.put(entry.getKey(), table);
            if (!entry.getValue().isEmpty())
            {
                syncTable(table, entry.getValue());
            }
        }
        writeFrontends(current, desiredFrontends, tables, desiredEndpoints, desiredFlags, frontendFlags,
            state.affinityTimeoutSeconds());
        // tables that lose their last backend after their frontends say so, then the frontends again
        // for the new table's size and generation
        boolean emptied = false;
        for (final Map.Entry<TableKey, List<ServiceEndpoint>> entry : desiredEndpoints.entrySet())
        {
            if (entry.getValue().isEmpty())
            {
                syncTable(tables.get(entry.getKey()), entry.getValue());
                emptied = true;
            }
        }
        if (emptied)
        {
            writeFrontends(current, desiredFrontends, tables, desiredEndpoints, desiredFlags, frontendFlags,
                state.affinityTimeoutSeconds());
        }
        for (final FrontendKey gone : List.copyOf(current.frontends.keySet()))
        {
            if (!desiredFrontends.containsKey(gone))
            {
                deleteFrontend(gone);
                current.frontends.remove(gone);
            }
        }
        for (final TableKey gone : List.copyOf(current.tables.keySet()))
        {
            if (!desiredEndpoints.containsKey(gone))
            {
                removeTable(current.tables.remove(gone));
            }
        }
        syncSourceRanges(current, state, desiredFrontends, tables);
        syncAnnouncements(key, current, state);
    }

    private void writeFrontends(
        final Programmed current,
        final Map<FrontendKey, TableKey> desiredFrontends,
        final Map<TableKey, Table> tables,
        final Map<TableKey, List<ServiceEndpoint>> desiredEndpoints,
        final Map<TableKey, Integer> desiredFlags,
        final Map<FrontendKey, Integer> frontendFlags,
        final int affinityTimeoutSeconds)
    {
        for (final Map.Entry<FrontendKey, TableKey> entry : desiredFrontends.entrySet())
        {
            final Table table = tables.get(entry.getValue());
            final int backendCount = desiredEndpoints.get(entry.getValue()).isEmpty() ? 0 : table.backendCount;
            final FrontendValue value = new FrontendValue(table.svcId,
                desiredFlags.get(entry.getValue()) | frontendFlags.get(entry.getKey())
                    | (table.liveB ? DatapathAbi.SVC_F_TABLE_B : 0),
                affinityTimeoutSeconds, backendCount, null == table.live ? 0 : table.live.length,
                table.generation);
            FrontendValue previous = current.frontends.get(entry.getKey());
            if (null == previous && null != adoption)
            {
                previous = adoption.value(entry.getKey());
            }
            if (!value.equals(previous))
            {
                writeFrontend(entry.getKey(), value);
            }
            current.frontends.put(entry.getKey(), value);
        }
    }

    /** Removes every entry of a service port. */
    public void remove(final ServicePortKey key)
    {
        begin();
        try
        {
            removeInBatch(key);
        }
        catch (final RuntimeException ex)
        {
            distrustFlips();
            throw ex;
        }
        finally
        {
            commit();
        }
    }

    private void removeInBatch(final ServicePortKey key)
    {
        final Programmed current = programmed.remove(key);
        if (null == current)
        {
            return;
        }
        for (final FrontendKey frontend : current.frontends.keySet())
        {
            deleteFrontend(frontend);
        }
        for (final SourceRange range : current.sourceRanges)
        {
            deleteSourceRange(range);
        }
        for (final InetAddress address : current.announced)
        {
            withdraw(key, address);
        }
        for (final Table table : current.tables.values())
        {
            removeTable(table);
        }
    }

    /** How many service ports are programmed now. */
    public int programmedCount()
    {
        return programmed.size();
    }

    /** The service ports programmed now. */
    public Set<ServicePortKey> programmedPorts()
    {
        return Set.copyOf(programmed.keySet());
    }

    /** The frontends of one programmed service port, as written. */
    public Map<FrontendKey, FrontendValue> frontends(final ServicePortKey key)
    {
        final Programmed current = programmed.get(key);
        return null == current ? Map.of() : Map.copyOf(current.frontends);
    }

    /**
     * Brings standby tables up to date and deletes backends whose tables stopped naming them at least {@value #DEFERRED_DELETE_NS} ns ago
     * (a packet that read the previous table has finished by then), freeing their ids. Call once per duty
     * cycle.
     *
     * @return the number of backends deleted.
     */
    public int deleteRetiredBackends(final long nowNs)
    {
        while (!catchUps.isEmpty() && nowNs - catchUps.peekFirst().dueNs() >= 0)
        {
            final CatchUp catchUp = catchUps.pollFirst();
            final Table table = catchUp.table();
            if (!table.removed && table.generation == catchUp.generation())
            {
                catchUpStandby(table);
            }
        }
        int deleted = 0;
        while (!deferredDeletes.isEmpty() && nowNs - deferredDeletes.peekFirst().dueNs() >= 0)
        {
            final int id = deferredDeletes.pollFirst().backendId();
            u32Key.set(ValueLayout.JAVA_INT, 0, id);
            maps.backends().delete(u32Key);
            writes.deletions++;
            // conntrack and affinity entries naming the id now miss (the datapath checks sb_backends) and age
            // out; the id comes round again only after 2^31 allocations, long after they have
            backendIds.free(id);
            deleted++;
        }
        return deleted;
    }

    /** Whether removed backends are still waiting for {@link #deleteRetiredBackends(long)}. */
    public boolean hasRetiredBackends()
    {
        return !deferredDeletes.isEmpty() || !catchUps.isEmpty();
    }

    private Table newTable(final TableKey key, final Map<FrontendKey, TableKey> desiredFrontends)
    {
        if (null != adoption)
        {
            for (final Map.Entry<FrontendKey, TableKey> frontend : desiredFrontends.entrySet())
            {
                if (frontend.getValue().equals(key))
                {
                    final Table adopted = adoption.claim(frontend.getKey());
                    if (null != adopted)
                    {
                        return adopted;
                    }
                }
            }
        }
        final Table table = new Table(svcIds.allocate());
        u32Key.set(ValueLayout.JAVA_INT, 0, table.svcId);
        maps.serviceStats().update(u32Key, statsZero, BpfMap.BPF_ANY);
        return table;
    }

    private void syncTable(final Table table, final List<ServiceEndpoint> endpoints)
    {
        final Map<EndpointKey, Integer> nextIds = new HashMap<>();
        final Map<Integer, Boolean> nextLocal = new HashMap<>();
        final List<Backend> maglevBackends = new ArrayList<>(endpoints.size());
        for (final ServiceEndpoint endpoint : endpoints)
        {
            final EndpointKey endpointKey = new EndpointKey(endpoint.address(), endpoint.port());
            if (nextIds.containsKey(endpointKey))
            {
                continue;
            }
            Integer id = table.backendIds.remove(endpointKey);
            if (null == id)
            {
                id = backendIds.allocate();
            }
            if (!Boolean.valueOf(endpoint.local()).equals(table.backendLocal.get(id)))
            {
                writeBackend(id, endpoint);
            }
            nextIds.put(endpointKey, id);
            nextLocal.put(id, endpoint.local());
            maglevBackends.add(Backend.of(id, endpoint.address(), endpoint.port(), 1));
        }
        final Map<EndpointKey, Integer> removed = table.backendIds;
        table.backendIds = nextIds;
        table.backendLocal = nextLocal;

        final int[] slots = new int[sizes.sizeFor(maglevBackends.size())];
        builder.populate(maglevBackends, slots);
        if (null == table.live || !Arrays.equals(table.live, slots))
        {
            writeTable(table, slots);
        }
        table.backendCount = maglevBackends.size();
        retiring.addAll(removed.values());
    }

    private void writeTable(final Table table, final int[] slots)
    {
        final int size = slots.length;
        ensureSlotScratch(2 * size + 1);
        if (table.halves && null != table.live && table.live.length == size && 0 != table.liveId)
        {
            writeStandbyHalf(table, slots);
        }
        else
        {
            replaceInnerTable(table, slots);
        }
        table.generation++;
    }

    /**
     * The common change: the other half gets the slots that differ from what it holds; the frontends' rewrite
     * that follows ({@link #writeFrontends}) makes it live. No outer update, so no grace period to wait for.
     */
    private void writeStandbyHalf(final Table table, final int[] slots)
    {
        final int size = slots.length;
        // a packet that read a frontend before the previous flip may still read this half: let it finish
        if (Long.MAX_VALUE == table.standbyFreeNs)
        {
            table.standbyFreeNs = System.nanoTime() + DEFERRED_DELETE_NS; // flipped earlier in this batch
        }
        while (System.nanoTime() - table.standbyFreeNs < 0)
        {
            Thread.onSpinWait();
        }
        final int first = DatapathAbi.MAGLEV_SLOT_FIRST + (table.liveB ? 0 : size);
        int count = 0;
        for (int i = 0; i < size; i++)
        {
            if (null == table.standby || table.standby[i] != slots[i])
            {
                slotKeys.setAtIndex(ValueLayout.JAVA_INT, count, first + i);
                slotValues.setAtIndex(ValueLayout.JAVA_INT, count, slots[i]);
                count++;
            }
        }
        if (count > 0)
        {
            try (BpfMap inner = BpfMap.openById(table.liveId, DatapathAbi.MAGLEV_TABLE_SPEC))
            {
                inner.updateBatch(slotKeys, slotValues, count, BpfMap.BPF_ANY);
            }
        }
        writes.maglevSlots += count;
        writes.tableSwitches++;
        table.standby = table.live;
        table.live = slots;
        table.liveB = !table.liveB;
        table.standbyFreeNs = Long.MAX_VALUE; // until commit() stamps the flip
        flipped.add(table);
    }

    /**
     * A new table or a new size: a new inner table with both halves equal, made live by one outer update, batched
     * with the other tables of the batch ({@link #commit()}).
     */
    private void replaceInnerTable(final Table table, final int[] slots)
    {
        final int size = slots.length;
        if (pendingInserts.size() >= OUTER_BATCH)
        {
            insertPendingTables(); // bounds the descriptors held open
        }
        final BpfMap created = BpfMap.create("sb_mglv_" + table.svcId, DatapathAbi.MAGLEV_TABLE_SPEC, 2 * size + 1,
            BpfMap.BPF_F_INNER_MAP);
        try
        {
            slotKeys.setAtIndex(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_SIZE);
            slotValues.setAtIndex(ValueLayout.JAVA_INT, 0, size);
            int count = 1;
            for (int i = 0; i < size; i++)
            {
                slotKeys.setAtIndex(ValueLayout.JAVA_INT, count, DatapathAbi.MAGLEV_SLOT_FIRST + i);
                slotValues.setAtIndex(ValueLayout.JAVA_INT, count++, slots[i]);
                slotKeys.setAtIndex(ValueLayout.JAVA_INT, count, DatapathAbi.MAGLEV_SLOT_FIRST + size + i);
                slotValues.setAtIndex(ValueLayout.JAVA_INT, count++, slots[i]);
            }
            created.updateBatch(slotKeys, slotValues, count, BpfMap.BPF_ANY);
            writes.maglevSlots += count;
            table.liveId = created.info().id();
        }
        catch (final RuntimeException ex)
        {
            created.close();
            throw ex;
        }
        pendingTables.put(table.svcId, table);
        final BpfMap replaced = pendingInserts.put(table.svcId, created);
        if (null != replaced)
        {
            replaced.close();
        }
        table.inOuter = true; // from the commit on; frontends naming it wait for that
        table.halves = true;
        table.live = slots;
        table.standby = slots;
        // frontends may still name half B until they are rewritten: it holds the same slots, and the next
        // change waits a grace after the commit before writing it
        table.liveB = false;
        table.standbyFreeNs = Long.MAX_VALUE;
        flipped.add(table);
    }

    private void catchUpStandby(final Table table)
    {
        if (!table.halves || null == table.live || 0 == table.liveId)
        {
            return;
        }
        final int size = table.live.length;
        ensureSlotScratch(size);
        final int first = DatapathAbi.MAGLEV_SLOT_FIRST + (table.liveB ? 0 : size);
        int count = 0;
        for (int i = 0; i < size; i++)
        {
            if (null == table.standby || table.standby[i] != table.live[i])
            {
                slotKeys.setAtIndex(ValueLayout.JAVA_INT, count, first + i);
                slotValues.setAtIndex(ValueLayout.JAVA_INT, count, table.live[i]);
                count++;
            }
        }
        if (count > 0)
        {
            try (BpfMap inner = BpfMap.openById(table.liveId, DatapathAbi.MAGLEV_TABLE_SPEC))
            {
                inner.updateBatch(slotKeys, slotValues, count, BpfMap.BPF_ANY);
            }
        }
        writes.standbySlots += count;
        table.standby = table.live; // slot arrays are replaced, never changed in place
    }

    /**
     * Agents before the two halves pinned a standby table per service at {@code tables/<svc_id>}; this one keeps
     * none. Their pins are removed on adoption, which frees their memory.
     */
    private void removeLegacyStandbyPins()
    {
        try (var pins = Files.list(tablePins))
        {
            for (final Path pin : (Iterable<Path>)pins::iterator)
            {
                unpin(pin);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("listing " + tablePins, ex);
        }
    }

    private static void unpin(final Path pin)
    {
        try
        {
            Files.deleteIfExists(pin);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("removing the pin " + pin, ex);
        }
    }

    private void ensureSlotScratch(final int slots)
    {
        if (slotKeys.byteSize() < 4L * slots)
        {
            slotKeys = arena.allocate(ValueLayout.JAVA_INT, slots);
            slotValues = arena.allocate(ValueLayout.JAVA_INT, slots);
        }
    }

    private void removeTable(final Table table)
    {
        table.removed = true;
        final BpfMap pending = pendingInserts.remove(table.svcId);
        pendingTables.remove(table.svcId);
        if (null != pending)
        {
            pending.close();
        }
        pendingRemovals.add(table); // its svc_id is freed when it has left sb_maglev
        retiring.addAll(table.backendIds.values());
    }

    private void writeFrontend(final FrontendKey key, final FrontendValue value)
    {
        if (pendingInserts.containsKey(value.svcId()))
        {
            pendingFrontends.put(key, value); // after its table is live
            return;
        }
        writeFrontendNow(key, value);
    }

    private void writeFrontendNow(final FrontendKey key, final FrontendValue value)
    {
        pendingFrontends.remove(key); // this value supersedes one still waiting
        frontendKey(key);
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "svc_id"), value.svcId());
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "flags"), value.flags());
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "affinity_timeout_s"), value.affinityTimeoutSeconds());
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "backend_count"), value.backendCount());
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "table_size"), value.tableSize());
        svcValue.set(ValueLayout.JAVA_INT, offset(SVC_VALUE, "generation"), value.generation());
        maps.services().update(svcKey, svcValue, BpfMap.BPF_ANY);
        writes.serviceEntries++;
    }

    private void deleteFrontend(final FrontendKey key)
    {
        pendingFrontends.remove(key);
        frontendKey(key);
        maps.services().delete(svcKey);
        writes.deletions++;
    }

    private void frontendKey(final FrontendKey key)
    {
        svcKey.fill((byte)0);
        DatapathAbi.writeAddress(svcKey, offset(SVC_KEY, "addr"), key.address());
        svcKey.set(NET_PORT, offset(SVC_KEY, "port"), (short)key.port());
        svcKey.set(ValueLayout.JAVA_BYTE, offset(SVC_KEY, "proto"), protocolNumber(key.protocol()));
    }

    private void writeBackend(final int id, final ServiceEndpoint endpoint)
    {
        backendValue.fill((byte)0);
        DatapathAbi.writeAddress(backendValue, offset(BACKEND, "addr"), endpoint.address());
        backendValue.set(NET_PORT, offset(BACKEND, "port"), (short)endpoint.port());
        backendValue.set(ValueLayout.JAVA_BYTE, offset(BACKEND, "family"),
            (byte)(endpoint.family() == IpFamily.IPV4 ? DatapathAbi.AF_INET : DatapathAbi.AF_INET6));
        backendValue.set(ValueLayout.JAVA_BYTE, offset(BACKEND, "flags"),
            (byte)(endpoint.local() ? DatapathAbi.BACKEND_F_LOCAL : 0));
        u32Key.set(ValueLayout.JAVA_INT, 0, id);
        maps.backends().update(u32Key, backendValue, BpfMap.BPF_ANY);
        writes.backendEntries++;
    }

    private void syncSourceRanges(final Programmed current, final ServicePortState state,
        final Map<FrontendKey, TableKey> desiredFrontends, final Map<TableKey, Table> tables)
    {
        final Set<SourceRange> desired = new HashSet<>();
        for (final Frontend frontend : state.frontends())
        {
            if (frontend.sourceRangesApply())
            {
                final int svcId = tables.get(desiredFrontends.get(FrontendKey.of(frontend))).svcId;
                for (final Cidr cidr : state.sourceRanges())
                {
                    desired.add(new SourceRange(svcId, cidr));
                }
            }
        }
        for (final SourceRange range : desired)
        {
            if (current.sourceRanges.add(range))
            {
                sourceRangeKey(range);
                byteValue.set(ValueLayout.JAVA_BYTE, 0, (byte)1);
                maps.sourceRanges().update(rangeKey, byteValue, BpfMap.BPF_ANY);
                writes.serviceEntries++;
            }
        }
        for (final SourceRange range : List.copyOf(current.sourceRanges))
        {
            if (!desired.contains(range))
            {
                deleteSourceRange(range);
                current.sourceRanges.remove(range);
            }
        }
    }

    private void deleteSourceRange(final SourceRange range)
    {
        sourceRangeKey(range);
        maps.sourceRanges().delete(rangeKey);
        writes.deletions++;
    }

    private void sourceRangeKey(final SourceRange range)
    {
        rangeKey.fill((byte)0);
        final boolean ipv4 = range.cidr().family() == IpFamily.IPV4;
        rangeKey.set(ValueLayout.JAVA_INT, offset(SOURCE_RANGE_KEY, "prefixlen"),
            32 + (ipv4 ? 96 : 0) + range.cidr().prefixLength());
        rangeKey.set(ValueLayout.JAVA_INT, offset(SOURCE_RANGE_KEY, "svc_id"), range.svcId());
        DatapathAbi.writeAddress(rangeKey, offset(SOURCE_RANGE_KEY, "addr"), range.cidr().network());
    }

    static byte protocolNumber(final Protocol protocol)
    {
        return (byte)(protocol == Protocol.TCP ? DatapathAbi.PROTO_TCP : DatapathAbi.PROTO_UDP);
    }

    // ---------------------------------------------------------------------------------- announcements

    /**
     * The interfaces that answer ARP / NDP for announced LoadBalancer addresses (the XDP interfaces),
     * ifindex → MAC. Set before the first {@link #apply}; entries on interfaces no longer listed are
     * removed by {@link #completeAdoption()}.
     */
    public void announceOn(final Map<Integer, byte[]> interfaces)
    {
        for (final byte[] mac : interfaces.values())
        {
            if (mac.length != 6)
            {
                throw new IllegalArgumentException("an announcing interface needs a 6-byte MAC, got " + mac.length);
            }
        }
        this.announceInterfaces = Map.copyOf(interfaces);
    }

    /** The announced addresses, for `switchboard get` and the tests. */
    public Set<InetAddress> announced()
    {
        return Set.copyOf(announcers.keySet());
    }

    /**
     * A LoadBalancer address is announced while its table has endpoints: any usable endpoint in the
     * cluster under externalTrafficPolicy Cluster, a local one under Local (the external table then
     * holds only local endpoints), as MetalLB's layer-2 mode announces.
     */
    private void syncAnnouncements(final ServicePortKey key, final Programmed current, final ServicePortState state)
    {
        final Set<InetAddress> desired = new HashSet<>();
        for (final Frontend frontend : state.frontends())
        {
            if (frontend.kind() == FrontendKind.LOAD_BALANCER &&
                !state.selectionFor(frontend).endpoints(frontend.family()).isEmpty())
            {
                desired.add(frontend.address());
            }
        }
        for (final InetAddress address : desired)
        {
            if (current.announced.add(address))
            {
                final Set<ServicePortKey> ports = announcers.computeIfAbsent(address, a -> new HashSet<>());
                ports.add(key);
                if (ports.size() == 1)
                {
                    for (final Map.Entry<Integer, byte[]> iface : announceInterfaces.entrySet())
                    {
                        writeNeigh(new NeighKey(address, iface.getKey()), iface.getValue());
                    }
                }
            }
        }
        for (final InetAddress address : List.copyOf(current.announced))
        {
            if (!desired.contains(address))
            {
                current.announced.remove(address);
                withdraw(key, address);
            }
        }
    }

    private void withdraw(final ServicePortKey key, final InetAddress address)
    {
        final Set<ServicePortKey> ports = announcers.get(address);
        if (null == ports || !ports.remove(key) || !ports.isEmpty())
        {
            return;
        }
        announcers.remove(address);
        for (final NeighKey entry : List.copyOf(neighEntries.keySet()))
        {
            if (entry.address().equals(address))
            {
                deleteNeigh(entry);
            }
        }
    }

    private void writeNeigh(final NeighKey key, final byte[] mac)
    {
        if (null != adoption && adoption.claimNeigh(key, mac))
        {
            neighEntries.put(key, mac);
            return;
        }
        neighKey(key);
        MemorySegment.copy(mac, 0, neighValue, ValueLayout.JAVA_BYTE, offset(DatapathAbi.NEIGH_VALUE, "mac"), 6);
        maps.neigh().update(neighKey, neighValue, BpfMap.BPF_ANY);
        writes.serviceEntries++;
        neighEntries.put(key, mac);
    }

    private void deleteNeigh(final NeighKey key)
    {
        neighKey(key);
        maps.neigh().delete(neighKey);
        writes.deletions++;
        neighEntries.remove(key);
    }

    private void neighKey(final NeighKey key)
    {
        neighKey.fill((byte)0);
        DatapathAbi.writeAddress(neighKey, offset(DatapathAbi.NEIGH_KEY, "addr"), key.address());
        neighKey.set(ValueLayout.JAVA_INT, offset(DatapathAbi.NEIGH_KEY, "ifindex"), key.ifindex());
    }

    // ---------------------------------------------------------------------------------- restart adoption

    /**
     * Adopts what a previous agent left in the maps: its svc_ids, backend ids and live Maglev tables.
     * Service ports applied afterwards reuse the table of a frontend they share with the adopted state,
     * so unchanged services are not rewritten. {@link #completeAdoption()} removes what nothing claimed.
     *
     * @return how many frontends were found.
     */
    public int adopt()
    {
        adoption = Adoption.read(maps, svcIds, backendIds);
        removeLegacyStandbyPins();
        return adoption.frontendCount();
    }

    /** Removes the adopted entries that desired state did not claim. Call after the first full sync. */
    public void completeAdoption()
    {
        begin();
        try
        {
            completeAdoptionInBatch();
        }
        finally
        {
            commit();
        }
    }

    private void completeAdoptionInBatch()
    {
        if (null == adoption)
        {
            return;
        }
        final Adoption finished = adoption;
        adoption = null;
        for (final FrontendKey frontend : finished.unclaimedFrontends())
        {
            deleteFrontend(frontend);
        }
        // backends the previous agent had retired but not yet deleted: no table names them now (those of the
        // unclaimed tables are retired with their table)
        final Set<Integer> named = new HashSet<>();
        for (final Table table : finished.unclaimedTables())
        {
            named.addAll(table.backendIds.values());
            removeTable(table);
        }
        for (final Programmed current : programmed.values())
        {
            for (final Table table : current.tables.values())
            {
                named.addAll(table.backendIds.values());
            }
        }
        for (final int id : finished.backendIdsFound)
        {
            if (!named.contains(id))
            {
                retiring.add(id);
            }
        }
        for (final NeighKey neigh : finished.unclaimedNeigh())
        {
            deleteNeigh(neigh);
        }
    }

    /** What {@link #adopt()} found, until it is claimed or removed. */
    private static final class Adoption
    {
        private final Map<FrontendKey, FrontendValue> frontendValues = new HashMap<>();
        private final Map<Integer, Table> tables = new HashMap<>();
        /** Every backend id in sb_backends: named by a table, or retired and not yet deleted by the previous agent. */
        private final Set<Integer> backendIdsFound = new HashSet<>();
        private final Set<FrontendKey> claimedFrontends = new HashSet<>();
        private final Map<NeighKey, byte[]> neigh = new HashMap<>();

        static Adoption read(final DatapathMaps maps, final IdAllocator svcIds, final IdAllocator backendIds)
        {
            final Adoption adoption = new Adoption();
            try (Arena scratch = Arena.ofConfined())
            {
                final MemorySegment key = scratch.allocate(SVC_KEY);
                final MemorySegment next = scratch.allocate(SVC_KEY);
                final MemorySegment value = scratch.allocate(SVC_VALUE);
                MemorySegment previous = null;
                while (maps.services().nextKey(previous, next))
                {
                    key.copyFrom(next);
                    previous = key;
                    if (!maps.services().lookup(key, value))
                    {
                        continue;
                    }
                    final byte proto = key.get(ValueLayout.JAVA_BYTE, offset(SVC_KEY, "proto"));
                    final FrontendKey frontend = new FrontendKey(
                        DatapathAbi.readAddress(key, offset(SVC_KEY, "addr")),
                        Short.toUnsignedInt(key.get(NET_PORT, offset(SVC_KEY, "port"))),
                        proto == DatapathAbi.PROTO_TCP ? Protocol.TCP : Protocol.UDP);
                    final int svcId = value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "svc_id"));
                    adoption.frontendValues.put(frontend, new FrontendValue(svcId,
                        value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "flags")),
                        value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "affinity_timeout_s")),
                        value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "backend_count")),
                        value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "table_size")),
                        value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "generation"))));
                    if (!adoption.tables.containsKey(svcId))
                    {
                        final boolean liveB = (value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "flags"))
                            & DatapathAbi.SVC_F_TABLE_B) != 0;
                        final Table table = readTable(maps, svcId, liveB, scratch);
                        table.generation = value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "generation"));
                        adoption.tables.put(svcId, table);
                        svcIds.reserve(svcId);
                        for (final int id : table.backendIds.values())
                        {
                            backendIds.reserve(id);
                        }
                    }
                }
                // a previous agent stopped between a flip's frontend writes: its frontends disagree on the half, so
                // the next change of that table builds a new inner table rather than write a half one may read
                for (final FrontendValue adopted : adoption.frontendValues.values())
                {
                    final Table table = adoption.tables.get(adopted.svcId());
                    if (null != table && table.liveB != ((adopted.flags() & DatapathAbi.SVC_F_TABLE_B) != 0))
                    {
                        table.halves = false;
                    }
                }
                readBackendIds(maps, adoption, backendIds, scratch);
                readNeigh(maps, adoption, scratch);
            }
            return adoption;
        }

        /** Reserves every id sb_backends holds, so none is handed out again while entries may name it. */
        private static void readBackendIds(final DatapathMaps maps, final Adoption adoption,
            final IdAllocator backendIds, final Arena scratch)
        {
            final MemorySegment key = scratch.allocate(ValueLayout.JAVA_INT);
            final MemorySegment next = scratch.allocate(ValueLayout.JAVA_INT);
            MemorySegment previous = null;
            while (maps.backends().nextKey(previous, next))
            {
                key.copyFrom(next);
                previous = key;
                final int id = key.get(ValueLayout.JAVA_INT, 0);
                adoption.backendIdsFound.add(id);
                backendIds.reserve(id);
            }
        }

        private static void readNeigh(final DatapathMaps maps, final Adoption adoption, final Arena scratch)
        {
            final MemorySegment key = scratch.allocate(DatapathAbi.NEIGH_KEY);
            final MemorySegment next = scratch.allocate(DatapathAbi.NEIGH_KEY);
            final MemorySegment value = scratch.allocate(DatapathAbi.NEIGH_VALUE);
            MemorySegment previous = null;
            while (maps.neigh().nextKey(previous, next))
            {
                key.copyFrom(next);
                previous = key;
                if (maps.neigh().lookup(key, value))
                {
                    adoption.neigh.put(new NeighKey(
                        DatapathAbi.readAddress(key, offset(DatapathAbi.NEIGH_KEY, "addr")),
                        key.get(ValueLayout.JAVA_INT, offset(DatapathAbi.NEIGH_KEY, "ifindex"))),
                        value.asSlice(offset(DatapathAbi.NEIGH_VALUE, "mac"), 6).toArray(ValueLayout.JAVA_BYTE));
                }
            }
        }

        /** Whether the previous agent left exactly this entry; it is then kept as it is. */
        boolean claimNeigh(final NeighKey key, final byte[] mac)
        {
            final byte[] left = neigh.remove(key);
            return null != left && Arrays.equals(left, mac);
        }

        Set<NeighKey> unclaimedNeigh()
        {
            return Set.copyOf(neigh.keySet());
        }

        private static Table readTable(final DatapathMaps maps, final int svcId, final boolean liveB,
            final Arena scratch)
        {
            final Table table = new Table(svcId);
            final MemorySegment outerKey = scratch.allocateFrom(ValueLayout.JAVA_INT, svcId);
            final MemorySegment innerId = scratch.allocate(ValueLayout.JAVA_INT);
            if (!maps.maglev().lookup(outerKey, innerId))
            {
                return table;
            }
            try (BpfMap inner = BpfMap.openById(innerId.get(ValueLayout.JAVA_INT, 0), DatapathAbi.MAGLEV_TABLE_SPEC))
            {
                readSlots(maps, table, inner, liveB, scratch);
            }
            return table;
        }

        private static void readSlots(final DatapathMaps maps, final Table table, final BpfMap inner,
            final boolean liveB, final Arena scratch)
        {
            final MemorySegment slotKey = scratch.allocate(ValueLayout.JAVA_INT);
            final MemorySegment slotValue = scratch.allocate(ValueLayout.JAVA_INT);
            slotKey.set(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_SIZE);
            inner.lookup(slotKey, slotValue);
            final int size = slotValue.get(ValueLayout.JAVA_INT, 0);
            table.halves = inner.maxEntries() >= 2 * size + 1;
            table.liveB = table.halves && liveB;
            final int first = DatapathAbi.MAGLEV_SLOT_FIRST + (table.liveB ? size : 0);
            final int[] slots = new int[size];
            final Set<Integer> ids = new HashSet<>();
            for (int i = 0; i < size; i++)
            {
                slotKey.set(ValueLayout.JAVA_INT, 0, first + i);
                inner.lookup(slotKey, slotValue);
                slots[i] = slotValue.get(ValueLayout.JAVA_INT, 0);
                if (slots[i] != 0)
                {
                    ids.add(slots[i]);
                }
            }
            table.live = slots;
            table.liveId = inner.info().id();
            table.inOuter = true;
            final MemorySegment backendKey = scratch.allocate(ValueLayout.JAVA_INT);
            final MemorySegment backend = scratch.allocate(BACKEND);
            for (final int id : ids)
            {
                backendKey.set(ValueLayout.JAVA_INT, 0, id);
                if (maps.backends().lookup(backendKey, backend))
                {
                    final EndpointKey endpoint = new EndpointKey(
                        DatapathAbi.readAddress(backend, offset(BACKEND, "addr")),
                        Short.toUnsignedInt(backend.get(NET_PORT, offset(BACKEND, "port"))));
                    table.backendIds.put(endpoint, id);
                    table.backendLocal.put(id,
                        (backend.get(ValueLayout.JAVA_BYTE, offset(BACKEND, "flags")) & DatapathAbi.BACKEND_F_LOCAL) != 0);
                }
            }
            table.backendCount = table.backendIds.size();
        }

        int frontendCount()
        {
            return frontendValues.size();
        }

        FrontendValue value(final FrontendKey frontend)
        {
            final FrontendValue value = frontendValues.get(frontend);
            if (null != value)
            {
                claimedFrontends.add(frontend);
            }
            return value;
        }

        Table claim(final FrontendKey frontend)
        {
            final FrontendValue value = frontendValues.get(frontend);
            if (null == value)
            {
                return null;
            }
            claimedFrontends.add(frontend);
            return tables.remove(value.svcId());
        }

        Set<FrontendKey> unclaimedFrontends()
        {
            final Set<FrontendKey> unclaimed = new HashSet<>(frontendValues.keySet());
            unclaimed.removeAll(claimedFrontends);
            return unclaimed;
        }

        List<Table> unclaimedTables()
        {
            return List.copyOf(tables.values());
        }
    }

    @Override
    public void close()
    {
        try
        {
            // stopping within a grace of a flip: bring the standby halves up to the live ones now, so that the
            // previous release after a rollback (it reads half A only) finds the live table there
            if (!catchUps.isEmpty())
            {
                final long lastDueNs = catchUps.peekLast().dueNs();
                while (System.nanoTime() - lastDueNs < 0)
                {
                    Thread.onSpinWait();
                }
                deleteRetiredBackends(System.nanoTime());
            }
        }
        catch (final RuntimeException ex)
        {
            // the maps are gone already: there is nothing left to keep consistent
        }
        finally
        {
            // tables are held by sb_maglev: they outlive the agent
            if (null != emptyTable)
            {
                emptyTable.close();
            }
            arena.close();
        }
    }
}
