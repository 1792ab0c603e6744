package io.switchboard.agent;

import io.switchboard.log.Log;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathReader;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The agent's HTTP surfaces, on threads of their own: {@code /metrics} (Prometheus text format, from the
 * Prometheus client library) and {@code /healthz} on {@code --metrics-address} (loopback by default),
 * {@code /healthz} alone on {@code --healthz-address} (every address by default, for probes), as kube-proxy
 * splits them over 10249 and 10256, and kube-proxy's service health checks on each {@code healthCheckNodePort}. Everything shown comes from the {@link AgentStatus}
 * the agent thread publishes, plus the datapath's per-CPU counters, which only the datapath writes.
 */
public final class AgentHttpServer implements AutoCloseable
{
    private static final long HEALTH_CHECK_RECONCILE_MS = 200;

    private final Supplier<AgentStatus> status;
    private final DatapathReader counters;
    private final Consumer<String> log;
    private final HTTPServer server;
    private final HttpServer healthzServer;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ScheduledExecutorService healthChecks;
    private final Map<Integer, HttpServer> healthCheckServers = new HashMap<>();
    /** More reasons for {@code /healthz} to fail: each gives one, or null while healthy. */
    private final List<Supplier<String>> healthConditions = new CopyOnWriteArrayList<>();
    private volatile LiveView liveView;
    private volatile KubernetesSerialization serialization;

    private AgentHttpServer(final Supplier<AgentStatus> status, final DatapathReader counters,
        final InetSocketAddress metricsAddress, final InetSocketAddress healthzAddress, final Consumer<String> log)
        throws IOException
    {
        this.status = status;
        this.counters = counters;
        this.log = log;
        registry.register(new Metrics());
        server = null == metricsAddress ? null : HTTPServer.builder().inetAddress(metricsAddress.getAddress())
            .port(metricsAddress.getPort()).registry(registry).defaultHandler(this::metricsAddressDefault).buildAndStart();
        if (null == healthzAddress)
        {
            healthzServer = null;
        }
        else
        {
            healthzServer = HttpServer.create(healthzAddress, 16);
            healthzServer.createContext("/", this::healthz);
            healthzServer.start();
        }
        healthChecks = Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon()
            .name("switchboard-health-checks").factory());
        healthChecks.scheduleWithFixedDelay(this::reconcileHealthChecks, 0, HEALTH_CHECK_RECONCILE_MS,
            TimeUnit.MILLISECONDS);
    }

    /**
     * Serves {@code /metrics} and {@code /healthz} on {@code metricsAddress}, {@code /healthz} on
     * {@code healthzAddress} (either may be null: not served), and the health check nodePorts.
     *
     * @param counters reads the datapath's counters ({@code sb_svc_stats} and {@code sb_stats}) and its
     *     interfaces ({@code sb_ifaces}); null: none (the agent's own metrics only).
     */
    public static AgentHttpServer start(final Supplier<AgentStatus> status, final DatapathReader counters,
        final InetSocketAddress metricsAddress, final InetSocketAddress healthzAddress, final Consumer<String> log)
    {
        try
        {
            return new AgentHttpServer(status, counters, metricsAddress, healthzAddress, log);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("serving metrics on " + metricsAddress + " and healthz on " +
                healthzAddress, ex);
        }
    }

    /**
     * {@code /healthz} also fails while {@code condition} gives a reason (e.g. no live watch on the API server for
     * longer than a grace period); the reason is in the body.
     */
    public void healthyOnlyWhile(final Supplier<String> condition)
    {
        healthConditions.add(condition);
    }

    /**
     * Serves the agent's live view on the metrics address only (loopback by default; never on the health
     * address, which the cluster reaches): {@code /objects}, the Services, EndpointSlices (derived ones too), Pods
     * and Nodes the model holds, as a Kubernetes List; {@code /rejected}, what it refused and why. The CLI's
     * {@code explain} and {@code get endpoints} read them.
     */
    public void serveLiveView(final LiveView view, final KubernetesSerialization objectSerialization)
    {
        this.serialization = objectSerialization;
        this.liveView = view;
    }

    /** Adds metrics collected at scrape time (the DNS server's counters). */
    public void register(final MultiCollector collector)
    {
        registry.register(collector);
    }

    /** {@code host:port}, {@code [v6]:port} or {@code :port} (every address). */
    public static InetSocketAddress parseAddress(final String text)
    {
        return parseAddress("--metrics-address", text);
    }

    /** {@code host:port}, {@code [v6]:port} or {@code :port} (every address) given to {@code flag}. */
    public static InetSocketAddress parseAddress(final String flag, final String text)
    {
        final int colon = text.lastIndexOf(':');
        if (colon < 0)
        {
            throw new IllegalArgumentException(flag + " needs host:port, not " + text);
        }
        final String host = text.substring(0, colon).replace("[", "").replace("]", "");
        try
        {
            return new InetSocketAddress(host.isEmpty() ? InetAddress.getByName("0.0.0.0") :
                InetAddress.getByName(host), Integer.parseInt(text.substring(colon + 1)));
        }
        catch (final IOException | NumberFormatException ex)
        {
            throw new IllegalArgumentException(flag + " " + text + ": " + ex.getMessage(), ex);
        }
    }

    private void metricsAddressDefault(final HttpExchange exchange) throws IOException
    {
        final String path = exchange.getRequestURI().getPath();
        final LiveView view = liveView;
        if (null != view && ("/objects".equals(path) || "/rejected".equals(path) || "/observed".equals(path)))
        {
            try (exchange)
            {
                final String body = switch (path)
                {
                    case "/objects" -> view.objectsJson(serialization);
                    case "/rejected" -> view.rejectionsJson(serialization);
                    default -> view.observedJson(serialization, after(exchange.getRequestURI().getQuery()));
                };
                respond(exchange, 200, "application/json", body);
            }
            return;
        }
        healthz(exchange);
    }

    /** {@code after=N} of a query, else 0. */
    private static long after(final String query)
    {
        if (null != query)
        {
            for (final String parameter : query.split("&"))
            {
                if (parameter.startsWith("after="))
                {
                    try
                    {
                        return Long.parseLong(parameter.substring("after=".length()));
                    }
                    catch (final NumberFormatException ignored)
                    {
                        return 0;
                    }
                }
            }
        }
        return 0;
    }

    private void healthz(final HttpExchange exchange) throws IOException
    {
        try (exchange)
        {
            final String path = exchange.getRequestURI().getPath();
            if ("/livez".equals(path))
            {
                // the process serves: for a liveness probe, which must not restart an agent for the API server's sake
                respond(exchange, 200, "text/plain", "ok\n");
                return;
            }
            if (!"/healthz".equals(path))
            {
                respond(exchange, 404, "text/plain",
                    "not found: try /healthz or /livez (and /metrics, /objects, /rejected on --metrics-address)\n");
                return;
            }
            final AgentStatus current = status.get();
            String reason = current.synced() ? null : "not synced yet";
            for (final Supplier<String> condition : healthConditions)
            {
                reason = null == reason ? condition.get() : reason;
            }
            final String body = "{\"lastUpdated\":" + quoted(current.lastUpdated()) + ",\"currentTime\":" +
                quoted(Instant.now()) + (null == reason ? "" : ",\"unhealthy\":\"" + reason.replace("\"", "'") + "\"") +
                "}\n";
            respond(exchange, null == reason ? 200 : 503, "application/json", body);
        }
    }

    private static String quoted(final Instant instant)
    {
        return null == instant ? "null" : "\"" + instant + "\"";
    }

    private static void respond(final HttpExchange exchange, final int status, final String type, final String body)
        throws IOException
    {
        final byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody())
        {
            out.write(bytes);
        }
    }

    /** Opens a listener for each health check nodePort the agent published and closes those it no longer has. */
    private void reconcileHealthChecks()
    {
        try
        {
            final Map<Integer, AgentStatus.HealthCheck> wanted = new HashMap<>();
            for (final AgentStatus.HealthCheck check : status.get().healthChecks())
            {
                wanted.put(check.nodePort(), check);
            }
            healthCheckServers.entrySet().removeIf(entry ->
            {
                if (wanted.containsKey(entry.getKey()))
                {
                    return false;
                }
                entry.getValue().stop(0);
                return true;
            });
            for (final int port : wanted.keySet())
            {
                if (!healthCheckServers.containsKey(port))
                {
                    healthCheckServers.put(port, serveHealthCheck(port));
                }
            }
        }
        catch (final RuntimeException ex)
        {
            log.accept(Log.warn("health check nodePorts: " + ex.getMessage()));
        }
    }

    private HttpServer serveHealthCheck(final int port)
    {
        try
        {
            final HttpServer check = HttpServer.create(new InetSocketAddress(port), 16);
            check.createContext("/", exchange ->
            {
                try (exchange)
                {
                    final AgentStatus.HealthCheck current = status.get().healthChecks().stream()
                        .filter(c -> c.nodePort() == port).findFirst().orElse(null);
                    if (null == current)
                    {
                        respond(exchange, 503, "text/plain", "no service\n");
                        return;
                    }
                    exchange.getResponseHeaders().set("X-Load-Balancing-Endpoint-Weight",
                        Integer.toString(current.localEndpoints()));
                    respond(exchange, current.localEndpoints() > 0 ? 200 : 503, "application/json",
                        "{\"service\":{\"namespace\":\"" + current.namespace() + "\",\"name\":\"" + current.name() +
                        "\"},\"localEndpoints\":" + current.localEndpoints() + ",\"serviceProxyHealthy\":true}\n");
                }
            });
            check.start();
            log.accept("health check nodePort " + port + " serving");
            return check;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("health check nodePort " + port, ex);
        }
    }

    /** The metrics, collected at scrape time. */
    private final class Metrics implements MultiCollector
    {
        @Override
        public MetricSnapshots collect()
        {
            final AgentStatus current = status.get();
            final List<MetricSnapshot> metrics = new ArrayList<>();
            metrics.add(counter("switchboard_updates_applied", "Control-plane updates applied.",
                current.appliedUpdates()));
            metrics.add(counter("switchboard_updates_rejected", "Control-plane updates rejected (invalid or "
                + "undecodable; the dataplane kept its last good state).", current.rejectedUpdates()));
            metrics.add(gauge("switchboard_programmed_service_ports", "Service ports in the dataplane.",
                current.programmedServicePorts()));
            metrics.add(counter("switchboard_program_failures", "Service-port programming attempts that failed " +
                "(a map full, an id space used up: the agent's log names the port and the error; each is retried " +
                "with backoff while the other ports go on).", current.programFailures()));
            metrics.add(gauge("switchboard_failing_service_ports", "Service ports whose last programming attempt " +
                "failed and that wait for a retry.", current.failingServicePorts()));
            metrics.add(gauge("switchboard_sync_duration_seconds", "Duration of the last programming cycle.",
                current.lastSyncDurationNs() / 1e9));
            metrics.add(gauge("switchboard_update_latency_seconds", "From the intended send time of the last "
                + "update applied to the end of its programming.", current.lastUpdateLatencyNs() / 1e9));
            metrics.add(gauge("switchboard_last_sync_timestamp_seconds", "When the dataplane was last programmed.",
                null == current.lastUpdated() ? 0 : current.lastUpdated().toEpochMilli() / 1e3));
            if (null == counters)
            {
                return new MetricSnapshots(metrics); // no datapath to read (the agent's own metrics only)
            }
            serviceCounters(current, metrics);
            final long[] global = counters.globalCounters();
            final CounterSnapshot.Builder packets = CounterSnapshot.builder().name("switchboard_datapath_packets")
                .help("Packets the datapath saw, by what it did with them (sb_stats).");
            for (int i = 0; i < global.length; i++)
            {
                packets.dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder()
                    .labels(Labels.of("result", DatapathAbi.GLOBAL_COUNTERS[i])).value(global[i]).build());
            }
            metrics.add(packets.build());
            final GaugeSnapshot.Builder interfaces = GaugeSnapshot.builder().name("switchboard_interface_info")
                .help("The interfaces sb_xdp runs on (sb_ifaces): 1 per interface, with how the replies it "
                    + "generates leave it (reply_path xdp: XDP_TX; tc: sb_tc_from_ext and bpf_redirect).");
            for (final DatapathReader.InterfaceEntry iface : counters.interfaces())
            {
                interfaces.dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().labels(Labels.of("interface",
                    iface.name(), "ifindex", Integer.toString(iface.ifindex()), "reply_path",
                    iface.replyPath().label())).value(1).build());
            }
            metrics.add(interfaces.build());
            return new MetricSnapshots(metrics);
        }

        private void serviceCounters(final AgentStatus current, final List<MetricSnapshot> metrics)
        {
            final String[] names = DatapathAbi.SERVICE_COUNTERS;
            final List<CounterSnapshot.Builder> builders = new ArrayList<>();
            for (final String name : names)
            {
                builders.add(CounterSnapshot.builder().name("switchboard_service_" + name)
                    .help("Per service port and scope (svc_id): " + name.replace('_', ' ') + " (sb_svc_stats)."));
            }
            for (final Map.Entry<Integer, AgentStatus.ServicePortLabels> entry : current.servicePorts().entrySet())
            {
                final long[] values = counters.serviceCounters(entry.getKey());
                final AgentStatus.ServicePortLabels port = entry.getValue();
                final Labels labels = Labels.of("namespace", port.namespace(), "name", port.name(), "port",
                    port.port(), "svc_id", Integer.toString(entry.getKey()));
                for (int i = 0; i < names.length; i++)
                {
                    builders.get(i).dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().labels(labels)
                        .value(values[i]).build());
                }
            }
            builders.forEach(builder -> metrics.add(builder.build()));
        }

        private static CounterSnapshot counter(final String name, final String help, final double value)
        {
            return CounterSnapshot.builder().name(name).help(help)
                .dataPoint(CounterSnapshot.CounterDataPointSnapshot.builder().value(value).build()).build();
        }

        private static GaugeSnapshot gauge(final String name, final String help, final double value)
        {
            return GaugeSnapshot.builder().name(name).help(help)
                .dataPoint(GaugeSnapshot.GaugeDataPointSnapshot.builder().value(value).build()).build();
        }
    }

    @Override
    public void close()
    {
        healthChecks.shutdownNow();
        try
        {
            healthChecks.awaitTermination(2, TimeUnit.SECONDS);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
        }
        healthCheckServers.values().forEach(check -> check.stop(0));
        if (null != healthzServer)
        {
            healthzServer.stop(0);
        }
        if (null != server)
        {
            server.close();
        }
    }
}
