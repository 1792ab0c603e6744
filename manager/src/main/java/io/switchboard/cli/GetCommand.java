package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.agent.ErrorLog;
import io.switchboard.bpf.BpfException;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathReader;
import io.switchboard.datapath.DatapathReader.BackendEntry;
import io.switchboard.datapath.DatapathReader.ServiceEntry;
import io.switchboard.model.EndpointSliceValidator;
import io.switchboard.model.IpAddresses;
import io.switchboard.model.NamespacedName;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code switchboard get services|endpoints|backends|maglev SVC|conntrack|affinity|stats}: the live
 * state, read straight from the pinned maps (no agent needed), named with the Services the running agent holds
 * (its live view), or those kept under {@code --state-dir} when no agent answers.
 */
@Command(name = "get", mixinStandardHelpOptions = true,
    description = "Show datapath state: services, endpoints, backends, maglev SVC, conntrack, affinity, stats; and errors.")
public final class GetCommand implements Callable<Integer>
{
    @Parameters(index = "0", paramLabel = "WHAT",
        description = "services | endpoints | backends | maglev | conntrack | affinity | stats | errors")
    private String what;

    @Parameters(index = "1", arity = "0..1", paramLabel = "SVC",
        description = "Only this service (services, backends, maglev, conntrack, affinity; maglev needs it): a svc_id, "
            + "namespace/name[:port] or address:port.")
    private String service;

    @Option(names = "--bpffs-dir", defaultValue = "/sys/fs/bpf/switchboard",
        description = "The agent's bpffs directory (default ${DEFAULT-VALUE}).")
    private Path bpffsDirectory;

    @Option(names = "--agent", defaultValue = AgentObjects.DEFAULT_AGENT, description = "The running agent's "
        + "metrics address, whose live view names Services and their endpoints (default ${DEFAULT-VALUE}; off: read "
        + "--state-dir only).")
    private String agent;

    @Option(names = "--state-dir", defaultValue = "/var/lib/switchboard",
        description = "The agent's state directory, to name frontends (default ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Option(names = {"-o", "--output"}, description = "json for JSON; a table otherwise.")
    private String output;

    @Option(names = "--no-headers", description = "A table without its header line.")
    private boolean noHeaders;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call()
    {
        final PrintWriter out = spec.commandLine().getOut();
        final boolean json = "json".equals(output);
        if (null != output && !json)
        {
            return fail("unknown output format " + output + " (json, or none for a table)");
        }
        try
        {
            if (what.startsWith("error"))
            {
                show(errors(stateDirectory.resolve(ErrorLog.FILE)), json);
                return 0;
            }
            final ServiceNames names = ServiceNames.of(AgentObjects.load(agent, stateDirectory));
            if (what.startsWith("endpoint"))
            {
                show(endpoints(names.objects()), json);
                return 0;
            }
            try (DatapathReader reader = open(bpffsDirectory))
            {
                final Set<Integer> only = null == service ? null : svcIdsOf(service, reader.services(), names);
                final Table table = switch (what)
                {
                    case "services", "service", "svc" -> services(reader, names, only);
                    case "backends", "backend" -> backends(reader, names, only);
                    case "maglev" -> maglev(reader, only);
                    case "conntrack", "ct" -> conntrack(reader, names, only);
                    case "affinity" -> affinity(reader, names, only);
                    case "stats" -> null;
                    default -> throw new CliException("unknown resource " + what + " (services, endpoints, backends, " +
                        "maglev, conntrack, affinity, stats, errors)");
                };
                if (null == table)
                {
                    stats(reader, names, out, json);
                }
                else
                {
                    show(table, json);
                }
            }
            return 0;
        }
        catch (final CliException ex)
        {
            return fail(ex.getMessage());
        }
    }

    /**
     * Prints a table as kubectl does: JSON as it is (an empty list is []); text with its headers unless
     * {@code --no-headers}, or, with no rows, nothing on stdout and "No resources found." on stderr.
     */
    private void show(final Table table, final boolean json)
    {
        if (!json && table.isEmpty())
        {
            spec.commandLine().getErr().println("No resources found.");
            spec.commandLine().getErr().flush();
            return;
        }
        if (!json && noHeaders)
        {
            final String text = table.text();
            spec.commandLine().getOut().print(text.substring(text.indexOf(System.lineSeparator()) + 1));
            spec.commandLine().getOut().flush();
            return;
        }
        table.print(spec.commandLine().getOut(), json);
    }

    private int fail(final String message)
    {
        spec.commandLine().getErr().println("error: " + message);
        spec.commandLine().getErr().flush();
        return 1;
    }

    /** Opens the pinned maps, or explains in one line why they cannot be. */
    static DatapathReader open(final Path bpffsDirectory)
    {
        try
        {
            return DatapathReader.pinned(bpffsDirectory);
        }
        catch (final BpfException | UnsupportedOperationException | IllegalStateException ex)
        {
            throw new CliException("cannot read the datapath pinned under " + bpffsDirectory.resolve("maps") +
                ": " + ex.getMessage() + " (has an agent run with this --bpffs-dir? are you root?)");
        }
    }

    static Table services(final DatapathReader reader, final ServiceNames names)
    {
        return services(reader, names, null);
    }

    /** The frontends of the service ports {@code only} names (all when null). */
    static Table services(final DatapathReader reader, final ServiceNames names, final Set<Integer> only)
    {
        final Table table = Table.of("name", "frontend", "svcId", "flags", "backends", "tableSize", "generation",
            "reason");
        final java.util.Set<java.net.InetAddress> announced = reader.announced();
        for (final ServiceEntry entry : sortedServices(reader))
        {
            if (null != only && !only.contains(entry.svcId()))
            {
                continue;
            }
            final List<String> flags = new java.util.ArrayList<>(
                DatapathReader.flagNames(entry.flags(), entry.affinityTimeoutSeconds()));
            if ((entry.flags() & DatapathAbi.SVC_F_LOADBALANCER) != 0 && announced.contains(entry.address()))
            {
                flags.add("ANNOUNCED"); // answered for by ARP / NDP on the XDP interfaces
            }
            table.row(Objects.requireNonNullElse(names.nameOf(entry), "-"),
                frontend(entry.address(), entry.port(), entry.protocol()), entry.svcId(), flags,
                entry.backendCount(), entry.tableSize(), entry.generation(), "");
        }
        // a LoadBalancer without an address has no frontend to show: say so, and why, as kubectl's <pending>
        for (final ServiceNames.Pending pending : null == only ? names.pending() : List.<ServiceNames.Pending>of())
        {
            table.row(pending.name(), "<pending>:" + pending.port() + "/" + DatapathReader.protocolName(pending.protocol()),
                "-", List.of("EXTERNAL", "LB"), "-", "-", "-", pending.reason());
        }
        return table;
    }

    static List<ServiceEntry> sortedServices(final DatapathReader reader)
    {
        return reader.services().stream().sorted(Comparator.comparingInt(ServiceEntry::svcId)
            .thenComparing(e -> frontend(e.address(), e.port(), e.protocol()))).toList();
    }

    /**
     * The agent's distinct errors, most recent first, as it last wrote them under its state directory (at most a
     * second behind; readable while no agent runs).
     */
    private static Table errors(final Path file)
    {
        final Table table = Table.of("last seen", "kind", "subject", "count", "error");
        try
        {
            for (final ErrorLog.Entry entry : ErrorLog.read(file))
            {
                table.row(entry.lastSeen().toString(), entry.kind().label(), entry.subject(), entry.count(),
                    entry.error());
            }
        }
        catch (final java.io.UncheckedIOException | IllegalArgumentException | ClassCastException ex)
        {
            throw new CliException(file + " is not an error log the agent wrote: " + ex.getMessage());
        }
        return table;
    }

    private static Table endpoints(final List<HasMetadata> objects)
    {
        final Table table = Table.of("service", "slice", "address", "ports", "ready", "serving", "terminating",
            "node");
        for (final HasMetadata object : objects)
        {
            if (!(object instanceof EndpointSlice slice))
            {
                continue;
            }
            final Map<String, String> labels = Objects.requireNonNullElse(slice.getMetadata().getLabels(), Map.of());
            final String service = NamespacedName.of(slice).namespace() + "/" +
                labels.getOrDefault(EndpointSliceValidator.SERVICE_NAME_LABEL, "-");
            final List<String> ports = new ArrayList<>();
            for (final EndpointPort port : Objects.requireNonNullElse(slice.getPorts(), List.<EndpointPort>of()))
            {
                ports.add((null == port.getName() || port.getName().isEmpty() ? "" : port.getName() + ":") +
                    port.getPort() + "/" + Objects.requireNonNullElse(port.getProtocol(), "TCP"));
            }
            for (final Endpoint endpoint : Objects.requireNonNullElse(slice.getEndpoints(), List.<Endpoint>of()))
            {
                final var conditions = endpoint.getConditions();
                table.row(service, slice.getMetadata().getName(), endpoint.getAddresses(), ports,
                    condition(null == conditions ? null : conditions.getReady(), true),
                    condition(null == conditions ? null : conditions.getServing(),
                        condition(null == conditions ? null : conditions.getReady(), true)),
                    condition(null == conditions ? null : conditions.getTerminating(), false),
                    Objects.requireNonNullElse(endpoint.getNodeName(), "-"));
            }
        }
        return table;
    }

    /** A condition as Kubernetes reads an unset one. */
    static boolean condition(final Boolean value, final boolean unset)
    {
        return null == value ? unset : value;
    }

    private static Table backends(final DatapathReader reader, final ServiceNames names, final Set<Integer> only)
    {
        final List<ServiceEntry> services = reader.services();
        final Map<Integer, String> serviceNames = names.bySvcId(services);
        final Map<Integer, List<String>> usedBy = new TreeMap<>();
        for (final int svcId : serviceNames.keySet())
        {
            if (null != only && !only.contains(svcId))
            {
                continue;
            }
            for (final int id : distinct(reader.maglevTable(svcId)))
            {
                usedBy.computeIfAbsent(id, i -> new ArrayList<>()).add(serviceNames.get(svcId));
            }
        }
        final Table table = Table.of("id", "backend", "family", "local", "services");
        final Map<Integer, BackendEntry> backends = new TreeMap<>(reader.backends());
        for (final BackendEntry backend : backends.values())
        {
            if (null != only && !usedBy.containsKey(backend.id()))
            {
                continue;
            }
            table.row(backend.id(), endpoint(backend.address(), backend.port()),
                backend.family() == DatapathAbi.AF_INET6 ? "IPv6" : "IPv4", backend.local(),
                usedBy.getOrDefault(backend.id(), List.of()));
        }
        return table;
    }

    /** The Maglev table of every service port {@code only} names (Cluster and Local, IPv4 and IPv6: one each). */
    private static Table maglev(final DatapathReader reader, final Set<Integer> only)
    {
        if (null == only)
        {
            throw new CliException("get maglev needs a service: a svc_id, namespace/name[:port] or address:port");
        }
        final Map<Integer, BackendEntry> backends = reader.backends();
        final Table table = Table.of("svcId", "tableSize", "backendId", "backend", "slots", "share");
        for (final int svcId : new java.util.TreeSet<>(only))
        {
            final int[] slots = reader.maglevTable(svcId);
            final Map<Integer, Integer> counts = new TreeMap<>();
            for (final int id : slots)
            {
                counts.merge(id, 1, Integer::sum);
            }
            for (final Map.Entry<Integer, Integer> count : counts.entrySet())
            {
                final BackendEntry backend = backends.get(count.getKey());
                table.row(svcId, slots.length, count.getKey(),
                    null == backend ? "-" : endpoint(backend.address(), backend.port()), count.getValue(),
                    String.format("%.1f%%", 100.0 * count.getValue() / slots.length));
            }
        }
        return table;
    }

    /**
     * Every svc_id a user's selector names: a programmed svc_id, {@code namespace/name[:port]} (or {@code name}, in
     * the default namespace), or {@code address:port}; one that names nothing programmed is an error.
     */
    static Set<Integer> svcIdsOf(final String service, final List<ServiceEntry> services, final ServiceNames names)
    {
        final Set<Integer> ids = new java.util.TreeSet<>();
        for (final ServiceEntry entry : services)
        {
            final String name = names.nameOf(entry);
            final String address = frontend(entry.address(), entry.port(), entry.protocol());
            if (service.equals(Integer.toString(entry.svcId())) || address.equals(service) ||
                address.startsWith(service + "/") ||
                (null != name && (name.equals(service) || name.startsWith(service + ":") ||
                    name.equals(NamespacedName.DEFAULT_NAMESPACE + "/" + service) ||
                    name.startsWith(NamespacedName.DEFAULT_NAMESPACE + "/" + service + ":"))))
            {
                ids.add(entry.svcId());
            }
        }
        if (ids.isEmpty())
        {
            throw new CliException(service.matches("\\d+") ? "no programmed service port has svc_id " + service +
                " (see `switchboard get services`)" :
                "no programmed frontend matches " + service + " (see `switchboard get services`)");
        }
        return ids;
    }

    private static Table conntrack(final DatapathReader reader, final ServiceNames names, final Set<Integer> only)
    {
        final Map<Integer, String> serviceNames = names.bySvcId(reader.services());
        final Map<Integer, BackendEntry> backends = reader.backends();
        final long now = System.nanoTime();
        // remapPort: a remapped flow's (port remap): forward, the port it leaves with; reply, the client's own
        final Table table = Table.of("service", "proto", "direction", "source", "destination", "backend", "backendId",
            "state", "ageSeconds", "remapPort");
        for (final DatapathReader.ConntrackEntry entry : reader.conntrack())
        {
            if (null != only && !only.contains(entry.svcId()))
            {
                continue;
            }
            final boolean forward = entry.direction() == DatapathAbi.CT_DIR_FORWARD;
            final boolean untranslated = (entry.flags() & DatapathAbi.CT_F_UNTRANSLATED) != 0;
            final BackendEntry backend = backends.get(entry.backendId());
            table.row(untranslated ? "-" : serviceNames.getOrDefault(entry.svcId(), "svc_id " + entry.svcId()),
                DatapathReader.protocolName(entry.protocol()), forward ? "forward" : "reply",
                endpoint(entry.source(), entry.sourcePort()), endpoint(entry.destination(), entry.destinationPort()),
                forward ? endpoint(entry.natAddress(), entry.natPort()) :
                    null == backend ? "-" : endpoint(backend.address(), backend.port()),
                entry.backendId(), conntrackState(entry.flags()), ageSeconds(now, entry.lastSeenNs()),
                0 == entry.remapPort() ? "-" : Integer.toString(entry.remapPort()));
        }
        return table;
    }

    private static String conntrackState(final int flags)
    {
        if ((flags & DatapathAbi.CT_F_UNTRANSLATED) != 0)
        {
            return "UNTRANSLATED"; // a direct connection's tuple at its backend, held against translated flows
        }
        if ((flags & DatapathAbi.CT_F_CLOSING) != 0)
        {
            return "CLOSING";
        }
        if ((flags & DatapathAbi.CT_F_ESTABLISHED) != 0)
        {
            return "ESTABLISHED";
        }
        return (flags & DatapathAbi.CT_F_SYN_SEEN) != 0 ? "SYN_SEEN" : "-";
    }

    private static Table affinity(final DatapathReader reader, final ServiceNames names, final Set<Integer> only)
    {
        final Map<Integer, String> serviceNames = names.bySvcId(reader.services());
        final Map<Integer, BackendEntry> backends = reader.backends();
        final long now = System.nanoTime();
        final Table table = Table.of("service", "client", "backend", "backendId", "ageSeconds");
        for (final DatapathReader.AffinityEntry entry : reader.affinity())
        {
            if (null != only && !only.contains(entry.svcId()))
            {
                continue;
            }
            final BackendEntry backend = backends.get(entry.backendId());
            table.row(serviceNames.getOrDefault(entry.svcId(), "svc_id " + entry.svcId()),
                null == entry.client() ? "netns:" + Long.toUnsignedString(entry.netnsCookie()) :
                    IpAddresses.format(entry.client()),
                null == backend ? "-" : endpoint(backend.address(), backend.port()), entry.backendId(),
                ageSeconds(now, entry.lastUsedNs()));
        }
        return table;
    }

    private static void stats(final DatapathReader reader, final ServiceNames names, final PrintWriter out,
        final boolean json)
    {
        final Map<Integer, String> serviceNames = new TreeMap<>(names.bySvcId(reader.services()));
        final String[] keys = new String[DatapathAbi.SERVICE_COUNTERS.length + 2];
        keys[0] = "svcId";
        keys[1] = "service";
        for (int i = 0; i < DatapathAbi.SERVICE_COUNTERS.length; i++)
        {
            keys[i + 2] = camel(DatapathAbi.SERVICE_COUNTERS[i]);
        }
        final Table perService = Table.of(keys);
        for (final Map.Entry<Integer, String> service : serviceNames.entrySet())
        {
            final long[] counters = reader.serviceCounters(service.getKey());
            final Object[] row = new Object[keys.length];
            row[0] = service.getKey();
            row[1] = service.getValue();
            for (int i = 0; i < counters.length; i++)
            {
                row[i + 2] = counters[i];
            }
            perService.row(row);
        }
        final Map<String, Long> global = new LinkedHashMap<>();
        final long[] counters = reader.globalCounters();
        for (int i = 0; i < counters.length; i++)
        {
            global.put(DatapathAbi.GLOBAL_COUNTERS[i], counters[i]);
        }
        final Table interfaces = Table.of("interface", "ifindex", "replyPath");
        for (final DatapathReader.InterfaceEntry iface : reader.interfaces())
        {
            interfaces.row(iface.name(), iface.ifindex(), iface.replyPath().label());
        }
        if (json)
        {
            out.print(Table.json(Map.of("services", perService.rows(), "global", global, "interfaces",
                interfaces.rows())));
        }
        else
        {
            out.print(perService.text());
            out.println();
            final Table globalTable = Table.of("counter", "value");
            global.forEach(globalTable::row);
            out.print(globalTable.text());
            out.println();
            out.print(interfaces.text());
        }
        out.flush();
    }

    private static String camel(final String snake)
    {
        final StringBuilder camel = new StringBuilder();
        boolean upper = false;
        for (final char c : snake.toCharArray())
        {
            if (c == '_')
            {
                upper = true;
                continue;
            }
            camel.append(upper ? Character.toUpperCase(c) : c);
            upper = false;
        }
        return camel.toString();
    }

    private static long ageSeconds(final long nowNs, final long thenNs)
    {
        return Math.max(0, (nowNs - thenNs) / 1_000_000_000L);
    }

    private static List<Integer> distinct(final int[] slots)
    {
        return java.util.Arrays.stream(slots).filter(id -> id != 0).distinct().boxed().toList();
    }

    /** {@code 10.96.0.10:80/TCP}, {@code [fd00::1]:80/UDP}. */
    static String frontend(final InetAddress address, final int port, final int protocol)
    {
        return endpoint(address, port) + "/" + DatapathReader.protocolName(protocol);
    }

    /** {@code 10.0.0.1:8080}, {@code [fd00::1]:8080}. */
    static String endpoint(final InetAddress address, final int port)
    {
        final String host = IpAddresses.format(address);
        return (address instanceof Inet6Address ? "[" + host + "]" : host) + ":" + port;
    }
}
