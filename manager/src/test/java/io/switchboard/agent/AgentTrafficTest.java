package io.switchboard.agent;

import io.switchboard.datapath.DatapathReader;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabFiles;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** The agent as operators run it: its own process in the node, following a manifests directory. */
@KernelTest
class AgentTrafficTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-agent-test");
    private boolean affinity;

    @Test
    void aNodePortAndAClusterIpAnswerFromEveryPodWithTheServiceAsPeer(@Pods(3) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        for (int i = 0; i < 3; i++)
        {
            network.startServer(i, 8080);
        }
        writeManifests(List.of(0, 1, 2));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
            try
            {
                awaitAnswer(network, nodePort, agent);
            }
            catch (final AssertionError ex)
            {
                for (final String map : List.of("sb_stats", "sb_svc_stats", "sb_services", "sb_backends", "sb_ct"))
                {
                    System.err.println("DEBUG " + map + ": " + io.switchboard.netns.Shell.tryRun("bpftool", "-j", "map",
                        "dump", "pinned", pins.resolve("agent/maps/" + map).toString()).output());
                }
                System.err.println("DEBUG tc: " + network.node().tryExec("tc", "filter", "show", "dev", "pod0", "ingress").output());
                throw ex;
            }

            // TCP answering says nothing of the UDP port: the agent programs service ports one after another
            awaitFrontend(pins, network.node().address4(), 30080, 17);

            final Set<String> seenTcp = new HashSet<>();
            final Set<String> seenUdp = new HashSet<>();
            for (int i = 0; i < 40; i++)
            {
                final Requests.Answer tcp = Requests.tcp(network.client(), nodePort, TIMEOUT);
                assertThat(tcp.peer()).isEqualTo(nodePort);
                assertThat(tcp.callerSeenByPod()).as("client address preserved").isEqualTo(network.client().address4());
                seenTcp.add(tcp.pod());
                final Requests.Answer udp = Requests.udp(network.client(), nodePort, TIMEOUT, 2);
                assertThat(udp.peer()).as("the UDP reply comes from the NodePort").isEqualTo(nodePort);
                seenUdp.add(udp.pod());
            }
            assertThat(seenTcp).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
            assertThat(seenUdp).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");

            // closed by default, as kube-proxy: metrics on the node's loopback, /healthz for everyone on 10256
            assertThat(httpGet(network.client(), "http://198.18.0.1:10256/healthz")).startsWith("200 ");
            assertThat(httpGet(network.client(), "http://198.18.0.1:10249/metrics")).startsWith("refused");
            assertThat(httpGet(network.node(), "http://127.0.0.1:10249/metrics")).startsWith("200 ")
                .contains("switchboard_updates_applied_total");

            // a process on the node, in the hooked cgroup, reaching the ClusterIP through the socket hooks
            final Process onNode = cgroup.start(network.node(), "bash", "-c",
                "for i in $(seq 1 30); do exec 3<>/dev/tcp/10.96.0.10/80; head -1 <&3; exec 3<&-; done");
            final String lines = new String(onNode.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(onNode.waitFor()).as(lines).isZero();
            assertThat(lines.lines().map(line -> line.split(" ")[0]).distinct())
                .containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
        }
    }

    @Test
    void trafficSurvivesSigkillAndRestartWhileBackendsChangeAndNeverReachesARemovedOne(
        @Pods(3) final LabNetwork network, final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        for (int i = 0; i < 3; i++)
        {
            network.startServer(i, 8080);
        }
        writeManifests(List.of(0, 1, 2));
        final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
        final Map<String, AtomicInteger> answers = new ConcurrentHashMap<>();
        final List<String> failures = new ArrayList<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final Set<String> forbidden = ConcurrentHashMap.newKeySet();
        final List<String> forbiddenHits = new ArrayList<>();

        AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup));
        try
        {
            awaitAnswer(network, nodePort, agent);
            final Thread client = Thread.ofPlatform().start(() ->
            {
                while (running.get())
                {
                    try
                    {
                        final String pod = Requests.tcp(network.client(), nodePort, TIMEOUT).pod();
                        answers.computeIfAbsent(pod, p -> new AtomicInteger()).incrementAndGet();
                        if (forbidden.contains(pod))
                        {
                            synchronized (forbiddenHits)
                            {
                                forbiddenHits.add(pod);
                            }
                        }
                    }
                    catch (final RuntimeException ex)
                    {
                        synchronized (failures)
                        {
                            failures.add(ex.toString());
                        }
                    }
                }
            });

            AgentProcess.sleep(500);
            agent.kill();
            AgentProcess.sleep(1000); // no agent at all: the pinned datapath keeps serving
            final int duringOutage = answers.values().stream().mapToInt(AtomicInteger::get).sum();
            agent = AgentProcess.start(network.node(), arguments(pins, cgroup));
            assertThat(agent.output()).anyMatch(line -> line.contains("adopted pinned datapath state"));

            writeManifests(List.of(0, 1)); // pod-2 leaves the service
            awaitBackends(network, nodePort, Set.of("pod-0", "pod-1"));
            forbidden.add("pod-2");
            AgentProcess.sleep(1000);

            agent.kill();
            writeManifests(List.of(0, 1, 2)); // changed while no agent runs
            agent = AgentProcess.start(network.node(), arguments(pins, cgroup));
            forbidden.clear();
            awaitBackends(network, nodePort, Set.of("pod-0", "pod-1", "pod-2"));
            AgentProcess.sleep(500);
            running.set(false);
            client.join();

            assertThat(duringOutage).as("requests answered before and while no agent ran").isPositive();
            assertThat(failures).as("no request to a surviving backend fails").isEmpty();
            assertThat(forbiddenHits).as("no request reached pod-2 after it was removed").isEmpty();
            assertThat(answers.keySet()).containsExactlyInAnyOrder("pod-0", "pod-1", "pod-2");
        }
        finally
        {
            running.set(false);
            agent.close();
        }
    }

    @Test
    void sigtermEndsTheAgentPromptlyAndLeavesTheDatapathServingForTheNextAgent(@Pods(2) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
        }
        writeManifests(List.of(0, 1));
        final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            awaitAnswer(network, nodePort, agent);
            // a pod's grace period is 30 s; before the fix the JVM waited 10 s for a barrier never closed
            final Optional<Duration> exit = agent.terminate(Duration.ofSeconds(8));
            assertThat(exit).as("the agent exits on SIGTERM; it said:\n" + String.join("\n", agent.output()))
                .isPresent();
            assertThat(exit.get()).as("time from SIGTERM to exit").isLessThan(Duration.ofSeconds(5));
        }
        assertThat(Requests.tcp(network.client(), nodePort, TIMEOUT).pod()).as("served with no agent running")
            .isIn("pod-0", "pod-1");
        try (AgentProcess next = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            assertThat(next.output()).anyMatch(line -> line.contains("adopted pinned datapath state"));
            awaitAnswer(network, nodePort, next);
        }
    }

    @Test
    void clientIpAffinityHoldsOnThePacketPathAndOnTheSocketPath(@Pods(3) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        for (int i = 0; i < 3; i++)
        {
            network.startServer(i, 8080);
        }
        affinity = true;
        writeManifests(List.of(0, 1, 2));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
            awaitAnswer(network, nodePort, agent);

            final Set<String> throughXdp = new HashSet<>();
            for (int i = 0; i < 20; i++)
            {
                throughXdp.add(Requests.tcp(network.client(), nodePort, TIMEOUT).pod());
            }
            final Process onNode = cgroup.start(network.node(), "bash", "-c",
                "for i in $(seq 1 20); do exec 3<>/dev/tcp/10.96.0.10/80; head -1 <&3; exec 3<&-; done");
            final String lines = new String(onNode.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            assertThat(onNode.waitFor()).as(lines).isZero();

            assertThat(throughXdp).as("20 connections from one client address, one backend").hasSize(1);
            assertThat(lines.lines().map(line -> line.split(" ")[0]).distinct())
                .as("20 connections through the socket hooks, one backend").hasSize(1);
        }
    }

    /** "STATUS BODY" of a GET from inside {@code host}'s namespace, or "refused" when nothing listens. */
    static String httpGet(final Host host, final String url)
    {
        return host.call(() ->
        {
            try (HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build())
            {
                final HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(url))
                    .timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
                return response.statusCode() + " " + response.body();
            }
            catch (final ConnectException ex)
            {
                return "refused";
            }
        });
    }

    private List<String> arguments(final PinDirectory pins, final TestCgroup cgroup)
    {
        return List.of("--node-name", "node-a", "--node-ip", "198.18.0.1", "--xdp-iface", "ext0",
            "--cgroup", cgroup.path().toString(),
            "--bpffs-dir", pins.resolve("agent").toString(),
            "--aeron-dir", directories.aeron().toString(),
            "--state-dir", directories.work().resolve("state").toString(),
            "--manifests", directories.work().resolve("manifests").toString());
    }

    /** Requests until exactly {@code pods} answer, proving the agent applied the last change. */
    private static void awaitBackends(final LabNetwork network, final InetSocketAddress target, final Set<String> pods)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(20)).toNanos();
        while (System.nanoTime() < deadline)
        {
            final Set<String> seen = new HashSet<>();
            for (int i = 0; i < 30; i++)
            {
                seen.add(Requests.tcp(network.client(), target, TIMEOUT).pod());
            }
            if (seen.equals(pods))
            {
                return;
            }
            AgentProcess.sleep(100);
        }
        throw new AssertionError("the service never answered from exactly " + pods);
    }

    /**
     * Waits until the agent has written the frontend into {@code sb_services}: the datapath translates it from
     * then on. Until then a datagram to a NodePort meets the node's own stack, which has no socket there and
     * answers ICMP port unreachable, which an unconnected client socket never sees.
     */
    static void awaitFrontend(final PinDirectory pins, final InetAddress address, final int port, final int protocol)
    {
        Await.await(() ->
        {
            try (DatapathReader reader = DatapathReader.pinned(pins.resolve("agent")))
            {
                return reader.services().stream().anyMatch(entry -> entry.address().equals(address) &&
                    entry.port() == port && entry.protocol() == protocol);
            }
        }, programmed -> programmed);
    }

    private static void awaitAnswer(final LabNetwork network, final InetSocketAddress target, final AgentProcess agent)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(20)).toNanos();
        RuntimeException last = null;
        while (System.nanoTime() < deadline)
        {
            try
            {
                Requests.tcp(network.client(), target, Duration.ofMillis(500));
                return;
            }
            catch (final RuntimeException ex)
            {
                last = ex;
                AgentProcess.sleep(100);
            }
        }
        throw new AssertionError("the service never answered; agent said:\n" + String.join("\n", agent.output()), last);
    }

    private void writeManifests(final List<Integer> pods) throws IOException
    {
        LabFiles.replace(directories.manifests().resolve("web.yaml"), webManifests(pods, affinity));
    }

    /**
     * The Service {@code default/web} (ClusterIP 10.96.0.10:80, NodePort 30080, TCP and UDP, to port 8080) and its
     * EndpointSlice with the lab pods {@code pods} on node-a, ready; with ClientIP affinity if {@code affinity}.
     */
    static String webManifests(final List<Integer> pods, final boolean affinity)
    {
        final StringBuilder endpoints = new StringBuilder();
        for (final int pod : pods)
        {
            endpoints.append("""
                  - addresses: ["198.19.0.%d"]
                    nodeName: node-a
                    conditions: {ready: true, serving: true, terminating: false}
                """.formatted(10 + pod));
        }
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              type: NodePort
              sessionAffinity: %s
              clusterIP: 10.96.0.10
              clusterIPs: [10.96.0.10]
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30080}
              - {name: dns, protocol: UDP, port: 80, targetPort: 8080, nodePort: 30080}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-1
              namespace: default
              labels: {kubernetes.io/service-name: web}
            addressType: IPv4
            ports:
            - {name: http, protocol: TCP, port: 8080}
            - {name: dns, protocol: UDP, port: 8080}
            endpoints:
            """.formatted(affinity ? "ClientIP" : "None") + endpoints;
    }
}
