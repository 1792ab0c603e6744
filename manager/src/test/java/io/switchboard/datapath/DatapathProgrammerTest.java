package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.ModelChanges;
import io.switchboard.model.ModelConfig;
import io.switchboard.model.NamespacedName;
import io.switchboard.model.ServicePortKey;
import io.switchboard.model.ServicePortState;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

@KernelTest
class DatapathProgrammerTest
{
    private static final Datapath.Sizes SIZES = new Datapath.Sizes(4096, 32_768, 4096, 4096, 4096, 256);

    @Test
    void aServicePortGetsItsFrontendsBackendsAndALiveMaglevTable(final PinDirectory pins) throws Exception
    {
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            final ClusterModel model = model();
            model.upsert(Manifests.service("web", "10.96.0.10", 80, 30080));
            model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11", "198.19.0.12")));
            apply(model, programmer);

            final ServicePortKey key = port("web");
            assertThat(programmer.frontends(key)).hasSize(2); // ClusterIP, NodePort on the node address
            final int[] table = liveTable(datapath.maps(), programmer.frontends(key).values().iterator().next().svcId());
            assertThat(table.length).as("the smallest prime of at least 100 slots per backend").isEqualTo(509);
            assertThat(distinct(table)).hasSize(3).doesNotContain(0);
            assertThat(programmer.writes().backendEntries()).as("3 ids for each of the internal and external tables")
                .isEqualTo(6);
        }
    }

    @Test
    void oneEndpointChangeAtAThousandServicesWritesOnlyThatServicesChangedSlots(final PinDirectory pins)
        throws Exception
    {
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            final ClusterModel model = model();
            final long descriptorsBefore = openDescriptors();
            for (int i = 0; i < 1000; i++)
            {
                model.upsert(Manifests.service("svc" + i, "10.96." + (i / 250) + "." + (i % 250 + 1), 80, 0));
                model.upsert(Manifests.slice("svc" + i, endpoints(i, 7)));
            }
            apply(model, programmer);
            settle(programmer);
            assertThat(openDescriptors() - descriptorsBefore)
                .as("tables are held by sb_maglev and pins, not by a descriptor each").isLessThan(50);
            final int svcId = programmer.frontends(port("svc500")).values().iterator().next().svcId();
            final int[] before = liveTable(datapath.maps(), svcId);
            final long slotsBefore = programmer.writes().maglevSlots();
            final long servicesBefore = programmer.writes().serviceEntries();
            final long backendsBefore = programmer.writes().backendEntries();
            final long switchesBefore = programmer.writes().tableSwitches();
            final long outerBefore = programmer.writes().outerUpdates();

            // 7 -> 8 backends keeps M at 1021, so the change is a diff, not a new table
            final List<String> grown = new ArrayList<>(endpoints(500, 7));
            grown.add("198.20.99.99");
            final ModelChanges changes = model.upsert(Manifests.slice("svc500", grown));
            assertThat(changes.changed()).containsExactly(port("svc500"));
            apply(model, programmer, changes);

            final int[] after = liveTable(datapath.maps(), svcId);
            int changedSlots = 0;
            for (int i = 0; i < after.length; i++)
            {
                changedSlots += before[i] != after[i] ? 1 : 0;
            }
            assertThat(changedSlots).as("its 1/8 of 1021 slots, plus Maglev's few percent of others")
                .isBetween(120, 180);
            assertThat(programmer.writes().maglevSlots() - slotsBefore).isEqualTo(changedSlots);
            assertThat(programmer.writes().tableSwitches() - switchesBefore).isEqualTo(1);
            assertThat(programmer.writes().outerUpdates() - outerBefore)
                .as("the other half of the same inner table: sb_maglev (an RCU grace period per write) untouched")
                .isZero();
            assertThat(programmer.writes().backendEntries() - backendsBefore).isEqualTo(1);
            assertThat(programmer.writes().serviceEntries() - servicesBefore).as("svc500's one frontend").isEqualTo(1);
        }
    }

    /**
     * Every write of the map-of-maps waits for an RCU grace period (~17 ms here), so a batch creates and removes its
     * tables together: 300 new services cost two outer writes, not 300; and no frontend names a table before
     * the table is live.
     */
    @Test
    void aBatchCreatesItsTablesTogetherAndWritesTheirFrontendsAfter(final PinDirectory pins) throws Exception
    {
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            final ClusterModel model = model();
            for (int i = 0; i < 300; i++)
            {
                model.upsert(Manifests.service("svc" + i, "10.96." + (i / 250) + "." + (i % 250 + 1), 80, 0));
                model.upsert(Manifests.slice("svc" + i, endpoints(i, 3)));
            }
            programmer.begin();
            programmer.apply(model.state(port("svc299")), false, false);
            assertThat(count(datapath.maps().services(), 20)).as("svc299's frontend waits for its table").isZero();
            apply(model, programmer);
            programmer.commit();

            assertThat(programmer.writes().outerBatches()).as("256 tables, then 44").isEqualTo(2);
            assertThat(count(datapath.maps().services(), 20)).isEqualTo(300);
            for (final String name : List.of("svc0", "svc255", "svc299"))
            {
                assertThat(distinct(liveTable(datapath.maps(), programmer.frontends(port(name)).values().iterator()
                    .next().svcId()))).hasSize(3);
            }

            final List<Integer> removedIds = new ArrayList<>();
            programmer.begin();
            for (int i = 0; i < 300; i += 2)
            {
                removedIds.add(programmer.frontends(port("svc" + i)).values().iterator().next().svcId());
                programmer.remove(port("svc" + i));
            }
            programmer.commit();
            assertThat(count(datapath.maps().services(), 20)).isEqualTo(150);
            assertThat(programmer.writes().outerBatches()).as("150 removals in one").isEqualTo(3);
            final DatapathReader reader = DatapathReader.of(datapath.maps());
            for (final int svcId : removedIds)
            {
                assertThat(reader.maglevTable(svcId)).as("sb_maglev[%d]: the empty table", svcId).isEmpty();
            }
        }
    }

    @Test
    void aNewAgentAdoptsThePinnedStateAndRewritesNothingThatIsUnchanged(final PinDirectory pins) throws Exception
    {
        final ClusterModel model = model();
        for (int i = 0; i < 20; i++)
        {
            model.upsert(Manifests.service("svc" + i, "10.96.0." + (i + 1), 80, 30000 + i));
            model.upsert(Manifests.slice("svc" + i, endpoints(i, 3)));
        }
        int[] tableBefore;
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            assertThat(datapath.adopted()).isFalse();
            apply(model, programmer);
            tableBefore = liveTable(datapath.maps(), programmer.frontends(port("svc7")).values().iterator().next().svcId());
        }
        // the first agent is gone; its maps stayed pinned. svc19 was deleted while no agent ran.
        model.deleteService(new NamespacedName("default", "svc19"));
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            assertThat(datapath.adopted()).isTrue();
            assertThat(programmer.adopt()).isEqualTo(40); // 20 ClusterIPs + 20 NodePorts

            apply(model, programmer);
            assertThat(programmer.writes().total()).as("nothing unchanged is rewritten").isZero();
            programmer.completeAdoption();

            assertThat(programmer.writes().deletions())
                .as("svc19's two frontends and its two tables (internal and external scope)").isEqualTo(4);
            final int svcId = programmer.frontends(port("svc7")).values().iterator().next().svcId();
            assertThat(liveTable(datapath.maps(), svcId)).isEqualTo(tableBefore);
        }
    }

    /**
     * An agent that stops between removing an endpoint and deleting its backend leaves the id in sb_backends (and
     * conntrack may name it): the next agent reserves it, so it is not handed to another endpoint, and deletes it
     * once adoption is complete.
     */
    @Test
    void aBackendTheLastAgentRetiredIsNeitherReusedNorLeftBehind(final PinDirectory pins) throws Exception
    {
        final ClusterModel model = model();
        model.upsert(Manifests.service("web", "10.96.0.10", 80, 0));
        model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11")));
        final Set<Integer> before;
        try (Datapath datapath = Datapath.load(pins.path(), SIZES))
        {
            // never closed: the agent dies before its deferred delete (a clean stop would do it)
            final DatapathProgrammer programmer = programmer(datapath);
            apply(model, programmer);
            before = distinct(liveTable(datapath.maps(), programmer.frontends(port("web")).values().iterator().next()
                .svcId()));
            apply(model, programmer, model.upsert(Manifests.slice("web", List.of("198.19.0.10"))));
        }
        try (BpfMap backends = datapathBackends(pins))
        {
            assertThat(count(backends, 4)).as("the retired backend is still there").isEqualTo(2);
        }
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            programmer.adopt();
            apply(model, programmer);
            programmer.completeAdoption();
            settle(programmer);
            assertThat(count(datapath.maps().backends(), 4)).as("the retired one deleted").isEqualTo(1);

            apply(model, programmer, model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.12"))));
            final Set<Integer> now = distinct(liveTable(datapath.maps(), programmer.frontends(port("web")).values()
                .iterator().next().svcId()));
            assertThat(now).as("the new endpoint gets an id neither of the first two had").hasSize(2)
                .containsAnyElementsOf(before);
            final Set<Integer> fresh = new HashSet<>(now);
            fresh.removeAll(before);
            assertThat(fresh).hasSize(1);
        }
    }

    /** An agent stopped right after a change leaves half A equal to the live half, as the previous release reads A. */
    @Test
    void anAgentStoppingRightAfterAFlipLeavesHalfAEqualToTheLiveHalf(final PinDirectory pins) throws Exception
    {
        final ClusterModel model = model();
        model.upsert(Manifests.service("web", "10.96.0.10", 80, 0));
        model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11", "198.19.0.12", "198.19.0.13")));
        try (Datapath datapath = Datapath.load(pins.path(), SIZES))
        {
            final int svcId;
            try (DatapathProgrammer programmer = programmer(datapath))
            {
                apply(model, programmer);
                // 4 -> 5 endpoints keeps M at 509: the change is written into half B
                apply(model, programmer, model.upsert(Manifests.slice("web",
                    List.of("198.19.0.10", "198.19.0.11", "198.19.0.12", "198.19.0.13", "198.19.0.14"))));
                svcId = programmer.frontends(port("web")).values().iterator().next().svcId();
                assertThat(programmer.frontends(port("web")).values().iterator().next().flags()
                    & DatapathAbi.SVC_F_TABLE_B).as("the change flipped to half B").isNotZero();
            } // closed at once: no duty cycle ran the catch-up
            final int[] live = liveTable(datapath.maps(), svcId);
            assertThat(halfA(datapath.maps(), svcId)).isEqualTo(live);
            assertThat(distinct(live)).hasSize(5);
        }
    }

    static int[] halfA(final DatapathMaps maps, final int svcId)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocateFrom(ValueLayout.JAVA_INT, svcId);
            final MemorySegment value = arena.allocate(ValueLayout.JAVA_INT);
            assertThat(maps.maglev().lookup(key, value)).isTrue();
            try (BpfMap inner = BpfMap.openById(value.get(ValueLayout.JAVA_INT, 0), DatapathAbi.MAGLEV_TABLE_SPEC))
            {
                key.set(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_SIZE);
                inner.lookup(key, value);
                final int[] slots = new int[value.get(ValueLayout.JAVA_INT, 0)];
                for (int i = 0; i < slots.length; i++)
                {
                    key.set(ValueLayout.JAVA_INT, 0, DatapathAbi.MAGLEV_SLOT_FIRST + i);
                    inner.lookup(key, value);
                    slots[i] = value.get(ValueLayout.JAVA_INT, 0);
                }
                return slots;
            }
        }
    }

    private static BpfMap datapathBackends(final PinDirectory pins)
    {
        return BpfMap.openPinned(pins.path().resolve("maps").resolve(DatapathAbi.BACKENDS), DatapathAbi.BACKENDS_SPEC);
    }

    @Test
    void aServiceThatLosesItsEndpointsRefusesAndLeavesNoBackendThenDeletionLeavesNothing(final PinDirectory pins)
        throws Exception
    {
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath))
        {
            final ClusterModel model = model();
            model.upsert(Manifests.service("web", "10.96.0.10", 80, 0));
            model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11")));
            apply(model, programmer);

            apply(model, programmer, model.upsert(Manifests.slice("web", List.of())));
            settle(programmer);

            final DatapathProgrammer.FrontendValue value = programmer.frontends(port("web")).values().iterator().next();
            assertThat(value.backendCount()).isZero();
            assertThat(value.flags() & DatapathAbi.SVC_F_ANY_ENDPOINTS).as("no endpoint anywhere: refuse").isZero();
            assertThat(distinct(liveTable(datapath.maps(), value.svcId()))).containsExactly(0);
            assertThat(count(datapath.maps().backends(), 4)).as("every backend id deleted").isZero();

            apply(model, programmer, model.deleteService(new NamespacedName("default", "web")));
            settle(programmer);
            assertThat(count(datapath.maps().services(), 20)).isZero();
            assertThat(DatapathReader.of(datapath.maps()).maglevTable(value.svcId()))
                .as("no table left in sb_maglev: its id names the shared empty one").isEmpty();
            assertThat(programmer.programmedPorts()).isEmpty();
        }
    }

    /**
     * Removing an endpoint costs what it changes: its flows' conntrack and affinity entries are not searched for
     * (the tables are not walked on the writer thread; the datapath finds the id gone from sb_backends and balances
     * those flows again, and the entries age out), and its id is not handed out again, so no entry can come to name
     * another backend.
     */
    @Test
    void removingAnEndpointLeavesConntrackAndAffinityAloneAndItsIdIsNotReused(final PinDirectory pins) throws Exception
    {
        try (Datapath datapath = Datapath.load(pins.path(), SIZES);
            DatapathProgrammer programmer = programmer(datapath);
            Arena arena = Arena.ofConfined())
        {
            final ClusterModel model = model();
            model.upsert(Manifests.service("web", "10.96.0.10", 80, 0));
            model.upsert(Manifests.slice("web", List.of("198.19.0.10", "198.19.0.11")));
            apply(model, programmer);
            final int svcId = programmer.frontends(port("web")).values().iterator().next().svcId();
            final Set<Integer> ids = distinct(liveTable(datapath.maps(), svcId));
            // one flow and one affinity entry per backend, as the datapath would have written them
            int client = 1;
            for (final int id : ids)
            {
                final MemorySegment ctKey = arena.allocate(DatapathAbi.CT_KEY);
                ctKey.set(ValueLayout.JAVA_BYTE, 15, (byte)client);
                final MemorySegment ctValue = arena.allocate(DatapathAbi.CT_VALUE);
                ctValue.set(ValueLayout.JAVA_INT, DatapathAbi.offset(DatapathAbi.CT_VALUE, "backend_id"), id);
                datapath.maps().conntrack().update(ctKey, ctValue, BpfMap.BPF_ANY);
                final MemorySegment affinityKey = arena.allocate(DatapathAbi.AFFINITY_KEY);
                affinityKey.set(ValueLayout.JAVA_INT, 0, svcId);
                affinityKey.set(ValueLayout.JAVA_BYTE, 23, (byte)client++);
                final MemorySegment affinityValue = arena.allocate(DatapathAbi.AFFINITY_VALUE);
                affinityValue.set(ValueLayout.JAVA_INT, DatapathAbi.offset(DatapathAbi.AFFINITY_VALUE, "backend_id"), id);
                datapath.maps().affinity().update(affinityKey, affinityValue, BpfMap.BPF_ANY);
            }

            apply(model, programmer, model.upsert(Manifests.slice("web", List.of("198.19.0.10"))));
            settle(programmer);

            assertThat(count(datapath.maps().conntrack(), 40)).as("conntrack untouched").isEqualTo(ids.size());
            assertThat(count(datapath.maps().affinity(), 24)).as("affinity untouched").isEqualTo(ids.size());
            final Set<Integer> remaining = distinct(liveTable(datapath.maps(), svcId));
            assertThat(remaining).hasSize(1);
            final Set<Integer> removed = new java.util.HashSet<>(ids);
            removed.removeAll(remaining);

            // the endpoint back, and a new one: neither gets the removed backend's id
            apply(model, programmer, model.upsert(Manifests.slice("web",
                List.of("198.19.0.10", "198.19.0.11", "198.19.0.12"))));
            settle(programmer);
            final Set<Integer> now = distinct(liveTable(datapath.maps(), svcId));
            assertThat(now).hasSize(3).doesNotContainAnyElementsOf(removed);
        }
    }

    static long openDescriptors() throws java.io.IOException
    {
        try (var descriptors = java.nio.file.Files.list(java.nio.file.Path.of("/proc/self/fd")))
        {
            return descriptors.count();
        }
    }

    static int count(final BpfMap map, final int keySize)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(keySize);
            final MemorySegment next = arena.allocate(keySize);
            int count = 0;
            MemorySegment previous = null;
            while (map.nextKey(previous, next))
            {
                key.copyFrom(next);
                previous = key;
                count++;
            }
            return count;
        }
    }

    private static DatapathProgrammer programmer(final Datapath datapath)
    {
        final DatapathProgrammer programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
            new MaglevTableBuilder(new MaglevHash(MaglevHash.DEFAULT_SEED), TableSizes.defaults()),
            TableSizes.defaults());
        return programmer;
    }

    static ClusterModel model() throws Exception
    {
        return new ClusterModel(ModelConfig.forNode(Manifests.NODE)
            .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
    }

    static void apply(final ClusterModel model, final DatapathProgrammer programmer)
    {
        for (final ServicePortState state : model.states())
        {
            programmer.apply(state, false, false);
        }
    }

    static void apply(final ClusterModel model, final DatapathProgrammer programmer, final ModelChanges changes)
    {
        final Set<ServicePortKey> keys = new HashSet<>(changes.added());
        keys.addAll(changes.changed());
        keys.addAll(changes.removed());
        for (final ServicePortKey key : keys)
        {
            final ServicePortState state = model.state(key);
            if (null == state)
            {
                programmer.remove(key);
            }
            else
            {
                programmer.apply(state, false, false);
            }
        }
    }

    static void settle(final DatapathProgrammer programmer) throws InterruptedException
    {
        Thread.sleep(5);
        programmer.deleteRetiredBackends(System.nanoTime());
    }

    static ServicePortKey port(final String service)
    {
        return new ServicePortKey(new NamespacedName("default", service), "http", io.switchboard.model.Protocol.TCP);
    }

    static List<String> endpoints(final int service, final int count)
    {
        final List<String> addresses = new ArrayList<>();
        for (int i = 0; i < count; i++)
        {
            addresses.add("198.20." + (service % 200) + "." + (i + 1 + (service / 200) * 20));
        }
        return addresses;
    }

    static int[] liveTable(final DatapathMaps maps, final int svcId)
    {
        final int[] slots = DatapathReader.of(maps).maglevTable(svcId);
        assertThat(slots).as("sb_maglev[%d]", svcId).isNotEmpty();
        return slots;
    }

    static Set<Integer> distinct(final int[] slots)
    {
        final Set<Integer> ids = new HashSet<>();
        for (final int slot : slots)
        {
            ids.add(slot);
        }
        return ids;
    }
}
