package io.switchboard.agent;

import io.switchboard.cli.SwitchboardCommand;
import io.switchboard.netns.Host;
import io.switchboard.demo.DemoCommand;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.HashSet;
import java.util.Set;
import java.util.Map;

import static io.switchboard.agent.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator's surfaces against a real agent process in a node namespace: {@code switchboard apply -f}
 * (run in the node's namespace) makes a NodePort answer from the client, {@code get} and {@code explain}
 * read the pins and the state directory, {@code /healthz}, {@code /metrics} and the health check nodePorts
 * answer, and {@code delete -f} makes the NodePort stop answering.
 */
@KernelTest
class CliAgentTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final int METRICS_PORT = 10249;
    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-cli-test");

    private record Run(int code, String out, String err)
    {
    }

    private record HttpAnswer(int status, List<String> headers, String body)
    {
    }

    @Test
    void applyGetExplainDeleteAndTheAgentsHttpSurfaces(@Pods(2) final LabNetwork network, final PinDirectory pins)
        throws Exception
    {
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
        }
        final Path web = Files.writeString(directories.work().resolve("web.yaml"), webManifest());
        final Path edge = Files.writeString(directories.work().resolve("edge.yaml"), edgeManifest());
        final Host node = network.node();
        final String bpffs = pins.resolve("agent").toString();
        final String state = directories.work().resolve("state").toString();
        final InetSocketAddress metrics = new InetSocketAddress(node.address4(), METRICS_PORT);
        try (AgentProcess agent = AgentProcess.start(node, List.of("--node-name", "node-a", "--node-ip", "198.18.0.1",
            "--xdp-iface", "ext0", "--bpffs-dir", bpffs, "--aeron-dir", directories.aeron().toString(),
            "--state-dir", state, "--metrics-address", "0.0.0.0:" + METRICS_PORT)))
        {
            final HttpAnswer healthz = await(() -> http(node, metrics, "/healthz"), a -> a.status() == 200);
            assertThat(healthz.body()).contains("\"lastUpdated\":\"");

            final Run apply = cli(node, "apply", "-f", web.toString(), "-f", edge.toString(),
                "--aeron-dir", directories.aeron().toString());
            assertThat(apply.code()).as(apply.err()).isZero();
            assertThat(apply.out()).contains("service/web created", "endpointslice/web-1 created",
                "pod/web-0 created", "service/edge created");
            // the agent's verdicts, as kubectl prints them: the same file again changes nothing
            final Run again = cli(node, "apply", "-f", web.toString(), "--aeron-dir", directories.aeron().toString());
            assertThat(again.code()).as(again.err()).isZero();
            assertThat(again.out()).contains("service/web unchanged", "endpointslice/web-1 unchanged",
                "pod/web-0 unchanged");

            final InetSocketAddress nodePort = new InetSocketAddress(node.address4(), 30080);
            await(() -> tryTcp(network.client(), nodePort), answer -> null != answer);

            final Run services = cli(node, "get", "services", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(services.code()).as(services.err()).isZero();
            assertThat(services.out().lines().findFirst().orElseThrow())
                .startsWith("NAME").contains("FRONTEND", "SVC-ID", "FLAGS", "BACKENDS", "TABLE-SIZE", "GENERATION");
            assertThat(services.out().lines()).anySatisfy(line -> assertThat(line)
                .startsWith("default/web:http").contains("198.18.0.1:30080/TCP", "EXTERNAL,", ",NODEPORT"));
            assertThat(services.out().lines()).anySatisfy(line -> assertThat(line)
                .startsWith("default/web:http").contains("10.96.0.10:80/TCP"));

            final Run maglev = cli(node, "get", "maglev", "default/web:http", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(maglev.out()).as(maglev.err()).contains("198.19.0.10:8080", "198.19.0.11:8080");
            final Run json = cli(node, "get", "services", "-o", "json", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(json.out()).startsWith("[").contains("\"frontend\" : \"198.18.0.1:30080/TCP\"");

            // where explain says a client's flow goes is where it goes
            final Run explain = cli(node, "explain", "svc", "web", "--client", "198.18.0.2:40123",
                "--node-name", "node-a", "--node-ip", "198.18.0.1", "--bpffs-dir", bpffs, "--state-dir", state,
                "--probe-endpoints");
            assertThat(explain.code()).as(explain.out()).isZero();
            assertThat(explain.out()).doesNotContain("FAIL").contains("OK    selector app=web matches 2 of 2 Pods")
                .contains("endpoint 198.19.0.10:8080: something listens there")
                .contains("endpoint 198.19.0.11:8080: something listens there");
            final List<String> lines = explain.out().lines().toList();
            final int nodePortLine = lines.indexOf(lines.stream()
                .filter(line -> line.contains("NODE_PORT 198.18.0.1:30080/TCP")).findFirst().orElseThrow());
            final String actual = tcpFromPort(network.client(), nodePort, 40123);
            assertThat(lines.get(nodePortLine + 1)).as(explain.out()).contains("client 198.18.0.2:40123 → " + actual);

            final Run stats = cli(node, "get", "stats", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(stats.out()).contains("PACKETS", "default/web:http", "passed", "reply_tc");
            // ext0 is a veth: the agent's default (--generated-replies=auto) sends generated replies by tc
            assertThat(stats.out().lines()).anySatisfy(line -> assertThat(line).matches("ext0\\s+\\d+\\s+tc\\s*"));
            final Run conntrack = cli(node, "get", "conntrack", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(conntrack.out()).contains("198.18.0.2:40123", "forward");
            // a service named after WHAT filters every datapath table; one that names nothing is an error
            final Run webFlows = cli(node, "get", "conntrack", "default/web", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(webFlows.out()).as(webFlows.err()).contains("198.18.0.2:40123");
            final Run edgeFlows = cli(node, "get", "conntrack", "default/edge", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(edgeFlows.code()).as(edgeFlows.err()).isZero();
            assertThat(edgeFlows.out()).doesNotContain("198.18.0.2:40123");
            final Run webBackends = cli(node, "get", "backends", "default/web", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(webBackends.out().lines().skip(1)).as(webBackends.out()).isNotEmpty()
                .allSatisfy(line -> assertThat(line).contains("default/web"));
            final Run unknown = cli(node, "get", "maglev", "99999", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(unknown.code()).isEqualTo(1);
            assertThat(unknown.err()).contains("no programmed service port has svc_id 99999");

            final HttpAnswer scraped = http(node, metrics, "/metrics");
            assertThat(scraped.status()).isEqualTo(200);
            assertThat(scraped.body()).contains("switchboard_updates_applied_total ", "switchboard_programmed_service_ports ",
                "switchboard_sync_duration_seconds ", "switchboard_datapath_packets_total{result=\"service\"}")
                .containsPattern("switchboard_interface_info\\{ifindex=\"\\d+\",interface=\"ext0\",reply_path=\"tc\"} 1")
                .containsPattern("switchboard_service_packets_total\\{name=\"web\",namespace=\"default\"," +
                    "port=\"http/TCP\",svc_id=\"\\d+\"} [1-9]");

            final HttpAnswer ready = await(() -> http(network.client(), new InetSocketAddress(node.address4(), 32001), "/"),
                a -> a.status() == 200);
            assertThat(ready.body()).isEqualTo("{\"service\":{\"namespace\":\"default\",\"name\":\"edge\"}," +
                "\"localEndpoints\":1,\"serviceProxyHealthy\":true}\n");
            assertThat(ready.headers()).contains("x-load-balancing-endpoint-weight: 1");
            final HttpAnswer terminating = await(() -> http(network.client(),
                new InetSocketAddress(node.address4(), 32002), "/"), a -> a.status() != 0);
            assertThat(terminating.status()).isEqualTo(503);
            assertThat(terminating.body()).contains("\"localEndpoints\":0");

            final Run deleted = cli(node, "delete", "-f", web.toString(), "--aeron-dir", directories.aeron().toString());
            assertThat(deleted.code()).as(deleted.err()).isZero();
            assertThat(deleted.out()).contains("service/web deleted");
            final Run deletedAgain = cli(node, "delete", "-f", web.toString(), "--aeron-dir",
                directories.aeron().toString());
            assertThat(deletedAgain.code()).isEqualTo(1);
            assertThat(deletedAgain.err()).contains("service/web: not found");
            await(() -> tryTcp(network.client(), nodePort), answer -> null == answer);
            final Run gone = cli(node, "explain", "svc", "web", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(gone.code()).isEqualTo(1);
            assertThat(gone.out()).contains("FAIL  the Service does not exist");
            assertThat(agent.output()).noneMatch(line -> line.contains("rejected") || line.contains("error"));
        }
    }

    @Test
    void theLessonsServicesAppliedWithTheCliAnswerOnEveryAddressAndStopWhenDeleted(@Pods(3) final LabNetwork network,
        final PinDirectory pins) throws Exception
    {
        for (int i = 0; i < 3; i++)
        {
            network.startServer(i, 8080);
        }
        final Path manifests = Files.createDirectories(directories.work().resolve("seed"));
        final List<io.fabric8.kubernetes.api.model.Service> services = DemoCommand.writeManifests(network, manifests);
        final Host node = network.node();
        network.client().exec("ip", "route", "add", "10.96.0.0/12", "via", node.address4().getHostAddress());
        try (AgentProcess agent = AgentProcess.start(node, List.of("--node-name", DemoCommand.NODE,
            "--node-ip", "198.18.0.1", "--xdp-iface", "ext0", "--bpffs-dir", pins.resolve("agent").toString(),
            "--aeron-dir", directories.aeron().toString(), "--state-dir", directories.work().resolve("state").toString(),
            "--lb-ip-pool", DemoCommand.LB_POOL)))
        {
            final Run apply = cli(node, "apply", "-f", manifests.toString(), "--aeron-dir", directories.aeron().toString());
            assertThat(apply.code()).as(apply.err()).isZero();
            assertThat(apply.out()).contains("service/web-service created", "service/web-nodeport created",
                "service/web-lb created", "pod/web-app-0 created");

            // ClusterIP, NodePort and LoadBalancer addresses, each answered by every pod
            final Map<String, InetSocketAddress> targets = DemoCommand.targets(services, network);
            assertThat(targets.keySet()).anyMatch(name -> name.contains(" ClusterIP "))
                .anyMatch(name -> name.contains(" NodePort ")).anyMatch(name -> name.contains(" LoadBalancer "));
            for (final Map.Entry<String, InetSocketAddress> target : targets.entrySet())
            {
                await(() -> tryTcp(network.client(), target.getValue()), answer -> null != answer);
                final Set<String> pods = new HashSet<>();
                for (int i = 0; i < 30; i++)
                {
                    pods.add(Requests.tcp(network.client(), target.getValue(), Duration.ofSeconds(2)).pod());
                }
                assertThat(pods).as(target.getKey()).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
            }

            // explain reads the agent's live view (its default --agent, the default metrics address): the slices it
            // derived from the Pods, which no file holds, and what it rejected
            final String state = directories.work().resolve("state").toString();
            final String bpffs = pins.resolve("agent").toString();
            for (final io.fabric8.kubernetes.api.model.Service service : services)
            {
                final Run explain = cli(node, "explain", "svc", service.getMetadata().getName(), "--node-name",
                    DemoCommand.NODE, "--node-ip", "198.18.0.1", "--bpffs-dir", bpffs, "--state-dir", state);
                assertThat(explain.code()).as(explain.out()).isZero();
                assertThat(explain.out()).doesNotContain("FAIL").contains("objects from the agent's live view")
                    .contains("matches 3 of 3 Pods");
            }
            final Run endpoints = cli(node, "get", "endpoints", "--bpffs-dir", bpffs, "--state-dir", state);
            assertThat(endpoints.out()).as(endpoints.err()).contains("198.19.0.10", "198.19.0.11", "198.19.0.12");
            final int takenNodePort = services.stream().flatMap(s -> s.getSpec().getPorts().stream())
                .mapToInt(p -> null == p.getNodePort() ? 0 : p.getNodePort()).max().orElseThrow();
            final Path broken = Files.writeString(directories.work().resolve("broken.yaml"), """
                apiVersion: v1
                kind: Service
                metadata: {name: nomatch}
                spec:
                  selector: {app: nothing}
                  ports: [{port: 80, targetPort: 8080}]
                ---
                apiVersion: v1
                kind: Service
                metadata: {name: clash}
                spec:
                  type: NodePort
                  selector: {app: web-app}
                  ports: [{port: 80, targetPort: 8080, nodePort: %d}]
                """.formatted(takenNodePort));
            final Run rejected = cli(node, "apply", "-f", broken.toString(), "--aeron-dir",
                directories.aeron().toString());
            assertThat(rejected.code()).as("apply waits for the agent's verdict").isEqualTo(1);
            assertThat(rejected.out()).contains("service/nomatch created");
            assertThat(rejected.err()).contains("broken.yaml: service/clash: the agent rejected it: " +
                "spec.ports[0].nodePort: port is already allocated");
            final Run nomatch = await(() -> cli(node, "explain", "svc", "nomatch", "--node-name", DemoCommand.NODE,
                "--node-ip", "198.18.0.1", "--bpffs-dir", bpffs, "--state-dir", state),
                run -> !run.out().contains("does not exist"));
            assertThat(nomatch.code()).isEqualTo(1);
            assertThat(nomatch.out()).contains("FAIL  selector app=nothing matches none of the 3 Pods");
            final Run clash = await(() -> cli(node, "explain", "svc", "clash", "--bpffs-dir", bpffs, "--state-dir",
                state), run -> !run.out().contains("does not exist"));
            assertThat(clash.code()).isEqualTo(1);
            assertThat(clash.out()).contains("FAIL  the agent rejected the Service: spec.ports[0].nodePort")
                .contains(Integer.toString(takenNodePort));

            final Run deleted = cli(node, "delete", "-f", manifests.toString(), "--aeron-dir", directories.aeron().toString());
            assertThat(deleted.code()).as(deleted.err()).isZero();
            for (final Map.Entry<String, InetSocketAddress> target : targets.entrySet())
            {
                await(() -> tryTcp(network.client(), target.getValue()), answer -> null == answer);
            }
        }
    }

    private static Run cli(final Host host, final String... arguments)
    {
        return host.call(() ->
        {
            final StringWriter out = new StringWriter();
            final StringWriter err = new StringWriter();
            final CommandLine commandLine = new CommandLine(new SwitchboardCommand());
            commandLine.setOut(new PrintWriter(out, true));
            commandLine.setErr(new PrintWriter(err, true));
            final int code = commandLine.execute(arguments);
            return new Run(code, out.toString(), err.toString());
        });
    }

    /** A plain HTTP/1.0 GET from inside {@code from}'s namespace; status 0 when nothing answers. */
    private static HttpAnswer http(final Host from, final InetSocketAddress to, final String path)
    {
        return from.call(() ->
        {
            try (Socket socket = new Socket())
            {
                socket.connect(to, (int)TIMEOUT.toMillis());
                socket.setSoTimeout((int)TIMEOUT.toMillis());
                socket.getOutputStream().write(("GET " + path + " HTTP/1.0\r\nHost: node\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
                final BufferedReader reader = new BufferedReader(
                    new InputStreamReader(socket.getInputStream(), StandardCharsets.UTF_8));
                final int status = Integer.parseInt(reader.readLine().split(" ")[1]);
                final List<String> headers = new ArrayList<>();
                String line;
                while (null != (line = reader.readLine()) && !line.isEmpty())
                {
                    headers.add(line.toLowerCase());
                }
                final StringBuilder body = new StringBuilder();
                while (null != (line = reader.readLine()))
                {
                    body.append(line).append('\n');
                }
                return new HttpAnswer(status, headers, body.toString());
            }
            catch (final IOException ex)
            {
                return new HttpAnswer(0, List.of(), ex.toString());
            }
        });
    }

    private static Requests.Answer tryTcp(final Host from, final InetSocketAddress to)
    {
        try
        {
            return Requests.tcp(from, to, Duration.ofMillis(500));
        }
        catch (final RuntimeException ex)
        {
            return null;
        }
    }

    /** Connects from a fixed source port; returns the backend that answered as {@code address:8080}. */
    private static String tcpFromPort(final Host from, final InetSocketAddress to, final int sourcePort)
    {
        return from.call(() ->
        {
            try (Socket socket = new Socket())
            {
                socket.setReuseAddress(true);
                socket.bind(new InetSocketAddress(from.address4(), sourcePort));
                socket.connect(to, (int)TIMEOUT.toMillis());
                socket.setSoTimeout((int)TIMEOUT.toMillis());
                final String pod = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                    StandardCharsets.US_ASCII)).readLine().split(" ")[0];
                return "198.19.0." + (10 + Integer.parseInt(pod.substring("pod-".length()))) + ":8080";
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        });
    }

    private static String webManifest()
    {
        final StringBuilder pods = new StringBuilder();
        for (int i = 0; i < 2; i++)
        {
            pods.append("""
                apiVersion: v1
                kind: Pod
                metadata: {name: web-%d, labels: {app: web}}
                spec:
                  nodeName: node-a
                  containers:
                  - {name: web, image: web, ports: [{name: http, containerPort: 8080}]}
                ---
                """.formatted(i));
        }
        return pods + """
            apiVersion: v1
            kind: Service
            metadata: {name: web}
            spec:
              type: NodePort
              clusterIP: 10.96.0.10
              selector: {app: web}
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: http, nodePort: 30080}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-1
              labels: {kubernetes.io/service-name: web}
            addressType: IPv4
            ports:
            - {name: http, protocol: TCP, port: 8080}
            endpoints:
            - {addresses: ["198.19.0.10"], nodeName: node-a, conditions: {ready: true}}
            - {addresses: ["198.19.0.11"], nodeName: node-a, conditions: {ready: true}}
            """;
    }

    /** Two LoadBalancer Services with externalTrafficPolicy Local: one ready local endpoint, one terminating. */
    private static String edgeManifest()
    {
        return loadBalancer("edge", 11, 30081, 32001, "{ready: true}") + "---\n" +
            loadBalancer("edge-idle", 12, 30082, 32002, "{ready: false, serving: true, terminating: true}");
    }

    private static String loadBalancer(final String name, final int address, final int nodePort,
        final int healthCheckNodePort, final String conditions)
    {
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: %1$s}
            spec:
              type: LoadBalancer
              clusterIP: 10.96.0.%2$d
              externalTrafficPolicy: Local
              healthCheckNodePort: %4$d
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: %3$d}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: %1$s-1
              labels: {kubernetes.io/service-name: %1$s}
            addressType: IPv4
            ports:
            - {name: http, protocol: TCP, port: 8080}
            endpoints:
            - {addresses: ["198.19.0.10"], nodeName: node-a, conditions: %5$s}
            """.formatted(name, address, nodePort, healthCheckNodePort, conditions);
    }

    static InetAddress address(final String literal) throws IOException
    {
        return InetAddress.getByName(literal);
    }
}
