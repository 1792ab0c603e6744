package io.switchboard.demo;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.agent.AgentProcess;
import io.switchboard.bpf.Bpf;
import io.switchboard.cli.GetCommand;
import io.switchboard.model.Cidr;
import io.switchboard.model.NodePortRange;
import io.switchboard.model.ServiceAllocator;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabFiles;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Names;
import io.switchboard.netns.Requests;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code switchboard demo}: a node with three pods in throw-away network namespaces, a real agent in
 * the node, and the lesson's three Services (ClusterIP, NodePort, LoadBalancer) applied unchanged;
 * then requests from a client outside the node to each Service's address, spread across the pods.
 * Everything it made is removed on exit, Ctrl-C included.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run Switchboard on a node in throw-away network namespaces and send it traffic (needs root).")
public final class DemoCommand implements Callable<Integer>
{
    static final String[] SEED_MANIFESTS = {"clusterip-svc.yaml", "nodeport-svc.yaml", "lb-svc.yaml"};
    /** The node name the demo's agent and Pods use. */
    public static final String NODE = "demo-node";
    /**
     * The LoadBalancer address pool of the demo: inside the client–node segment (and its namespaces
     * only), so the client reaches it with no route, through the node's ARP answers.
     */
    public static final String LB_POOL = "198.18.0.240/28";
    private static final int POD_PORT = 8080;
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @Option(names = "--pods", defaultValue = "3", description = "Pods behind the Services (default ${DEFAULT-VALUE}).")
    private int pods;

    @Option(names = "--requests", defaultValue = "12", description = "Requests per Service address (default ${DEFAULT-VALUE}).")
    private int requests;

    @Override
    public Integer call() throws Exception
    {
        final PrintStream out = System.out;
        out.println("Switchboard demo (libbpf " + Bpf.require() + ")");
        final String id = Names.next();
        final Path work = Files.createTempDirectory("switchboard-demo");
        final Path pins = Path.of("/sys/fs/bpf", "switchboard-demo-" + id);
        final Path aeron = Path.of("/dev/shm", "switchboard-demo-" + id);
        final LabNetwork lab = LabNetwork.create(pods);
        final List<AutoCloseable> cleanup = new ArrayList<>();
        final Thread hook = Thread.ofPlatform().unstarted(() -> closeAll(cleanup, lab, work, pins, aeron));
        Runtime.getRuntime().addShutdownHook(hook);
        try
        {
            final Path manifests = Files.createDirectories(work.resolve("manifests"));
            final List<Service> services = writeManifests(lab, manifests);
            for (int i = 0; i < pods; i++)
            {
                lab.startServer(i, POD_PORT);
            }
            // the client reaches ClusterIPs through the node, as traffic from outside a cluster does; the
            // LoadBalancer pool is on its segment and needs no route (the node answers ARP for it)
            lab.client().exec("ip", "route", "add", "10.96.0.0/12", "via", lab.node().address4().getHostAddress());

            out.printf("  client %s  ──  node %s (%s)  ──  %d pods %s%n", lab.client().address4().getHostAddress(),
                lab.node().address4().getHostAddress(), lab.node().interfaceName(), pods,
                lab.pods().stream().map(pod -> pod.address4().getHostAddress()).toList());
            out.println("  applying the lesson's clusterip-svc.yaml, nodeport-svc.yaml and lb-svc.yaml unchanged,");
            out.println("  and " + pods + " Pods labelled app: web-app (the agent derives their EndpointSlices)");
            final AgentProcess agent = AgentProcess.start(lab.node(), List.of("--node-name", NODE,
                "--node-ip", lab.node().address4().getHostAddress(), "--xdp-iface", lab.node().interfaceName(),
                "--bpffs-dir", pins.toString(), "--aeron-dir", aeron.toString(),
                "--state-dir", work.resolve("state").toString(), "--manifests", manifests.toString(),
                "--lb-ip-pool", LB_POOL));
            cleanup.add(agent);
            out.println();

            final Map<String, InetSocketAddress> targets = targets(services, lab);
            await(lab.client(), targets.values());
            out.printf("  %-40s %s%n", "SERVICE ADDRESS", "ANSWERED BY (" + requests + " connections each)");
            for (final Map.Entry<String, InetSocketAddress> target : targets.entrySet())
            {
                final Map<String, Integer> answeredBy = new TreeMap<>();
                int failed = 0;
                for (int i = 0; i < requests; i++)
                {
                    try
                    {
                        final Requests.Answer answer = Requests.tcp(lab.client(), target.getValue(), TIMEOUT);
                        answeredBy.merge(answer.pod(), 1, Integer::sum);
                    }
                    catch (final UncheckedIOException ex)
                    {
                        failed++;
                    }
                }
                out.printf("  %-40s %s%s%n", target.getKey(), answeredBy, failed > 0 ? "  (" + failed + " failed)" : "");
            }
            for (final String what : List.of("services", "backends"))
            {
                out.println();
                out.println("$ switchboard get " + what + "   (read from the pinned maps)");
                // the demo's agent serves its live view in the node's namespace, not this one's: read its state dir
                new CommandLine(new GetCommand()).execute(what, "--agent", "off", "--bpffs-dir", pins.toString(),
                    "--state-dir", work.resolve("state").toString());
            }
            return 0;
        }
        finally
        {
            Runtime.getRuntime().removeShutdownHook(hook);
            closeAll(cleanup, lab, work, pins, aeron);
            out.println();
            out.println("  Removed the agent, every namespace, veth, pin and file the demo made.");
        }
    }

    /** Copies the seed manifests as they are and writes Pods on {@link #NODE} that the Services select. */
    public static List<Service> writeManifests(final LabNetwork lab, final Path directory) throws IOException
    {
        final KubernetesSerialization serialization = new KubernetesSerialization();
        final List<Service> services = new ArrayList<>();
        for (final String seed : SEED_MANIFESTS)
        {
            try (InputStream in = DemoCommand.class.getResourceAsStream("/demo/" + seed))
            {
                final byte[] yaml = in.readAllBytes();
                Files.write(directory.resolve(seed), yaml);
                services.add(serialization.unmarshal(new String(yaml, StandardCharsets.UTF_8), Service.class));
            }
        }
        final List<HasMetadata> podObjects = new ArrayList<>();
        for (int i = 0; i < lab.pods().size(); i++)
        {
            final Pod pod = new PodBuilder()
                .withNewMetadata().withName("web-app-" + i).withNamespace("default").addToLabels("app", "web-app")
                .endMetadata()
                .withNewSpec().withNodeName(NODE).addNewContainer().withName("web").withImage("demo")
                .addNewPort().withContainerPort(POD_PORT).withProtocol("TCP").endPort().endContainer().endSpec()
                .withNewStatus().withPodIP(lab.pod(i).address4().getHostAddress())
                .addNewCondition().withType("Ready").withStatus("True").endCondition().endStatus()
                .build();
            podObjects.add(pod);
        }
        final StringBuilder yaml = new StringBuilder();
        for (final HasMetadata pod : podObjects)
        {
            yaml.append(serialization.asYaml(pod)).append("\n");
        }
        Files.writeString(directory.resolve("pods.yaml"), yaml.toString());
        return services;
    }

    /** Where each Service answers: the same allocation the agent makes (it is deterministic). */
    public static Map<String, InetSocketAddress> targets(final List<Service> services, final LabNetwork lab)
    {
        final ServiceAllocator allocator = new ServiceAllocator(Cidr.parse("10.96.0.0/12"), NodePortRange.DEFAULT,
            List.of(Cidr.parse(LB_POOL)));
        final Map<String, InetSocketAddress> targets = new LinkedHashMap<>();
        for (final Service seed : services)
        {
            final Service service = allocator.complete(seed);
            final String name = service.getMetadata().getName();
            final InetAddress clusterIp = address(service.getSpec().getClusterIP());
            targets.put(name + " ClusterIP " + clusterIp.getHostAddress() + ":80", new InetSocketAddress(clusterIp, 80));
            if ("NodePort".equals(service.getSpec().getType()))
            {
                final int nodePort = service.getSpec().getPorts().get(0).getNodePort();
                targets.put(name + " NodePort " + lab.node().address4().getHostAddress() + ":" + nodePort,
                    new InetSocketAddress(lab.node().address4(), nodePort));
            }
            if ("LoadBalancer".equals(service.getSpec().getType()))
            {
                final InetAddress ingress = address(service.getStatus().getLoadBalancer().getIngress().get(0).getIp());
                targets.put(name + " LoadBalancer " + ingress.getHostAddress() + ":80",
                    new InetSocketAddress(ingress, 80));
            }
        }
        return targets;
    }

    private static void await(final Host client, final Iterable<InetSocketAddress> targets)
    {
        final long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        for (final InetSocketAddress target : targets)
        {
            while (true)
            {
                try
                {
                    Requests.tcp(client, target, Duration.ofMillis(500));
                    break;
                }
                catch (final UncheckedIOException ex)
                {
                    if (System.nanoTime() > deadline)
                    {
                        throw new IllegalStateException(target + " never answered: " + ex.getMessage(), ex);
                    }
                    AgentProcess.sleep(100);
                }
            }
        }
    }

    private static InetAddress address(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal);
        }
        catch (final java.net.UnknownHostException ex)
        {
            throw new IllegalArgumentException(literal, ex);
        }
    }

    private static synchronized void closeAll(final List<AutoCloseable> resources, final LabNetwork lab,
        final Path work, final Path pins, final Path aeron)
    {
        for (final AutoCloseable resource : resources)
        {
            try
            {
                resource.close();
            }
            catch (final Exception ignore)
            {
                // best effort: the rest must still go
            }
        }
        resources.clear();
        lab.close();
        for (final Path path : List.of(pins, aeron, work))
        {
            try
            {
                LabFiles.deleteTree(path);
            }
            catch (final UncheckedIOException ex)
            {
                System.err.println("demo: " + ex.getMessage());
            }
        }
    }

}
