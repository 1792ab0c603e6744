package io.switchboard.datapath;

import io.switchboard.bpf.BpfException;
import io.switchboard.bpf.BpfLink;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.BpfProgram;
import io.switchboard.bpf.CgroupHook;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.bpf.XdpMode;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The loaded datapath of one agent: the object from the agent's jar, its maps pinned under
 * {@code <bpffs-dir>/maps}, standby Maglev tables under {@code <bpffs-dir>/tables} and its XDP and
 * cgroup links pinned under {@code <bpffs-dir>/links}, so
 * that traffic keeps flowing while no agent runs (invariant 6). A new agent finds the pins, loads its
 * programs onto the same maps and swaps them into the same links; nothing is detached in between.
 * <p>
 * Attachments are made in the calling thread's network namespace: the agent runs in the node's.
 */
public final class Datapath implements AutoCloseable
{
    /** tc filter handle and priority of Switchboard's filters; replacing them is atomic. */
    private static final int TC_HANDLE = 0x5B;
    private static final int TC_PRIORITY = 1;
    private static final CgroupHook[] SOCKET_HOOKS = CgroupHook.values();

    /** Map capacities, set when the object is loaded. */
    public record Sizes(int frontends, int backends, int serviceIds, int conntrack, int affinity, int sourceRanges)
    {
        public static Sizes defaults()
        {
            return new Sizes(65_536, 262_144, 65_536, 262_144, 65_536, 16_384);
        }
    }

    private final BpfObject object;
    private final DatapathMaps maps;
    private final Path linksDirectory;
    private final Path tablesDirectory;
    private final boolean adopted;
    private final Set<String> tcInterfaces = new LinkedHashSet<>();

    private Datapath(final BpfObject object, final DatapathMaps maps, final Path linksDirectory,
        final Path tablesDirectory, final boolean adopted)
    {
        this.object = object;
        this.maps = maps;
        this.linksDirectory = linksDirectory;
        this.tablesDirectory = tablesDirectory;
        this.adopted = adopted;
    }

    /**
     * Loads the datapath, reusing the maps pinned under {@code bpffsDirectory} if a previous agent left
     * them (their types and sizes are checked), else creating and pinning new ones.
     */
    public static Datapath load(final Path bpffsDirectory, final Sizes sizes)
    {
        final Path mapsDirectory = bpffsDirectory.resolve("maps");
        final Path linksDirectory = bpffsDirectory.resolve("links");
        final BpfObject object = DatapathLoadOptions.open(DatapathAbi.OBJECT_RESOURCE);
        DatapathMaps pinned = null;
        try
        {
            DatapathAbi.verify(object);
            object.maxEntries(DatapathAbi.SERVICES, sizes.frontends())
                .maxEntries(DatapathAbi.BACKENDS, sizes.backends())
                .maxEntries(DatapathAbi.MAGLEV, sizes.serviceIds())
                .maxEntries(DatapathAbi.SERVICE_STATS, sizes.serviceIds())
                .maxEntries(DatapathAbi.CONNTRACK, sizes.conntrack())
                .maxEntries(DatapathAbi.SNAT, sizes.conntrack())
                .maxEntries(DatapathAbi.AFFINITY, sizes.affinity())
                .maxEntries(DatapathAbi.SOCK_REVNAT, sizes.affinity())
                .maxEntries(DatapathAbi.SOURCE_RANGES, sizes.sourceRanges());
            // maps a previous agent pinned are adopted; one a later ABI added (sb_ifaces: ABI 3) is created
            pinned = DatapathMaps.pinnedPresent(mapsDirectory);
            final boolean adopt = !pinned.names().isEmpty();
            for (final String name : pinned.names())
            {
                object.reuseMap(name, pinned.get(name));
            }
            object.load();
            final DatapathMaps maps = DatapathMaps.of(object);
            Files.createDirectories(mapsDirectory);
            maps.pinMissing(mapsDirectory);
            Files.createDirectories(linksDirectory);
            final Path tablesDirectory = Files.createDirectories(bpffsDirectory.resolve("tables"));
            return new Datapath(object, maps, linksDirectory, tablesDirectory, adopt);
        }
        catch (final IOException ex)
        {
            object.close();
            throw new UncheckedIOException("creating " + bpffsDirectory, ex);
        }
        catch (final RuntimeException ex)
        {
            object.close();
            throw ex;
        }
        finally
        {
            if (null != pinned)
            {
                pinned.close(); // the object holds its own references now
            }
        }
    }

    public DatapathMaps maps()
    {
        return maps;
    }

    /** Where standby Maglev tables are pinned ({@code <bpffs-dir>/tables/<svc_id>}). */
    public Path tablesDirectory()
    {
        return tablesDirectory;
    }

    /** Whether the maps were adopted from a previous agent's pins. */
    public boolean adopted()
    {
        return adopted;
    }

    /** What {@link #attachXdp(String, ReplyPath)} did: the XDP mode (null when taken over) and the reply path. */
    public record XdpAttachment(String interfaceName, XdpMode mode, ReplyPath.Choice replies)
    {
    }

    /** {@link #attachXdp(String, ReplyPath)} with the reply path chosen by the driver ({@link ReplyPath#AUTO}). */
    public XdpMode attachXdp(final String interfaceName)
    {
        return attachXdp(interfaceName, ReplyPath.AUTO).mode();
    }

    /**
     * Attaches (or takes over) {@code sb_xdp} on an external interface, and {@code sb_tc_from_ext} to its
     * tc ingress (replies of source-translated flows, and the replies {@code sb_xdp} hands over); records in
     * {@code sb_ifaces} how the replies {@code sb_xdp} generates leave it ({@code replies}, {@link ReplyPath#AUTO}
     * chosen by the interface's driver) before the program runs there.
     */
    public XdpAttachment attachXdp(final String interfaceName, final ReplyPath replies)
    {
        final int ifindex = Interfaces.index(interfaceName);
        final ReplyPath.Choice choice = replies.choose(interfaceName);
        writeInterface(ifindex, interfaceName, choice.path());
        object.program(DatapathAbi.PROGRAM_TC_FROM_EXT)
            .attachTc(ifindex, TcDirection.INGRESS, TC_HANDLE, TC_PRIORITY);
        final BpfProgram program = object.program(DatapathAbi.PROGRAM_XDP);
        final Path pin = linksDirectory.resolve("xdp-" + interfaceName);
        if (Files.exists(pin))
        {
            try (BpfLink link = BpfLink.openPinned(pin))
            {
                link.update(program);
                return new XdpAttachment(interfaceName, null, choice);
            }
        }
        try (BpfLink link = program.attachXdp(ifindex, XdpMode.NATIVE_OR_GENERIC))
        {
            link.pin(pin);
            return new XdpAttachment(interfaceName, link.xdpMode(), choice);
        }
    }

    /** Writes the {@code sb_ifaces} entry of {@code ifindex}: its name and whether replies leave with {@code XDP_TX}. */
    private void writeInterface(final int ifindex, final String interfaceName, final ReplyPath path)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(DatapathAbi.IFACE_VALUE);
            value.set(ValueLayout.JAVA_INT, DatapathAbi.offset(DatapathAbi.IFACE_VALUE, "flags"),
                path == ReplyPath.XDP ? DatapathAbi.IFACE_F_XDP_TX : 0);
            final byte[] name = interfaceName.getBytes(StandardCharsets.UTF_8);
            MemorySegment.copy(name, 0, value, ValueLayout.JAVA_BYTE, DatapathAbi.offset(DatapathAbi.IFACE_VALUE, "name"),
                Math.min(name.length, DatapathAbi.IFACE_NAME_SIZE - 1));
            maps.ifaces().update(arena.allocateFrom(ValueLayout.JAVA_INT, ifindex), value, BpfMap.BPF_ANY);
        }
    }

    /**
     * Attaches {@code sb_tc_from_pod} to tc ingress of a pod-facing interface (replies and pod-to-service
     * traffic leave pods there) and {@code sb_tc_to_client} to its egress (replies from a backend on the
     * node itself, such as the agent's DNS server, reach the pod there). Replacing a filter is atomic, so a
     * new agent simply attaches again.
     */
    public void attachPodInterface(final String interfaceName)
    {
        if (!tcInterfaces.add(interfaceName))
        {
            return;
        }
        try
        {
            final int index = Interfaces.index(interfaceName);
            object.program(DatapathAbi.PROGRAM_TC_FROM_POD).attachTc(index, TcDirection.INGRESS, TC_HANDLE, TC_PRIORITY);
            object.program(DatapathAbi.PROGRAM_TC_TO_CLIENT).attachTc(index, TcDirection.EGRESS, TC_HANDLE, TC_PRIORITY);
        }
        catch (final BpfException ex)
        {
            tcInterfaces.remove(interfaceName);
            throw ex;
        }
    }

    /** The pod-facing interfaces with Switchboard's tc filter. */
    public Set<String> podInterfaces()
    {
        return Set.copyOf(tcInterfaces);
    }

    /** Attaches (or takes over) the socket hooks on a cgroup v2 directory. */
    public void attachCgroup(final Path cgroup)
    {
        for (final CgroupHook hook : SOCKET_HOOKS)
        {
            final String suffix = socketProgramSuffix(hook);
            final BpfProgram program = object.program("sb_sock_" + suffix);
            final Path pin = linksDirectory.resolve("cgroup-" + suffix);
            if (Files.exists(pin))
            {
                try (BpfLink link = BpfLink.openPinned(pin))
                {
                    link.update(program);
                }
                continue;
            }
            try (BpfLink link = program.attachCgroup(cgroup, hook))
            {
                link.pin(pin);
            }
        }
    }

    /** {@code INET4_CONNECT} → {@code connect4}, {@code UDP6_RECVMSG} → {@code recvmsg6}: the C program names. */
    static String socketProgramSuffix(final CgroupHook hook)
    {
        final String name = hook.name().toLowerCase(); // inet4_connect, udp6_recvmsg, inet6_getpeername
        final char family = name.charAt(name.indexOf('_') - 1);
        return name.substring(name.indexOf('_') + 1) + family;
    }

    @Override
    public void close()
    {
        maps.close();
        object.close();
    }
}
