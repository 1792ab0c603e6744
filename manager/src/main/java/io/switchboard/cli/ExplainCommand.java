package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.agent.AgentCommand;
import io.switchboard.datapath.DatapathReader;
import io.switchboard.datapath.DatapathReader.BackendEntry;
import io.switchboard.datapath.DatapathReader.ServiceEntry;
import io.switchboard.datapath.FlowHash;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.EndpointSliceValidator;
import io.switchboard.model.Frontend;
import io.switchboard.model.IpAddresses;
import io.switchboard.model.ModelConfig;
import io.switchboard.model.NamespacedName;
import io.switchboard.model.RejectedObjectException;
import io.switchboard.model.ServiceDefinition;
import io.switchboard.model.ServiceEndpoint;
import io.switchboard.model.ServicePortDefinition;
import io.switchboard.model.ServicePortState;
import io.switchboard.model.TrafficOutcome;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code switchboard explain svc NAME}: the lesson's "Service not reachable" checklist, automated. It
 * rebuilds this node's view of the Service from the objects the running agent holds (its live view; the objects
 * kept under {@code --state-dir} when no agent answers) with the
 * agent's own model, compares it with the pinned maps, and for {@code --client} follows the flow hash into
 * the live Maglev table. Each check prints OK, WARN or FAIL with a reason and a hint; any FAIL exits 1.
 */
@Command(name = "explain", mixinStandardHelpOptions = true,
    description = "Explain why a service does or does not answer, and where a client's flow goes.")
public final class ExplainCommand implements Callable<Integer>
{
    /** Endpoints probed for a listener, at most; a service of hundreds of pods is sampled. */
    private static final int LISTEN_CHECKS = 10;
    private static final int LISTEN_TIMEOUT_MS = 500;

    private static final int DEFAULT_CLIENT_PORT = 40000;

    @Parameters(index = "0", paramLabel = "svc", description = "svc (or service)")
    private String kind;

    @Parameters(index = "1", paramLabel = "NAME", description = "The Service's name.")
    private String name;

    @Option(names = "--probe-endpoints", description = "Also connect to each ready endpoint (TCP, at most 10) to "
        + "see whether anything listens there; run on the node, where the pod network is reachable.")
    private boolean probeEndpoints;

    @Option(names = {"-n", "--namespace"}, defaultValue = "default", description = "Namespace (default ${DEFAULT-VALUE}).")
    private String namespace;

    @Option(names = "--client", paramLabel = "IP[:PORT]",
        description = "Show where this client's flow would go now (source port " + DEFAULT_CLIENT_PORT + " if not given).")
    private String client;

    @Option(names = "--node-name", description = "The agent's --node-name (default: the host name).")
    private String nodeName;

    @Option(names = "--node-ip", description = "The agent's --node-ip (repeatable; default: this host's addresses).")
    private List<InetAddress> nodeIps = new ArrayList<>();

    @Option(names = "--bpffs-dir", defaultValue = "/sys/fs/bpf/switchboard",
        description = "The agent's bpffs directory (default ${DEFAULT-VALUE}).")
    private Path bpffsDirectory;

    @Option(names = "--agent", defaultValue = AgentObjects.DEFAULT_AGENT, description = "The running agent's "
        + "metrics address: its live view holds every Service, the EndpointSlices it derived from Pods, and what it "
        + "rejected (default ${DEFAULT-VALUE}; off: read --state-dir only).")
    private String agent;

    @Option(names = "--state-dir", defaultValue = "/var/lib/switchboard",
        description = "The agent's state directory, read when no agent answers (default ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    private PrintWriter out;
    private boolean failed;

    @Override
    public Integer call() throws SocketException, UnknownHostException
    {
        out = spec.commandLine().getOut();
        if (!List.of("svc", "service", "services").contains(kind))
        {
            spec.commandLine().getErr().println("error: explain works on services: explain svc NAME");
            spec.commandLine().getErr().flush();
            return 1;
        }
        final NamespacedName serviceName = new NamespacedName(namespace, name);
        final AgentObjects known = AgentObjects.load(agent, stateDirectory);
        final List<HasMetadata> objects = known.objects();
        out.println("Service " + serviceName + " (objects from " + known.source() + ")");
        final Service service = find(objects, Service.class, serviceName);
        if (null == service)
        {
            final AgentObjects.Rejection rejection = known.rejectionOf("Service", namespace, name);
            if (null != rejection)
            {
                fail("the agent rejected the Service: " + rejection.field() + ": " + rejection.reason(),
                    "fix that field and apply again");
                return finish();
            }
            fail("the Service does not exist in " + known.source(),
                "apply it: switchboard apply -f FILE; or check the namespace (-n)" +
                    (known.live() ? "" : "; with the agent running, --agent names its metrics address"));
            return finish();
        }
        final ClusterModel model = model(objects);
        final ServiceDefinition definition = model.service(serviceName);
        if (null == definition)
        {
            fail("the agent refuses the Service: " + rejection(service), "fix that field and apply again");
            return finish();
        }
        ok("the Service exists: " + definition.type() + ", clusterIP " + definition.clusterIPs().stream()
            .map(IpAddresses::format).collect(Collectors.joining(",", "", "")) + ", " + definition.ports().size() +
            " port(s)", null);
        final AgentObjects.Rejection latest = known.rejectionOf("Service", namespace, name);
        if (null != latest)
        {
            warn("the agent rejected its latest version (" + latest.field() + ": " + latest.reason() +
                ") and still serves this one", "fix that field and apply again");
        }
        if (!definition.programmed())
        {
            warn("it gets no dataplane entries: " + definition.skipReason(),
                "headless and ExternalName Services are answered by DNS only; give it a clusterIP to proxy it");
            return finish();
        }
        final List<Pod> pods = all(objects, Pod.class).stream()
            .filter(pod -> namespace.equals(NamespacedName.of(pod).namespace())).toList();
        final List<Pod> selected = checkSelector(service, pods);
        checkEndpoints(objects, serviceName, definition, model);
        checkTargetPorts(service, objects, serviceName, selected);
        checkListening(definition, model);
        checkDatapath(definition, model);
        return finish();
    }

    private ClusterModel model(final List<HasMetadata> objects) throws SocketException, UnknownHostException
    {
        final String node = null != nodeName ? nodeName : InetAddress.getLocalHost().getHostName();
        final ClusterModel model = new ClusterModel(ModelConfig.forNode(node)
            .withNodeIps(nodeIps.isEmpty() ? AgentCommand.nodeAddresses() : nodeIps));
        for (final HasMetadata object : objects)
        {
            try
            {
                switch (object)
                {
                    case Node n -> model.upsert(n);
                    case Service s -> model.upsert(s);
                    case EndpointSlice e -> model.upsert(e);
                    default -> { }
                }
            }
            catch (final RejectedObjectException ignored)
            {
                // reported for the Service explained; others do not matter here
            }
        }
        return model;
    }

    private static String rejection(final Service service)
    {
        try
        {
            new ClusterModel(ModelConfig.forNode("explain")).upsert(service);
            return "it collides with another Service (nodePort or frontend already taken)";
        }
        catch (final RejectedObjectException ex)
        {
            return ex.field() + ": " + ex.reason();
        }
    }

    private List<Pod> checkSelector(final Service service, final List<Pod> pods)
    {
        final Map<String, String> selector = service.getSpec().getSelector();
        if (null == selector || selector.isEmpty())
        {
            ok("no selector: its EndpointSlices are managed by hand", null);
            return List.of();
        }
        final String selectorText = labels(selector);
        if (pods.isEmpty())
        {
            warn("selector " + selectorText + ": no Pods in namespace " + namespace + " are known to the agent",
                "apply the Pods too to check labels; endpoints below come from EndpointSlices");
            return List.of();
        }
        final List<Pod> selected = pods.stream().filter(pod ->
        {
            final Map<String, String> labels = Objects.requireNonNullElse(pod.getMetadata().getLabels(), Map.of());
            return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
        }).toList();
        if (selected.isEmpty())
        {
            fail("selector " + selectorText + " matches none of the " + pods.size() + " Pods: " + pods.stream()
                    .map(pod -> pod.getMetadata().getName() + " " + labels(pod.getMetadata().getLabels()))
                    .collect(Collectors.joining("; ")),
                "make the selector equal the Pods' labels (kubectl get pods --show-labels)");
        }
        else
        {
            ok("selector " + selectorText + " matches " + selected.size() + " of " + pods.size() + " Pods: " +
                selected.stream().map(pod -> pod.getMetadata().getName()).collect(Collectors.joining(", ")), null);
            final long owners = selected.stream().map(pod -> Objects.requireNonNullElse(
                pod.getMetadata().getLabels(), Map.<String, String>of()).get("app")).distinct().count();
            if (owners > 1)
            {
                warn("the selected Pods carry different app labels: the selector may be too broad",
                    "use a unique label combination, or responses come from the wrong Pods");
            }
        }
        return selected;
    }

    private void checkEndpoints(final List<HasMetadata> objects, final NamespacedName serviceName,
        final ServiceDefinition definition, final ClusterModel model)
    {
        final List<EndpointSlice> slices = slicesOf(objects, serviceName);
        if (slices.isEmpty())
        {
            fail("no EndpointSlices name this Service: it has no endpoints",
                "publish EndpointSlices labelled kubernetes.io/service-name=" + serviceName.name());
            return;
        }
        for (final ServicePortDefinition port : definition.ports())
        {
            final ServicePortState state = model.state(definition.keyOf(port));
            final List<ServiceEndpoint> endpoints = null == state ? List.of() : state.clusterWide().endpoints();
            final long ready = endpoints.stream().filter(ServiceEndpoint::ready).count();
            final long servingTerminating = endpoints.stream().filter(ServiceEndpoint::servingTerminating).count();
            final long local = endpoints.stream().filter(ServiceEndpoint::local).count();
            final String label = "port " + portLabel(port) + ": ";
            final String counts = ready + " ready, " + servingTerminating + " serving while terminating, " + local +
                " on this node: " + endpoints.stream().map(e -> GetCommand.endpoint(e.address(), e.port()) +
                (e.ready() ? "" : e.servingTerminating() ? "(terminating)" : "(not ready)"))
                .collect(Collectors.joining(", "));
            if (ready > 0)
            {
                ok(label + counts, null);
            }
            else if (servingTerminating > 0)
            {
                warn(label + "only terminating endpoints serve: " + counts,
                    "new Pods must become ready before the old ones finish terminating");
            }
            else
            {
                fail(label + "no ready endpoint (" + slices.size() + " EndpointSlice(s))",
                    "Pods must pass their readiness probes to receive traffic; check the slices' conditions");
            }
            if (null != state && definition.externalPolicyLocal() && state.localReadyEndpoints(
                definition.clusterIPs().isEmpty() ? io.switchboard.model.IpFamily.IPV4 :
                    io.switchboard.model.IpFamily.of(definition.clusterIPs().getFirst())) == 0)
            {
                warn(label + "externalTrafficPolicy Local and no ready endpoint on this node: external clients " +
                    "are dropped here", "run a Pod on this node, or use externalTrafficPolicy Cluster");
            }
        }
    }

    private void checkTargetPorts(final Service service, final List<HasMetadata> objects,
        final NamespacedName serviceName, final List<Pod> selected)
    {
        final List<EndpointSlice> slices = slicesOf(objects, serviceName);
        if (slices.isEmpty())
        {
            return; // already a FAIL: nothing to resolve targetPorts against
        }
        final List<EndpointPort> slicePorts = slices.stream()
            .flatMap(slice -> Objects.requireNonNullElse(slice.getPorts(), List.<EndpointPort>of()).stream()).toList();
        for (final ServicePort port : service.getSpec().getPorts())
        {
            final String portName = Objects.requireNonNullElse(port.getName(), "");
            final String protocol = Objects.requireNonNullElse(port.getProtocol(), "TCP");
            final IntOrString target = null == port.getTargetPort() ? new IntOrString(port.getPort()) : port.getTargetPort();
            final String targetText = null != target.getStrVal() ? target.getStrVal() : String.valueOf(target.getIntVal());
            final List<Integer> resolved = slicePorts.stream()
                .filter(p -> portName.equals(Objects.requireNonNullElse(p.getName(), "")) &&
                    protocol.equals(Objects.requireNonNullElse(p.getProtocol(), "TCP")))
                .map(EndpointPort::getPort).filter(Objects::nonNull).distinct().toList();
            final String label = "targetPort " + targetText + " of port " + (portName.isEmpty() ? port.getPort() :
                portName) + "/" + protocol + ": ";
            if (resolved.isEmpty())
            {
                fail(label + "no EndpointSlice port is named '" + portName + "' (" + protocol + ")",
                    "the slices' ports must carry the Service port's name and the resolved targetPort");
                continue;
            }
            if (null != target.getIntVal() && !resolved.contains(target.getIntVal()))
            {
                warn(label + "the EndpointSlices send to " + resolved, "is the app listening on " + resolved + "?");
                continue;
            }
            if (null != target.getStrVal() && !selected.isEmpty())
            {
                final List<String> missing = selected.stream().filter(pod -> !declares(pod, target.getStrVal()))
                    .map(pod -> pod.getMetadata().getName()).toList();
                if (!missing.isEmpty())
                {
                    fail(label + "Pods " + missing + " declare no container port named " + target.getStrVal(),
                        "name the container port " + target.getStrVal() + ", or use a number as targetPort");
                    continue;
                }
            }
            ok(label + "resolves to " + resolved, null);
        }
    }

    private static boolean declares(final Pod pod, final String portName)
    {
        return null != pod.getSpec() && pod.getSpec().getContainers().stream()
            .flatMap(c -> Objects.requireNonNullElse(c.getPorts(), List.<ContainerPort>of()).stream())
            .anyMatch(p -> portName.equals(p.getName()));
    }

    /**
     * With {@code --probe-endpoints}: is anything listening on the endpoints? A TCP connect from this node
     * (run explain where the node's pod network is reachable) to each ready endpoint of
     * each TCP port (at most {@value #LISTEN_CHECKS}): refused means the app does not listen on the
     * targetPort, no answer means something drops the traffic on the way. UDP has no handshake to ask.
     */
    private void checkListening(final ServiceDefinition definition, final ClusterModel model)
    {
        if (!probeEndpoints)
        {
            return;
        }
        final java.util.Set<java.net.InetSocketAddress> checked = new java.util.LinkedHashSet<>();
        for (final ServicePortDefinition port : definition.ports())
        {
            final ServicePortState state = model.state(definition.keyOf(port));
            if (null == state || state.key().protocol() != io.switchboard.model.Protocol.TCP)
            {
                continue;
            }
            for (final io.switchboard.model.ServiceEndpoint endpoint : state.clusterWide().endpoints())
            {
                if (endpoint.ready() && checked.size() < LISTEN_CHECKS)
                {
                    checked.add(new java.net.InetSocketAddress(endpoint.address(), endpoint.port()));
                }
            }
        }
        for (final java.net.InetSocketAddress endpoint : checked)
        {
            final String label = "endpoint " + GetCommand.endpoint(endpoint.getAddress(), endpoint.getPort()) + ": ";
            try (java.net.Socket socket = new java.net.Socket())
            {
                socket.connect(endpoint, LISTEN_TIMEOUT_MS);
                ok(label + "something listens there", null);
            }
            catch (final java.net.ConnectException ex)
            {
                fail(label + "nothing listens there (connection refused)",
                    "is the app listening on that port inside the Pod? (kubectl exec POD -- ss -ltn)");
            }
            catch (final java.io.IOException ex)
            {
                warn(label + "no answer in " + LISTEN_TIMEOUT_MS + " ms",
                    "a NetworkPolicy or firewall may drop traffic to the Pod, or it is on an unreachable node");
            }
        }
    }

    private void checkDatapath(final ServiceDefinition definition, final ClusterModel model)
    {
        final DatapathReader reader;
        try
        {
            reader = GetCommand.open(bpffsDirectory);
        }
        catch (final CliException ex)
        {
            warn("datapath not checked: " + ex.getMessage(), "run explain as root on the node, with the agent's --bpffs-dir");
            return;
        }
        try (reader)
        {
            final List<ServiceEntry> entries = reader.services();
            final Map<Integer, BackendEntry> backends = reader.backends();
            for (final ServicePortDefinition port : definition.ports())
            {
                final ServicePortState state = model.state(definition.keyOf(port));
                if (null == state)
                {
                    continue;
                }
                for (final Frontend frontend : state.frontends())
                {
                    checkFrontend(reader, entries, backends, state, frontend);
                }
            }
        }
    }

    private void checkFrontend(final DatapathReader reader, final List<ServiceEntry> entries,
        final Map<Integer, BackendEntry> backends, final ServicePortState state, final Frontend frontend)
    {
        final int protocol = ServiceNames.protocolNumber(frontend.protocol());
        final String label = frontend.kind() + " " + GetCommand.frontend(frontend.address(), frontend.port(), protocol);
        final ServiceEntry entry = entries.stream().filter(e -> e.address().equals(frontend.address()) &&
            e.port() == frontend.port() && e.protocol() == protocol).findFirst().orElse(null);
        if (null == entry)
        {
            fail(label + ": not in the datapath", "is the agent running with this --bpffs-dir? see its log and the "
                + "rejected updates on /metrics");
            return;
        }
        final TrafficOutcome outcome = state.outcomeFor(frontend);
        final String programmed = label + ": svc_id " + entry.svcId() + ", " + entry.backendCount() +
            " backend(s), table of " + entry.tableSize();
        switch (outcome)
        {
            case FORWARD -> ok(programmed, null);
            case DROP -> warn(programmed + "; new connections are dropped here (Local policy, no local endpoint)",
                "clients time out on this node: send them to a node with a ready Pod");
            default -> fail(programmed + "; clients are refused (connection refused: no usable endpoint)",
                "make a Pod ready and selected (see the endpoint checks above)");
        }
        if (null != client && entry.backendCount() > 0)
        {
            follow(reader, backends, entry, frontend, protocol);
        }
    }

    private void follow(final DatapathReader reader, final Map<Integer, BackendEntry> backends,
        final ServiceEntry entry, final Frontend frontend, final int protocol)
    {
        final InetAddress clientAddress;
        final int clientPort;
        final int colon = client.lastIndexOf(':');
        final boolean withPort = colon > 0 && (client.indexOf(':') == colon || client.startsWith("["));
        try
        {
            clientAddress = IpAddresses.parse(withPort ? client.substring(0, colon).replace("[", "").replace("]", "") :
                client);
            clientPort = withPort ? Integer.parseInt(client.substring(colon + 1)) : DEFAULT_CLIENT_PORT;
        }
        catch (final RuntimeException ex)
        {
            fail("--client " + client + " is not IP[:PORT]", "for example --client 198.18.0.2:40000");
            return;
        }
        if (clientAddress.getAddress().length != frontend.address().getAddress().length)
        {
            return;
        }
        final int[] table = reader.maglevTable(entry.svcId());
        if (table.length == 0)
        {
            fail("  client " + client + ": svc_id " + entry.svcId() + " has no live Maglev table", "restart the agent");
            return;
        }
        final int hash = FlowHash.hash(reader.maglevSeed(), clientAddress, clientPort, frontend.address(),
            frontend.port(), protocol);
        final int slot = FlowHash.slot(hash, table.length);
        final BackendEntry backend = backends.get(table[slot]);
        final String pinned = reader.affinity().stream().filter(a -> a.svcId() == entry.svcId() &&
                clientAddress.equals(a.client())).map(a -> backends.get(a.backendId())).filter(Objects::nonNull)
            .map(b -> GetCommand.endpoint(b.address(), b.port())).findFirst().orElse(null);
        ok("  client " + GetCommand.endpoint(clientAddress, clientPort) + " → " + (null == backend ? "backend id " +
            table[slot] + " (gone)" : GetCommand.endpoint(backend.address(), backend.port())) + " (Maglev slot " +
            slot + " of " + table.length + ")" + (null == pinned ? "" : "; ClientIP affinity holds it on " + pinned),
            null);
    }

    private static List<EndpointSlice> slicesOf(final List<HasMetadata> objects, final NamespacedName service)
    {
        return all(objects, EndpointSlice.class).stream()
            .filter(slice -> service.namespace().equals(NamespacedName.of(slice).namespace()) &&
                service.name().equals(Objects.requireNonNullElse(slice.getMetadata().getLabels(), Map.<String, String>of())
                    .get(EndpointSliceValidator.SERVICE_NAME_LABEL)))
            .toList();
    }

    private static <T extends HasMetadata> List<T> all(final List<HasMetadata> objects, final Class<T> type)
    {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static <T extends HasMetadata> T find(final List<HasMetadata> objects, final Class<T> type,
        final NamespacedName name)
    {
        return all(objects, type).stream().filter(o -> NamespacedName.of(o).equals(name)).findFirst().orElse(null);
    }

    private static String labels(final Map<String, String> labels)
    {
        return null == labels || labels.isEmpty() ? "<none>" : labels.entrySet().stream()
            .map(e -> e.getKey() + "=" + e.getValue()).collect(Collectors.joining(","));
    }

    private static String portLabel(final ServicePortDefinition port)
    {
        return (port.name().isEmpty() ? String.valueOf(port.port()) : port.name()) + "/" + port.protocol();
    }

    private void ok(final String reason, final String hint)
    {
        line("OK", reason, hint);
    }

    private void warn(final String reason, final String hint)
    {
        line("WARN", reason, hint);
    }

    private void fail(final String reason, final String hint)
    {
        failed = true;
        line("FAIL", reason, hint);
    }

    private void line(final String status, final String reason, final String hint)
    {
        out.printf("%-5s %s%n", status, reason);
        if (null != hint)
        {
            out.println("      hint: " + hint);
        }
    }

    private int finish()
    {
        out.flush();
        return failed ? 1 : 0;
    }
}
