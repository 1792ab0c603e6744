package io.switchboard.agent;

import io.fabric8.kubernetes.api.model.Service;
import io.switchboard.cli.SwitchboardCommand;
import io.switchboard.demo.DemoCommand;
import io.switchboard.model.Cidr;
import io.switchboard.model.NodePortRange;
import io.switchboard.model.ServiceAllocator;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static io.switchboard.agent.Await.await;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * LoadBalancer addresses on bare metal, with a real agent process: the lesson's {@code lb-svc.yaml},
 * applied unchanged, gets an address from an {@code --lb-ip-pool} inside the client–node segment, and
 * the client reaches it with no route for it because the node answers ARP (and NDP, for an IPv6
 * Service) for it -- a plain client, with no program on its end, so on this veth the answers go by the tc
 * path the agent chooses there; after SIGKILL and a restart the address is the same and still answers. A full pool
 * leaves a Service pending, and {@code get services} says why.
 */
@KernelTest
class LoadBalancerPoolTest
{
    private static final String POOL4 = "198.18.0.240/28";
    private static final String POOL6 = "fd00:18::f0/124";
    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-lb-test");
    private Path agentPins;

    @Test
    void theSeedLoadBalancerGetsAPoolAddressOnTheSegmentReachableWithoutARouteAndKeepsItAcrossARestart(
        @Pods(2) final LabNetwork network, final PinDirectory pins) throws Exception
    {
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
        }
        final Path manifests = Files.createDirectories(directories.work().resolve("manifests"));
        DemoCommand.writeManifests(network, manifests);
        Files.writeString(manifests.resolve("web-v6.yaml"), ipv6LoadBalancer(network));
        final Host node = network.node();
        final Host client = network.client();
        agentPins = pins.resolve("agent");
        final List<String> arguments = List.of("--node-name", DemoCommand.NODE, "--node-ip", "198.18.0.1",
            "--xdp-iface", "ext0", "--bpffs-dir", agentPins.toString(),
            "--aeron-dir", directories.aeron().toString(), "--state-dir", directories.work().resolve("state").toString(),
            "--manifests", manifests.toString(), "--lb-ip-pool", POOL4, "--lb-ip-pool", POOL6,
            "--metrics-address", "off");

        final InetAddress lb4;
        final InetAddress lb6;
        try (AgentProcess agent = AgentProcess.start(node, arguments))
        {
            lb4 = await(() -> loadBalancerAddress("default/web-lb:80"), a -> null != a);
            lb6 = await(() -> loadBalancerAddress("default/web-v6:80"), a -> null != a);
            assertThat(Cidr.parse(POOL4).contains(lb4)).as(lb4.toString()).isTrue();
            assertThat(Cidr.parse(POOL6).contains(lb6)).as(lb6.toString()).isTrue();
            // the same address every node computes from the Service's name
            assertThat(lb4).isEqualTo(expectedAddress());

            assertThat(client.exec("ip", "-d", "link", "show", client.interfaceName())).doesNotContain("xdp");
            for (final InetAddress lb : List.of(lb4, lb6))
            {
                assertThat(client.exec("ip", "neigh", "show", lb.getHostAddress())).as("no neighbour entry yet").isBlank();
                assertThat(client.exec("ip", "route", "get", lb.getHostAddress())).as("on-link, no route for it")
                    .doesNotContain(" via ");
                assertPodsAnswer(client, new InetSocketAddress(lb, 80));
                assertThat(client.exec("ip", "neigh", "show", lb.getHostAddress(), "dev", client.interfaceName()))
                    .as("the client learnt the node's MAC for " + lb).contains(mac(node));
            }
            assertThat(get("services")).anySatisfy(line -> assertThat(line).startsWith("default/web-lb:80")
                .contains(lb4.getHostAddress() + ":80/TCP", ",LB,ANNOUNCED"));
            assertThat(get("stats")).anySatisfy(line -> assertThat(line).matches("ext0\\s+\\d+\\s+tc\\s*"))
                .anySatisfy(line -> assertThat(line).matches("neigh_answered\\s+[1-9]\\d*\\s*"))
                .anySatisfy(line -> assertThat(line).matches("reply_tc\\s+[1-9]\\d*\\s*"));
            agent.kill();
        }
        for (final InetAddress lb : List.of(lb4, lb6))
        {
            client.exec("ip", "neigh", "flush", "to", lb.getHostAddress());
        }
        try (AgentProcess restarted = AgentProcess.start(node, arguments))
        {
            restarted.awaitOutput("agent ready", 30);
            assertThat(await(() -> loadBalancerAddress("default/web-lb:80"), a -> null != a)).isEqualTo(lb4);
            assertThat(await(() -> loadBalancerAddress("default/web-v6:80"), a -> null != a)).isEqualTo(lb6);
            for (final InetAddress lb : List.of(lb4, lb6))
            {
                assertPodsAnswer(client, new InetSocketAddress(lb, 80));
            }
        }
    }

    @Test
    void aFullPoolLeavesTheServicePendingAndGetServicesSaysWhy(@Pods(1) final LabNetwork network,
        final PinDirectory pins) throws Exception
    {
        final Path manifests = Files.createDirectories(directories.work().resolve("manifests"));
        DemoCommand.writeManifests(network, manifests);
        Files.writeString(manifests.resolve("squatter.yaml"), """
            apiVersion: v1
            kind: Service
            metadata: {name: squatter}
            spec:
              type: LoadBalancer
              ports: [{protocol: TCP, port: 80, targetPort: 8080}]
            """);
        // a /31 pool holds one address: the seed's web-lb and the squatter cannot both have it
        agentPins = pins.resolve("agent");
        try (AgentProcess agent = AgentProcess.start(network.node(), List.of("--node-name", DemoCommand.NODE,
            "--xdp-iface", "ext0", "--bpffs-dir", agentPins.toString(),
            "--aeron-dir", directories.aeron().toString(), "--state-dir", directories.work().resolve("state").toString(),
            "--manifests", manifests.toString(), "--lb-ip-pool", "198.18.0.250/31", "--metrics-address", "off")))
        {
            final List<String> lines = await(() -> get("services"),
                l -> l.stream().anyMatch(line -> line.contains("<pending>")));
            assertThat(lines.getFirst()).contains("REASON");
            assertThat(lines).filteredOn(line -> line.contains("<pending>:80/TCP")).singleElement()
                .satisfies(line -> assertThat(line).contains("PoolExhausted: every address of the IPv4 --lb-ip-pool " +
                    "(198.18.0.250/31) is taken"));
            // the pending row can be read before the agent's log line is: wait for it
            agent.awaitOutput("no LoadBalancer address, stays pending: PoolExhausted", 10);
        }
    }

    private void assertPodsAnswer(final Host client, final InetSocketAddress target)
    {
        await(() -> tryTcp(client, target), answer -> null != answer);
        final Set<String> pods = new HashSet<>();
        for (int i = 0; i < 20; i++)
        {
            pods.add(Requests.tcp(client, target, Duration.ofSeconds(2)).pod());
        }
        assertThat(pods).as(target.toString()).containsExactlyInAnyOrder("pod-0", "pod-1");
    }

    /** What any node computes for the seed lb-svc.yaml: the allocation is derived from the name. */
    private static InetAddress expectedAddress() throws IOException
    {
        final Service seed = new io.fabric8.kubernetes.client.utils.KubernetesSerialization().unmarshal(
            DemoCommand.class.getResourceAsStream("/demo/lb-svc.yaml"), Service.class);
        final Service completed = new ServiceAllocator(Cidr.parse("10.96.0.0/12"), NodePortRange.DEFAULT,
            List.of(Cidr.parse(POOL4), Cidr.parse(POOL6))).complete(seed);
        return InetAddress.getByName(completed.getStatus().getLoadBalancer().getIngress().getFirst().getIp());
    }

    /** The LB address `get services` shows for {@code name}, or null while there is none. */
    private InetAddress loadBalancerAddress(final String name)
    {
        return get("services").stream()
            .filter(line -> line.startsWith(name + " ") && line.contains(",LB") && !line.contains("<pending>"))
            .map(line -> line.split("\\s+")[1])
            .map(frontend -> frontend.substring(0, frontend.lastIndexOf(':')).replace("[", "").replace("]", ""))
            .map(LoadBalancerPoolTest::address).findFirst().orElse(null);
    }

    /** `switchboard get`: it reads only the pins and the state directory, so it needs no namespace. */
    private List<String> get(final String what)
    {
        final StringWriter out = new StringWriter();
        final CommandLine commandLine = new CommandLine(new SwitchboardCommand());
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(new StringWriter(), true));
        commandLine.execute("get", what, "--agent", "off", "--bpffs-dir", agentPins.toString(), "--state-dir",
            directories.work().resolve("state").toString());
        return out.toString().lines().toList();
    }

    private static String mac(final Host node)
    {
        final String link = node.exec("ip", "-o", "link", "show", "ext0");
        final int at = link.indexOf("link/ether ");
        return link.substring(at + "link/ether ".length(), at + "link/ether ".length() + 17);
    }

    /** A Service of family IPv6 only (the seed is single-stack IPv4), its endpoints the pods' IPv6 addresses. */
    private static String ipv6LoadBalancer(final LabNetwork network)
    {
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: web-v6}
            spec:
              type: LoadBalancer
              clusterIP: fd00:96::80
              ipFamilies: [IPv6]
              ports: [{protocol: TCP, port: 80, targetPort: 8080}]
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-v6-1
              labels: {kubernetes.io/service-name: web-v6}
            addressType: IPv6
            ports: [{protocol: TCP, port: 8080}]
            endpoints:
            - {addresses: ["%s"], nodeName: %s, conditions: {ready: true}}
            - {addresses: ["%s"], nodeName: %s, conditions: {ready: true}}
            """.formatted(network.pod(0).address6().getHostAddress(), DemoCommand.NODE,
            network.pod(1).address6().getHostAddress(), DemoCommand.NODE);
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
}
