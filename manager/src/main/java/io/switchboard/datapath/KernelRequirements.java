package io.switchboard.datapath;

import io.switchboard.bpf.BpfElf;
import io.switchboard.bpf.CgroupHook;
import io.switchboard.bpf.KernelFeature;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What the datapath needs from the running kernel, each with the oldest mainline kernel that has it,
 * and the check of a kernel against that list. The helpers, program types, attach types and atomics are
 * read from the compiled object itself ({@link BpfElf}), so a helper added to the C code is probed without
 * anyone remembering to; the names and versions come from the tables below (a test fails for a helper the
 * object calls that they do not name). Versions: bcc's {@code docs/kernel-versions.md} (program, map and
 * helper types: the kernel that brought the helper; a program type may have been allowed it later, the probe
 * decides), the eBPF docs ({@code docs.ebpf.io}) for attach types, {@code BPF_F_INNER_MAP} and
 * {@code BPF_LINK_CREATE}, and kernel commit 5ffa25502b5a for the atomics.
 */
public final class KernelRequirements
{
    /**
     * One thing the datapath needs: its name, the oldest kernel with it, the probes that must all say present,
     * and, for a feature the datapath can do without, what it does instead (null: required).
     */
    public record Requirement(String name, String since, List<KernelFeature> features, String fallback)
    {
        public Requirement(final String name, final String since, final List<KernelFeature> features)
        {
            this(name, since, features, null);
        }

        public boolean required()
        {
            return null == fallback;
        }
    }

    /** A requirement and what the kernel answered. */
    public record Check(Requirement requirement, KernelProbe.Result result)
    {
        public KernelProbe.Outcome outcome()
        {
            return result.outcome();
        }

        /** The refusal's line for a missing feature, e.g. "kernel lacks helper bpf_redirect_neigh for sched_cls (needs Linux 5.10+)". */
        public String line()
        {
            return switch (result.outcome())
            {
                case MISSING -> "kernel lacks " + requirement.name() + " (needs Linux " + requirement.since() + "+)" +
                    (requirement.required() ? "" : ": " + requirement.fallback());
                case UNKNOWN -> "cannot tell whether the kernel has " + requirement.name() + " (needs Linux " +
                    requirement.since() + "+): " + result.detail();
                case PRESENT -> requirement.name() + " (Linux " + requirement.since() + "+): present";
            };
        }
    }

    /** The answers for every requirement, in the order of {@link #datapath()}. */
    public record Report(List<Check> checks)
    {
        /** Missing features the datapath cannot do without. */
        public List<Check> missing()
        {
            return checks.stream().filter(check -> check.outcome() == KernelProbe.Outcome.MISSING &&
                check.requirement().required()).toList();
        }

        /** Missing features the datapath does without, each line saying what it does instead. */
        public List<Check> fallbacks()
        {
            return checks.stream().filter(check -> check.outcome() == KernelProbe.Outcome.MISSING &&
                !check.requirement().required()).toList();
        }

        public List<Check> unknown()
        {
            return checks.stream().filter(check -> check.outcome() == KernelProbe.Outcome.UNKNOWN).toList();
        }

        /**
         * One line per missing feature, then the features the probe could not tell about: one line each, or
         * one line per reason shared by several (without root every probe fails alike).
         */
        public List<String> problems()
        {
            final List<String> lines = new ArrayList<>(missing().stream().map(Check::line).toList());
            final Map<String, List<Check>> byReason = new LinkedHashMap<>();
            unknown().forEach(check -> byReason.computeIfAbsent(check.result().detail(), ignored -> new ArrayList<>())
                .add(check));
            byReason.forEach((reason, unknown) -> lines.add(1 == unknown.size() ? unknown.getFirst().line() :
                "cannot tell whether the kernel has " + unknown.size() + " of the features the datapath needs: " +
                    reason));
            return lines;
        }
    }

    private record ProgramKind(int type, String name, String since)
    {
    }

    record Helper(String name, String since)
    {
    }

    private static final int PROG_TYPE_SCHED_CLS = 3;
    static final int PROG_TYPE_XDP = 6;
    private static final int PROG_TYPE_CGROUP_SOCK_ADDR = 18;
    /** {@code BPF_ADD} without {@code BPF_FETCH}: the old {@code BPF_XADD}, in every kernel with eBPF maps. */
    private static final int ATOMIC_ADD = 0x00;

    /** libbpf's section names → program type. */
    private static final Map<String, ProgramKind> SECTIONS = Map.of(
        "xdp", new ProgramKind(PROG_TYPE_XDP, "xdp", "4.8"),
        "tc", new ProgramKind(PROG_TYPE_SCHED_CLS, "sched_cls", "4.1"),
        "classifier", new ProgramKind(PROG_TYPE_SCHED_CLS, "sched_cls", "4.1"),
        "cgroup", new ProgramKind(PROG_TYPE_CGROUP_SOCK_ADDR, "cgroup_sock_addr", "4.17"));

    /** The kernel that brought each cgroup socket hook (docs.ebpf.io, program type CGROUP_SOCK_ADDR). */
    private static final Map<CgroupHook, String> HOOKS = Map.of(
        CgroupHook.INET4_CONNECT, "4.17", CgroupHook.INET6_CONNECT, "4.17",
        CgroupHook.UDP4_SENDMSG, "4.18", CgroupHook.UDP6_SENDMSG, "4.18",
        CgroupHook.UDP4_RECVMSG, "5.2", CgroupHook.UDP6_RECVMSG, "5.2",
        CgroupHook.INET4_GETPEERNAME, "5.8", CgroupHook.INET6_GETPEERNAME, "5.8");

    /** bcc docs/kernel-versions.md, "Map types". */
    private static final Map<MapType, String> MAP_TYPES = Map.of(
        MapType.HASH, "3.19", MapType.ARRAY, "3.19", MapType.PERCPU_HASH, "4.6", MapType.PERCPU_ARRAY, "4.6",
        MapType.LRU_HASH, "4.10", MapType.LRU_PERCPU_HASH, "4.10", MapType.LPM_TRIE, "4.11",
        MapType.ARRAY_OF_MAPS, "4.12", MapType.HASH_OF_MAPS, "4.12");

    /**
     * The helpers the datapath calls ({@code enum bpf_func_id} → name, the kernel that brought it: bcc
     * docs/kernel-versions.md, "Helpers"). A test checks every id against the names in
     * {@code /usr/include/linux/bpf.h} and that the object calls no helper missing here.
     */
    static final Map<Integer, Helper> HELPERS = new TreeMap<>(Map.ofEntries(
        Map.entry(1, new Helper("bpf_map_lookup_elem", "3.19")),
        Map.entry(2, new Helper("bpf_map_update_elem", "3.19")),
        Map.entry(3, new Helper("bpf_map_delete_elem", "3.19")),
        Map.entry(5, new Helper("bpf_ktime_get_ns", "4.1")),
        Map.entry(9, new Helper("bpf_skb_store_bytes", "4.1")),
        Map.entry(10, new Helper("bpf_l3_csum_replace", "4.1")),
        Map.entry(11, new Helper("bpf_l4_csum_replace", "4.1")),
        Map.entry(23, new Helper("bpf_redirect", "4.4")),
        Map.entry(26, new Helper("bpf_skb_load_bytes", "4.5")),
        Map.entry(28, new Helper("bpf_csum_diff", "4.6")),
        Map.entry(38, new Helper("bpf_skb_change_tail", "4.9")),
        Map.entry(39, new Helper("bpf_skb_pull_data", "4.9")),
        Map.entry(44, new Helper("bpf_xdp_adjust_head", "4.10")),
        Map.entry(46, new Helper("bpf_get_socket_cookie", "4.12")),
        Map.entry(54, new Helper("bpf_xdp_adjust_meta", "4.15")),
        Map.entry(65, new Helper("bpf_xdp_adjust_tail", "4.18")),
        Map.entry(69, new Helper("bpf_fib_lookup", "4.18")),
        Map.entry(122, new Helper("bpf_get_netns_cookie", "5.7")),
        Map.entry(152, new Helper("bpf_redirect_neigh", "5.10")),
        Map.entry(160, new Helper("bpf_ktime_get_coarse_ns", "5.11")),
        Map.entry(187, new Helper("bpf_set_retval", "5.18"))));

    private KernelRequirements()
    {
    }

    /** What the datapath the agent carries ({@link DatapathAbi#OBJECT_RESOURCE}) needs. */
    public static List<Requirement> datapath()
    {
        try (InputStream in = KernelRequirements.class.getClassLoader().getResourceAsStream(DatapathAbi.OBJECT_RESOURCE))
        {
            if (null == in)
            {
                throw new IllegalStateException(DatapathAbi.OBJECT_RESOURCE + " is not on the class path");
            }
            return of(in.readAllBytes(), DatapathAbi.OBJECT_RESOURCE, DatapathAbi.MAPS.values());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("reading " + DatapathAbi.OBJECT_RESOURCE, ex);
        }
    }

    /** Asks the kernel for every requirement of the datapath. */
    public static Report check(final KernelProbe probe)
    {
        final List<Check> checks = new ArrayList<>();
        for (final Requirement requirement : datapath())
        {
            KernelProbe.Result result = KernelProbe.Result.PRESENT;
            for (final KernelFeature feature : requirement.features())
            {
                final KernelProbe.Result answer = probe.probe(feature);
                if (answer.outcome() == KernelProbe.Outcome.MISSING ||
                    (answer.outcome() == KernelProbe.Outcome.UNKNOWN && result.outcome() == KernelProbe.Outcome.PRESENT))
                {
                    result = answer;
                }
            }
            checks.add(new Check(requirement, result));
        }
        return new Report(checks);
    }

    /** The requirements of an object whose maps are {@code maps}: program types, maps, helpers, attach types, the rest. */
    static List<Requirement> of(final byte[] object, final String name, final Iterable<MapSpec> maps)
    {
        final List<BpfElf.Program> programs = BpfElf.programs(object, name);
        final Map<String, Requirement> requirements = new LinkedHashMap<>();
        // program types, then attach types, as the object's sections name them
        for (final BpfElf.Program program : programs)
        {
            final ProgramKind kind = kind(program, name);
            requirements.putIfAbsent("program type " + kind.name(), new Requirement("program type " + kind.name(),
                kind.since(), List.of(new KernelFeature.ProgramType(kind.type()))));
        }
        for (final BpfElf.Program program : programs)
        {
            final ProgramKind kind = kind(program, name);
            if (kind.type() == PROG_TYPE_CGROUP_SOCK_ADDR)
            {
                final CgroupHook hook = hook(program, name);
                final String label = "attach type " + program.section();
                requirements.putIfAbsent(label, new Requirement(label, HOOKS.get(hook),
                    List.of(new KernelFeature.AttachType(kind.type(), hook.attachType()))));
            }
        }
        final Set<MapType> mapTypes = new LinkedHashSet<>();
        for (final MapSpec spec : maps)
        {
            mapTypes.add(spec.type());
            if (spec.type() == MapType.ARRAY_OF_MAPS || spec.type() == MapType.HASH_OF_MAPS)
            {
                mapTypes.add(DatapathAbi.MAGLEV_TABLE_SPEC.type()); // the inner maps the agent makes
            }
        }
        for (final MapType type : mapTypes)
        {
            final String label = "map type " + type.name().toLowerCase();
            requirements.put(label, new Requirement(label, MAP_TYPES.getOrDefault(type, "?"),
                List.of(new KernelFeature.MapType(type.id()))));
        }
        // helpers per program type, probed with every attach type of the programs that call them
        final Map<String, Map<Integer, Set<Integer>>> helpers = new LinkedHashMap<>();
        final Map<String, ProgramKind> kinds = new LinkedHashMap<>();
        boolean atomics = false;
        for (final BpfElf.Program program : programs)
        {
            final ProgramKind kind = kind(program, name);
            kinds.put(kind.name(), kind);
            for (final int helper : program.helpers())
            {
                helpers.computeIfAbsent(kind.name(), ignored -> new TreeMap<>())
                    .computeIfAbsent(helper, ignored -> new TreeSet<>()).add(attachType(program, kind, name));
            }
            atomics |= program.atomicOps().stream().anyMatch(op -> op != ATOMIC_ADD);
        }
        for (final Map.Entry<String, Map<Integer, Set<Integer>>> perType : helpers.entrySet())
        {
            final ProgramKind kind = kinds.get(perType.getKey());
            for (final Map.Entry<Integer, Set<Integer>> helper : perType.getValue().entrySet())
            {
                final Helper known = HELPERS.get(helper.getKey());
                final String label = "helper " + (null == known ? "#" + helper.getKey() : known.name()) + " for " +
                    kind.name();
                final List<KernelFeature> features = helper.getValue().stream()
                    .map(attach -> (KernelFeature)new KernelFeature.Helper(kind.type(), attach, helper.getKey()))
                    .toList();
                requirements.put(label, new Requirement(label, null == known ? "?" : known.since(), features,
                    kind.type() == PROG_TYPE_XDP && helper.getKey() == DatapathLoadOptions.HELPER_XDP_ADJUST_META ?
                        DatapathLoadOptions.XDP_META_FALLBACK : null));
            }
        }
        if (atomics)
        {
            requirements.put("atomics", new Requirement("BPF atomic compare-and-swap and fetch operations (clang -mcpu=v3)",
                "5.12", List.of(new KernelFeature.Atomics())));
        }
        for (final Map.Entry<String, Requirement> fixed : fixed(kinds.keySet(), mapTypes).entrySet())
        {
            requirements.put(fixed.getKey(), fixed.getValue());
        }
        return List.copyOf(requirements.values());
    }

    /** What the agent's own calls need beside the object: links, inner maps of any size, BTF. */
    private static Map<String, Requirement> fixed(final Set<String> programKinds, final Set<MapType> mapTypes)
    {
        final Map<String, Requirement> fixed = new LinkedHashMap<>();
        if (mapTypes.contains(MapType.ARRAY_OF_MAPS))
        {
            fixed.put("inner", new Requirement("inner maps of any size (BPF_F_INNER_MAP)", "5.10",
                List.of(new KernelFeature.InnerMapFlag())));
        }
        if (programKinds.contains("xdp"))
        {
            fixed.put("xdp link", new Requirement("BPF link for XDP", "5.9", List.of(new KernelFeature.XdpLink())));
        }
        if (programKinds.contains("cgroup_sock_addr"))
        {
            fixed.put("cgroup link", new Requirement("BPF link for cgroup hooks", "5.7",
                List.of(new KernelFeature.CgroupLink())));
        }
        fixed.put("btf", new Requirement("BTF", "4.18", List.of(new KernelFeature.Btf())));
        return fixed;
    }

    private static ProgramKind kind(final BpfElf.Program program, final String object)
    {
        final String section = program.section();
        final int slash = section.indexOf('/');
        final ProgramKind kind = SECTIONS.get(slash < 0 ? section : section.substring(0, slash));
        if (null == kind)
        {
            throw new IllegalStateException(object + ": program " + program.name() + " is in section " + section +
                ", of a program type Switchboard does not probe for");
        }
        return kind;
    }

    private static int attachType(final BpfElf.Program program, final ProgramKind kind, final String object)
    {
        return kind.type() == PROG_TYPE_CGROUP_SOCK_ADDR ? hook(program, object).attachType() : 0;
    }

    private static CgroupHook hook(final BpfElf.Program program, final String object)
    {
        for (final CgroupHook hook : CgroupHook.values())
        {
            if (program.section().equals("cgroup/" + Datapath.socketProgramSuffix(hook)))
            {
                return hook;
            }
        }
        throw new IllegalStateException(object + ": program " + program.name() + " is in section " +
            program.section() + ", a cgroup hook Switchboard does not know");
    }
}
