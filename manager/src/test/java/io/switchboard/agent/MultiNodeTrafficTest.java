package io.switchboard.agent;

import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathReader;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabCluster;
import io.switchboard.netns.PodServer;
import io.switchboard.netns.Requests;
import io.switchboard.testing.Cluster;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Two nodes of a {@link LabCluster}, each with its own agent following the same manifests: traffic
 * policies per node with real TCP and UDP, as kube-proxy's e2e tests check them
 * ({@code shared/reference/kube-proxy.md} §2, cases 31–38), the same Maglev choice on every node, and
 * a node's agent restart leaving every flow alone. Pods come as Pod manifests (node name, addresses,
 * Ready, {@code deletionTimestamp}); the agents' endpoints controller derives the slices.
 */
@KernelTest
class MultiNodeTrafficTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    /** How long a request waits for the answer a drop must never give. */
    private static final Duration DROP_WAIT = Duration.ofSeconds(1);
    private static final int TCP = 6;
    private static final int UDP = 17;
    private static final int TARGET = 8080;

    @Test
    void externalTrafficPolicyLocalIsServedOnlyByTheNodesOwnPodsWithTheClientAddressAndANodeWithoutOneDropsAndAnswers503(
        @Cluster(nodes = 2, podsPerNode = 2) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(0, 0, TARGET);
        cluster.startServer(0, 1, TARGET);
        cluster.startServer(1, 0, TARGET); // on node1 but not in the Service: node1 has no local endpoint
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("etp-local", "LoadBalancer", "10.96.0.20", "fd00:96::20", "Cluster", "Local", 30080, 32000,
                "203.0.113.20") +
            pod(cluster, 0, 0, false, "etp-local") + pod(cluster, 0, 1, false, "etp-local") + pod(cluster, 1, 0, false))
            .startAll();
        final Host client = cluster.client();
        final Host node0 = cluster.node(0);
        final Host node1 = cluster.node(1);
        awaitTcp(client, new InetSocketAddress(node0.address4(), 30080), agents);
        awaitFrontends(agents, 0, 30080, node0.address4(), node0.address6());

        final Set<String> served = new HashSet<>();
        for (int i = 0; i < 20; i++)
        {
            for (final InetAddress node : List.of(node0.address4(), node0.address6()))
            {
                final InetSocketAddress nodePort = new InetSocketAddress(node, 30080);
                final InetAddress clientAddress = node instanceof Inet4Address ? client.address4() : client.address6();
                final Requests.Answer tcp = Requests.tcp(client, nodePort, TIMEOUT);
                final Requests.Answer udp = Requests.udp(client, nodePort, TIMEOUT, 2);
                assertThat(tcp.peer()).isEqualTo(nodePort);
                assertThat(udp.peer()).isEqualTo(nodePort);
                assertThat(tcp.callerSeenByPod()).as("client address preserved").isEqualTo(clientAddress);
                assertThat(udp.callerSeenByPod()).as("client address preserved").isEqualTo(clientAddress);
                served.add(tcp.pod());
                served.add(udp.pod());
            }
        }
        assertThat(served).containsExactlyInAnyOrder("node0-pod0", "node0-pod1");

        awaitFrontend(agents, 1, node1.address4(), 30080, TCP);
        // else a datagram to node1 "is dropped" because node1's stack has no socket there, whatever the datapath does
        awaitFrontends(agents, 1, 30080, node1.address4(), node1.address6());
        for (final InetAddress node : List.of(node1.address4(), node1.address6()))
        {
            final InetSocketAddress nodePort = new InetSocketAddress(node, 30080);
            assertDropped(() -> Requests.tcp(client, nodePort, DROP_WAIT));
            assertDropped(() -> Requests.udp(client, nodePort, DROP_WAIT));
        }
        try (DatapathReader reader = agents.reader(1))
        {
            final int svcId = frontend(reader, node1.address4(), 30080, TCP).svcId();
            assertThat(reader.serviceCounters(svcId)[6]).as("dropped_no_local on node1").isPositive();
        }

        // the LoadBalancer address as a cloud load balancer delivers it: to whichever node it picked
        final InetSocketAddress vip = new InetSocketAddress(address("203.0.113.20"), 80);
        client.exec("ip", "route", "add", "203.0.113.20/32", "via", LabCluster.nodeAddress4(0));
        assertThat(Requests.tcp(client, vip, TIMEOUT).pod()).startsWith("node0-");
        client.exec("ip", "route", "replace", "203.0.113.20/32", "via", LabCluster.nodeAddress4(1));
        assertDropped(() -> Requests.tcp(client, vip, DROP_WAIT));

        final HealthCheck healthy = awaitHealthCheck(client, node0, 32000, 200);
        final HealthCheck unhealthy = awaitHealthCheck(client, node1, 32000, 503);
        assertThat(healthy.body()).contains("\"service\":{\"namespace\":\"default\",\"name\":\"etp-local\"}")
            .contains("\"localEndpoints\":2").contains("\"serviceProxyHealthy\":true");
        assertThat(healthy.headers()).contains("X-load-balancing-endpoint-weight: 2");
        assertThat(unhealthy.body()).contains("\"localEndpoints\":0");
    }

    @Test
    void internalTrafficPolicyLocalReachesOnlySameNodeEndpointsFromPodsAndHostNetworkAndOtherNodesDrop(
        @Cluster(nodes = 2, podsPerNode = 2) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(0, 1, TARGET);
        // a hostNetwork pod on node0: its server listens in the node's own namespace, at the node's address
        cluster.closeWithCluster(PodServer.start(cluster.node(0), 8081));
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("itp-local", "ClusterIP", "10.96.0.31", null, "Local", "Cluster", 0, 0, null) +
            service("itp-local-host", "ClusterIP", "10.96.0.33", null, "Local", "Cluster", 0, 0, null)
                .replace("targetPort: 8080", "targetPort: 8081") +
            pod(cluster, 0, 1, false, "itp-local") + hostNetworkPod(cluster, 0, "itp-local-host"))
            .startAll();
        final Host node0Pod = cluster.pod(0, 0);
        final Host node1Pod = cluster.pod(1, 0);
        awaitFrontend(agents, 1, address("10.96.0.31"), 80, TCP);
        awaitFrontend(agents, 1, address("10.96.0.33"), 80, TCP);
        awaitFrontends(agents, 0, 80, address("10.96.0.31"));
        awaitFrontends(agents, 1, 80, address("10.96.0.31"));
        awaitViaSocketHooks(agents, 0, node0Pod, "10.96.0.31");
        awaitViaSocketHooks(agents, 0, node0Pod, "10.96.0.33");

        // case 31, pod → pod: clients in their node's cgroup, as pods are under the root cgroup the agent hooks
        final HookAnswer tcp = viaSocketHooks(agents, 0, node0Pod, "tcp", "10.96.0.31", 80);
        final HookAnswer udp = viaSocketHooks(agents, 0, node0Pod, "udp", "10.96.0.31", 80);
        assertThat(tcp.answer()).startsWith("node0-pod1 " + node0Pod.address4().getHostAddress() + " ");
        assertThat(udp.answer()).startsWith("node0-pod1 " + node0Pod.address4().getHostAddress() + " ");
        assertThat(viaSocketHooks(agents, 1, node1Pod, "tcp", "10.96.0.31", 80).answered()).isFalse();
        assertThat(viaSocketHooks(agents, 1, node1Pod, "udp", "10.96.0.31", 80).answered()).isFalse();

        // case 32, hostNetwork client → pod
        assertThat(viaSocketHooks(agents, 0, cluster.node(0), "tcp", "10.96.0.31", 80).answer()).startsWith("node0-pod1 ");
        assertThat(viaSocketHooks(agents, 1, cluster.node(1), "tcp", "10.96.0.31", 80).answered()).isFalse();

        // case 33, pod and node → hostNetwork pod
        assertThat(viaSocketHooks(agents, 0, node0Pod, "tcp", "10.96.0.33", 80).answer()).startsWith("node0 ");
        assertThat(viaSocketHooks(agents, 0, cluster.node(0), "tcp", "10.96.0.33", 80).answer()).startsWith("node0 ");
        assertThat(viaSocketHooks(agents, 1, node1Pod, "tcp", "10.96.0.33", 80).answered()).isFalse();
        assertThat(viaSocketHooks(agents, 1, cluster.node(1), "tcp", "10.96.0.33", 80).answered()).isFalse();
    }

    @Test
    void withOnlyATerminatingEndpointEachPolicyFallsBackPerNodeAsKubeProxyDoesAndTheHealthCheckFails(
        @Cluster(nodes = 2, podsPerNode = 2) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(0, 1, TARGET);
        final String services =
            service("hc", "LoadBalancer", "10.96.0.34", null, "Cluster", "Local", 30034, 32034, null) +
            service("itp-cluster", "ClusterIP", "10.96.0.35", null, "Cluster", "Cluster", 0, 0, null) +
            service("itp-local", "ClusterIP", "10.96.0.36", null, "Local", "Cluster", 0, 0, null) +
            service("etp-cluster", "NodePort", "10.96.0.37", null, "Cluster", "Cluster", 30037, 0, null) +
            service("etp-local", "NodePort", "10.96.0.38", null, "Cluster", "Local", 30038, 0, null);
        final String[] all = {"hc", "itp-cluster", "itp-local", "etp-cluster", "etp-local"};
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup)
            .manifests(services + pod(cluster, 0, 1, false, all))
            .startAll();
        final Host client = cluster.client();
        final Host node0Pod = cluster.pod(0, 0);
        final Host node1Pod = cluster.pod(1, 0);
        awaitTcp(client, new InetSocketAddress(cluster.node(0).address4(), 30034), agents);
        awaitHealthCheck(client, cluster.node(0), 32034, 200);

        // the only endpoint starts terminating (deletionTimestamp set, still Ready: serving); a Service
        // listed after it shows when each agent has applied the change (manifests are applied in order)
        agents.manifests(services + pod(cluster, 0, 1, true, all) +
            service("applied", "ClusterIP", "10.96.0.39", null, "Cluster", "Cluster", 0, 0, null));
        awaitFrontend(agents, 0, address("10.96.0.39"), 80, TCP);
        awaitFrontend(agents, 1, address("10.96.0.39"), 80, TCP);

        // case 34: the health check fails at once, while the NodePort still serves the terminating endpoint
        final HealthCheck failing = awaitHealthCheck(client, cluster.node(0), 32034, 503);
        assertThat(failing.body()).contains("\"localEndpoints\":0");
        assertThat(Requests.tcp(client, new InetSocketAddress(cluster.node(0).address4(), 30034), TIMEOUT).pod())
            .isEqualTo("node0-pod1");

        // case 35: internalTrafficPolicy Cluster falls back to the terminating endpoint on every node
        assertThat(viaSocketHooks(agents, 0, node0Pod, "tcp", "10.96.0.35", 80).answer()).startsWith("node0-pod1 ");
        assertThat(viaSocketHooks(agents, 1, node1Pod, "tcp", "10.96.0.35", 80).answer())
            .startsWith("node0-pod1 " + node1Pod.address4().getHostAddress() + " ");

        // case 36: internalTrafficPolicy Local falls back only to a local terminating endpoint
        assertThat(viaSocketHooks(agents, 0, node0Pod, "tcp", "10.96.0.36", 80).answer()).startsWith("node0-pod1 ");
        assertThat(viaSocketHooks(agents, 1, node1Pod, "tcp", "10.96.0.36", 80).answered()).isFalse();

        // case 37: externalTrafficPolicy Cluster, a pod on the other node and the client through node0's
        // NodePort (a pod on node0 itself is left out: the agent puts tc only on endpoints' veths, so a pod
        // that backs no Service reaches its own node's NodePort untranslated)
        final InetSocketAddress etpCluster = new InetSocketAddress(cluster.node(0).address4(), 30037);
        assertThat(Requests.tcp(node1Pod, etpCluster, TIMEOUT).pod()).isEqualTo("node0-pod1");
        assertThat(Requests.tcp(client, etpCluster, TIMEOUT).pod()).isEqualTo("node0-pod1");

        // case 38: externalTrafficPolicy Local, node0's NodePort serves its terminating endpoint, node1's drops
        assertThat(Requests.tcp(client, new InetSocketAddress(cluster.node(0).address4(), 30038), TIMEOUT).pod())
            .isEqualTo("node0-pod1");
        assertDropped(() -> Requests.tcp(client, new InetSocketAddress(cluster.node(1).address4(), 30038), DROP_WAIT));
    }

    @Test
    void everyNodeBuildsTheSameMaglevTableAndSendsTheSameFlowToTheSameBackend(
        @Cluster(nodes = 2, podsPerNode = 2) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        final List<PodServer> servers = new ArrayList<>();
        final StringBuilder pods = new StringBuilder();
        for (int node = 0; node < 2; node++)
        {
            for (int index = 0; index < 2; index++)
            {
                servers.add(cluster.startServer(node, index, TARGET));
                pods.append(pod(cluster, node, index, false, "spread"));
            }
        }
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("spread", "LoadBalancer", "10.96.0.40", null, "Cluster", "Cluster", 30040, 0, "203.0.113.40") +
            pods).startAll();
        final InetAddress vip = address("203.0.113.40");
        // every table read below, on both nodes, with all four pods: an agent programs a Service's ports one
        // by one, and the endpoints of pods as it derives them
        for (int node = 0; node < 2; node++)
        {
            for (final InetAddress frontend : List.of(address("10.96.0.40"), vip))
            {
                for (final int protocol : List.of(TCP, UDP))
                {
                    final int on = node;
                    awaitFrontend(agents, on, frontend, 80, protocol);
                    await(() -> 4 == new HashSet<>(table(agents, on, frontend, protocol)).size(),
                        "node" + on + " balancing " + frontend.getHostAddress() + " over the four pods");
                }
            }
        }

        for (final InetAddress frontend : List.of(address("10.96.0.40"), vip))
        {
            for (final int protocol : List.of(TCP, UDP))
            {
                final List<String> node0 = table(agents, 0, frontend, protocol);
                final List<String> node1 = table(agents, 1, frontend, protocol);
                assertThat(node0).as("%s/%d", frontend, protocol).isEqualTo(node1);
                assertThat(new HashSet<>(node0)).hasSize(4);
            }
        }

        // the same client tuple to the LoadBalancer address, delivered to node0 and then to node1: each
        // datagram reaches the same pod (counted where it arrives; a reply through node1 needs SNAT)
        final Host client = cluster.client();
        final Map<Integer, String> throughNode0 = new LinkedHashMap<>();
        final Map<Integer, String> throughNode1 = new LinkedHashMap<>();
        client.exec("ip", "route", "add", "203.0.113.40/32", "via", LabCluster.nodeAddress4(0));
        for (int port = 41000; port < 41016; port++)
        {
            throughNode0.put(port, receiver(client, servers, port, new InetSocketAddress(vip, 80)));
        }
        client.exec("ip", "route", "replace", "203.0.113.40/32", "via", LabCluster.nodeAddress4(1));
        for (int port = 41000; port < 41016; port++)
        {
            throughNode1.put(port, receiver(client, servers, port, new InetSocketAddress(vip, 80)));
        }
        assertThat(throughNode1).isEqualTo(throughNode0);
        assertThat(new HashSet<>(throughNode0.values())).as("16 flows spread over the pods").hasSizeGreaterThan(1);
    }

    @Test
    void killingAndRestartingOneNodesAgentLeavesLongLivedConnectionsThroughBothNodesUntouched(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
        throws Exception
    {
        cluster.closeWithCluster(new EchoServer(cluster.pod(0, 0), TARGET));
        cluster.closeWithCluster(new EchoServer(cluster.pod(1, 0), TARGET));
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("echo", "NodePort", "10.96.0.50", null, "Cluster", "Local", 30050, 0, null) +
            pod(cluster, 0, 0, false, "echo") + pod(cluster, 1, 0, false, "echo")).startAll();
        final Host client = cluster.client();
        final InetSocketAddress viaNode0 = new InetSocketAddress(cluster.node(0).address4(), 30050);
        final InetSocketAddress viaNode1 = new InetSocketAddress(cluster.node(1).address4(), 30050);
        awaitFrontend(agents, 0, viaNode0.getAddress(), 30050, TCP);
        awaitFrontend(agents, 1, viaNode1.getAddress(), 30050, TCP);

        final List<Conversation> conversations = List.of(converse(client, viaNode0), converse(client, viaNode1));
        final AtomicBoolean running = new AtomicBoolean(true);
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger exchanges = new AtomicInteger();
        final Thread talker = Thread.ofPlatform().start(() ->
        {
            int sequence = 0;
            while (running.get() && failures.isEmpty())
            {
                for (final Conversation conversation : conversations)
                {
                    try
                    {
                        conversation.exchange("line-" + sequence);
                        exchanges.incrementAndGet();
                    }
                    catch (final RuntimeException ex)
                    {
                        failures.add(conversation.target + ": " + ex);
                    }
                }
                sequence++;
                AgentProcess.sleep(20);
            }
        });
        try
        {
            awaitCount(exchanges, 20);
            agents.kill(1);
            final int beforeRestart = exchanges.get();
            awaitCount(exchanges, beforeRestart + 20);
            try (Conversation fresh = new Conversation(client, viaNode1))
            {
                fresh.exchange("while no agent runs");
                assertThat(fresh.servedBy).as("a new connection while no agent runs").isEqualTo(Set.of("node1-pod0"));
            }
            final AgentProcess restarted = agents.start(1);
            assertThat(restarted.output()).anyMatch(line -> line.contains("adopted pinned datapath state"));
            final int afterRestart = exchanges.get();
            awaitCount(exchanges, afterRestart + 40);
        }
        finally
        {
            running.set(false);
            talker.join();
            for (final Conversation conversation : conversations)
            {
                conversation.close();
            }
        }
        assertThat(failures).as("no exchange failed on either node's connection").isEmpty();
        assertThat(conversations.get(0).servedBy).isEqualTo(Set.of("node0-pod0"));
        assertThat(conversations.get(1).servedBy).isEqualTo(Set.of("node1-pod0"));
    }

    /**
     * An upgrade as a DaemonSet rolls it: both nodes run the previous release's agent (built from this repository's
     * history, {@link PreviousRelease}); then node 1's, later node 0's, gets SIGTERM and the current agent starts on
     * the pins its predecessor left. Meanwhile long-lived connections through both nodes' NodePorts keep exchanging
     * lines and a new connection is opened through each every round: none may fail, the long-lived ones keep their
     * pods, and each new agent says it adopted the pinned state. Then node 1 is rolled back to the previous release
     * the same way. The service's pods are on both nodes with
     * externalTrafficPolicy Cluster, so flows through a node to the other node's pod are source-translated and
     * their port claims must survive too.
     */
    @Test
    void upgradingEachNodesAgentFromThePreviousReleaseAndRollingOneBackUnderTrafficFailsNoRequest(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
        throws Exception
    {
        final Path previous = PreviousRelease.jar();
        final String refusal = PreviousRelease.kernelRefusal(previous);
        Assumptions.assumeTrue(refusal.isEmpty(), () -> "the previous release cannot run on this kernel (" + refusal +
            "), so nothing here can be upgraded from it; its upgrade is tested on kernels it runs on " +
            "(bin/test --kernel 6.1 --all)");
        cluster.closeWithCluster(new EchoServer(cluster.pod(0, 0), TARGET));
        cluster.closeWithCluster(new EchoServer(cluster.pod(1, 0), TARGET));
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).release(previous).manifests(
            service("echo", "NodePort", "10.96.0.50", null, "Cluster", "Cluster", 30050, 0, null) +
            pod(cluster, 0, 0, false, "echo") + pod(cluster, 1, 0, false, "echo")).startAll();
        final Host client = cluster.client();
        final List<InetSocketAddress> targets = List.of(new InetSocketAddress(cluster.node(0).address4(), 30050),
            new InetSocketAddress(cluster.node(1).address4(), 30050));
        awaitFrontend(agents, 0, targets.get(0).getAddress(), 30050, TCP);
        awaitFrontend(agents, 1, targets.get(1).getAddress(), 30050, TCP);

        final List<Conversation> conversations = new ArrayList<>();
        for (int i = 0; i < 3; i++)
        {
            for (final InetSocketAddress target : targets)
            {
                conversations.add(converse(client, target));
            }
        }
        final List<Set<String>> servedBefore = conversations.stream().map(c -> Set.copyOf(c.servedBy)).toList();
        final AtomicBoolean running = new AtomicBoolean(true);
        final List<String> failures = Collections.synchronizedList(new ArrayList<>());
        final AtomicInteger rounds = new AtomicInteger();
        final AtomicInteger fresh = new AtomicInteger();
        final Thread talker = Thread.ofPlatform().start(() ->
        {
            int sequence = 0;
            while (running.get() && failures.size() < 10)
            {
                for (final Conversation conversation : conversations)
                {
                    try
                    {
                        conversation.exchange("line-" + sequence);
                    }
                    catch (final RuntimeException ex)
                    {
                        failures.add("long-lived via " + conversation.target + ": " + ex);
                    }
                }
                for (final InetSocketAddress target : targets)
                {
                    try (Conversation once = new Conversation(client, target))
                    {
                        once.exchange("new-" + sequence);
                        fresh.incrementAndGet();
                    }
                    catch (final RuntimeException ex)
                    {
                        failures.add("new connection via " + target + ": " + ex);
                    }
                }
                sequence++;
                rounds.incrementAndGet();
                AgentProcess.sleep(10);
            }
        });
        try
        {
            awaitCount(rounds, 20);
            agents.release(null);
            for (final int node : new int[] {1, 0})
            {
                agents.terminate(node);
                final int whileStopped = rounds.get();
                awaitCount(rounds, whileStopped + 5);
                final AgentProcess upgraded = agents.start(node);
                assertThat(upgraded.output()).anyMatch(line -> line.contains("adopted pinned datapath state"));
                final int afterUpgrade = rounds.get();
                awaitCount(rounds, afterUpgrade + 30);
            }
            // and a rollback: node 1 back to the previous release, on the pins the current agent left
            agents.release(previous);
            agents.terminate(1);
            final AgentProcess rolledBack = agents.start(1);
            assertThat(rolledBack.output()).anyMatch(line -> line.contains("adopted pinned datapath state"));
            final int afterRollback = rounds.get();
            awaitCount(rounds, afterRollback + 30);
        }
        finally
        {
            running.set(false);
            talker.join();
            conversations.forEach(Conversation::close);
        }
        assertThat(failures).as("requests that failed during the upgrade").isEmpty();
        assertThat(fresh.get()).as("new connections made").isGreaterThan(2 * 90);
        assertThat(conversations.stream().map(c -> c.servedBy).toList()).as("every long-lived connection kept its pod")
            .isEqualTo(servedBefore);
    }

    @Test
    void aPodReachesItselfThroughItsOwnServicesClusterIpOverTheSocketHooksAndEveryNodeRefusesAServiceWithoutEndpoints(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(1, 0, TARGET);
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("hairpin", "ClusterIP", "10.96.0.60", null, "Cluster", "Cluster", 0, 0, null) +
            service("empty", "NodePort", "10.96.0.70", null, "Cluster", "Cluster", 30070, 0, null) +
            pod(cluster, 1, 0, false, "hairpin")).startAll();
        final Host pod = cluster.pod(1, 0);
        awaitFrontend(agents, 1, address("10.96.0.60"), 80, TCP);
        awaitFrontends(agents, 1, 80, address("10.96.0.60"));

        final HookAnswer tcp = viaSocketHooks(agents, 1, pod, "tcp", "10.96.0.60", 80);
        final HookAnswer udp = viaSocketHooks(agents, 1, pod, "udp", "10.96.0.60", 80);

        assertThat(tcp.answer()).startsWith("node1-pod0 " + pod.address4().getHostAddress() + " ");
        assertThat(udp.answer()).startsWith("node1-pod0 " + pod.address4().getHostAddress() + " ");
        // the refusal leaves ext0 (a veth) by the tc path: sb_xdp hands the SYN to sb_tc_from_ext, which
        // sends the RST back out; nothing runs on the client or on the bridge
        for (int node = 0; node < 2; node++)
        {
            awaitFrontend(agents, node, cluster.node(node).address4(), 30070, TCP);
            final InetSocketAddress nodePort = new InetSocketAddress(cluster.node(node).address4(), 30070);
            assertThatThrownBy(() -> Requests.tcp(cluster.client(), nodePort, TIMEOUT))
                .isInstanceOf(UncheckedIOException.class).hasCauseInstanceOf(ConnectException.class);
            try (DatapathReader reader = agents.reader(node))
            {
                assertThat(reader.serviceCounters(frontend(reader, nodePort.getAddress(), 30070, TCP).svcId())[5])
                    .as("refused by node%d's datapath, not its kernel", node).isPositive();
                assertThat(reader.globalCounters()[List.of(DatapathAbi.GLOBAL_COUNTERS).indexOf("reply_tc")])
                    .as("node%d's RST sent by sb_tc_from_ext", node).isPositive();
            }
        }
    }

    @Test
    void aNodePortWhoseOnlyPodIsOnTheOtherNodeAnswersThroughBothNodesAndThatPodSeesTheForwardingNode(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(1, 0, TARGET);
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("remote", "NodePort", "10.96.0.72", "fd00:96::72", "Cluster", "Cluster", 30072, 0, null) +
            pod(cluster, 1, 0, false, "remote")).startAll();
        final Host client = cluster.client();
        awaitTcp(client, new InetSocketAddress(cluster.node(0).address4(), 30072), agents);
        awaitFrontend(agents, 1, cluster.node(1).address6(), 30072, UDP);
        awaitFrontends(agents, 0, 30072, cluster.node(0).address4(), cluster.node(0).address6());
        awaitFrontends(agents, 1, 30072, cluster.node(1).address4(), cluster.node(1).address6());

        for (int i = 0; i < 10; i++)
        {
            for (int node = 0; node < 2; node++)
            {
                final Host through = cluster.node(node);
                for (final boolean ipv4 : List.of(true, false))
                {
                    final InetSocketAddress nodePort =
                        new InetSocketAddress(ipv4 ? through.address4() : through.address6(), 30072);
                    // through node0 the flow is translated to node0's address (kube-proxy's masquerade);
                    // node1 holds the pod, so the client's address is kept
                    final InetAddress caller = 0 == node ? (ipv4 ? through.address4() : through.address6())
                        : (ipv4 ? client.address4() : client.address6());
                    final String what = "through node" + node + (ipv4 ? " IPv4" : " IPv6");
                    final Requests.Answer tcp = request(() -> Requests.tcp(client, nodePort, TIMEOUT), "TCP " + what,
                        agents);
                    final Requests.Answer udp = request(() -> Requests.udp(client, nodePort, TIMEOUT, 2), "UDP " + what,
                        agents);
                    assertThat(tcp.pod()).isEqualTo("node1-pod0");
                    assertThat(udp.pod()).isEqualTo("node1-pod0");
                    assertThat(tcp.peer()).as("the TCP answer comes from the NodePort").isEqualTo(nodePort);
                    assertThat(udp.peer()).as("the UDP answer comes from the NodePort").isEqualTo(nodePort);
                    assertThat(tcp.callerSeenByPod()).as("TCP through node%d", node).isEqualTo(caller);
                    assertThat(udp.callerSeenByPod()).as("UDP through node%d", node).isEqualTo(caller);
                }
            }
        }
        try (DatapathReader reader = agents.reader(0))
        {
            final int reversed = Arrays.asList(DatapathAbi.GLOBAL_COUNTERS)
                .indexOf("snat_reversed");
            assertThat(reader.globalCounters()[reversed]).as("replies translated back on node0").isPositive();
        }
    }

    @Test
    void aPodBalancedToItselfOnThePacketPathGetsItsAnswerThroughTheNode(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster, final PinDirectory pins, final TestCgroup cgroup)
    {
        cluster.startServer(0, 0, TARGET);
        final ClusterAgents agents = new ClusterAgents(cluster, pins, cgroup).manifests(
            service("self", "NodePort", "10.96.0.71", null, "Cluster", "Cluster", 30071, 0, null) +
            pod(cluster, 0, 0, false, "self")).startAll();
        final Host pod = cluster.pod(0, 0);
        awaitFrontend(agents, 0, address("10.96.0.71"), 80, TCP);
        awaitFrontend(agents, 0, address("10.96.0.71"), 80, UDP);
        awaitFrontend(agents, 0, cluster.node(0).address4(), 30071, UDP);

        // outside the node's cgroup: no socket hook, the pod's packets meet sb_tc_from_pod
        for (final InetSocketAddress frontend : List.of(new InetSocketAddress(address("10.96.0.71"), 80),
            new InetSocketAddress(cluster.node(0).address4(), 30071)))
        {
            await(() -> answers(pod, frontend), "hairpin to " + frontend);
            final Requests.Answer tcp = Requests.tcp(pod, frontend, TIMEOUT);
            // a datagram has no retransmission: on this shared machine one may be late, so up to three tries
            final Requests.Answer udp = Requests.udp(pod, frontend, TIMEOUT, 3);
            assertThat(tcp.pod()).isEqualTo("node0-pod0");
            assertThat(udp.pod()).isEqualTo("node0-pod0");
            assertThat(tcp.peer()).isEqualTo(frontend);
            assertThat(udp.peer()).isEqualTo(frontend);
            assertThat(tcp.callerSeenByPod()).as("the pod is reached from its node").isEqualTo(cluster.node(0).address4());
        }
    }

    /** One request; its failure names what was asked and shows each node's datapath counters. */
    private static Requests.Answer request(final Supplier<Requests.Answer> request,
        final String what, final ClusterAgents agents)
    {
        try
        {
            return request.get();
        }
        catch (final RuntimeException ex)
        {
            final StringBuilder counters = new StringBuilder();
            for (int node = 0; node < 2; node++)
            {
                try (DatapathReader reader = agents.reader(node))
                {
                    final long[] global = reader.globalCounters();
                    counters.append("\nnode").append(node).append(':');
                    for (int i = 0; i < global.length; i++)
                    {
                        counters.append(' ').append(DatapathAbi.GLOBAL_COUNTERS[i]).append('=')
                            .append(global[i]);
                    }
                }
            }
            throw new AssertionError(what + " got no answer: " + ex + counters, ex);
        }
    }

    private static boolean answers(final Host from, final InetSocketAddress target)
    {
        try
        {
            Requests.tcp(from, target, TIMEOUT);
            return true;
        }
        catch (final RuntimeException ex)
        {
            return false;
        }
    }

    // ---- manifests ----

    /**
     * A Service selecting pods labelled {@code <name>: "yes"}, TCP and UDP port 80 → 8080 (and the
     * nodePort when not 0); dual-stack when {@code clusterIp6} is given.
     */
    private static String service(final String name, final String type, final String clusterIp, final String clusterIp6,
        final String internalPolicy, final String externalPolicy, final int nodePort, final int healthCheckNodePort,
        final String loadBalancerIp)
    {
        final String nodePorts = 0 == nodePort ? "" : ", nodePort: " + nodePort;
        final StringBuilder yaml = new StringBuilder("""
            apiVersion: v1
            kind: Service
            metadata: {name: %s, namespace: default}
            spec:
              type: %s
              selector: {%s: "yes"}
              internalTrafficPolicy: %s
            """.formatted(name, type, name, internalPolicy));
        if (!"ClusterIP".equals(type))
        {
            yaml.append("  externalTrafficPolicy: ").append(externalPolicy).append('\n');
        }
        if (0 != healthCheckNodePort)
        {
            yaml.append("  healthCheckNodePort: ").append(healthCheckNodePort).append('\n');
        }
        if (null == clusterIp6)
        {
            yaml.append("  clusterIP: %s\n  clusterIPs: [%s]\n".formatted(clusterIp, clusterIp));
        }
        else
        {
            yaml.append("""
                  ipFamilyPolicy: RequireDualStack
                  ipFamilies: [IPv4, IPv6]
                  clusterIP: %s
                  clusterIPs: [%s, "%s"]
                """.formatted(clusterIp, clusterIp, clusterIp6));
        }
        yaml.append("""
              ports:
              - {name: tcp, protocol: TCP, port: 80, targetPort: 8080%s}
              - {name: udp, protocol: UDP, port: 80, targetPort: 8080%s}
            """.formatted(nodePorts, nodePorts));
        if (null != loadBalancerIp)
        {
            yaml.append("status:\n  loadBalancer: {ingress: [{ip: %s}]}\n".formatted(loadBalancerIp));
        }
        return yaml.append("---\n").toString();
    }

    /** Pod {@code index} of node {@code node} as the kubelet reports it, a member of {@code services}. */
    private static String pod(final LabCluster cluster, final int node, final int index, final boolean terminating,
        final String... services)
    {
        final Host pod = cluster.pod(node, index);
        return podManifest(pod.role(), LabCluster.nodeName(node), false, terminating, pod.address4(), pod.address6(),
            services);
    }

    /** A hostNetwork pod on node {@code node}: its addresses are the node's. */
    private static String hostNetworkPod(final LabCluster cluster, final int node, final String... services)
    {
        final Host host = cluster.node(node);
        return podManifest(host.role() + "-host", LabCluster.nodeName(node), true, false, host.address4(),
            host.address6(), services);
    }

    private static String podManifest(final String name, final String nodeName, final boolean hostNetwork,
        final boolean terminating, final InetAddress address4, final InetAddress address6, final String... services)
    {
        final List<String> labels = new ArrayList<>();
        for (final String service : services)
        {
            labels.add(service + ": \"yes\"");
        }
        return """
            apiVersion: v1
            kind: Pod
            metadata:
              name: %s
              namespace: default
              labels: {%s}%s
            spec:
              nodeName: %s
              hostNetwork: %s
              containers: [{name: server, image: server}]
            status:
              podIP: %s
              podIPs: [{ip: %s}, {ip: "%s"}]
              conditions: [{type: Ready, status: "True"}]
            ---
            """.formatted(name, String.join(", ", labels),
            terminating ? "\n  deletionTimestamp: \"2026-01-01T00:00:00Z\"" : "", nodeName, hostNetwork,
            address4.getHostAddress(), address4.getHostAddress(), address6.getHostAddress());
    }

    // ---- traffic ----

    /** The answer line of one request from {@code from}, run in node {@code node}'s cgroup (its socket hooks). */
    private record HookAnswer(int exitCode, String answer)
    {
        boolean answered()
        {
            return 0 == exitCode && !answer.isBlank();
        }
    }

    private static HookAnswer viaSocketHooks(final ClusterAgents agents, final int node, final Host from,
        final String protocol, final String address, final int port)
    {
        final String request = "udp".equals(protocol) ? "echo hello >&3 && " : "";
        final Process process = agents.cgroup(node).start(from, "timeout", "2", "bash", "-c",
            "exec 3<>/dev/" + protocol + "/" + address + "/" + port + " && " + request + "head -1 <&3");
        try
        {
            final String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
            return new HookAnswer(process.waitFor(), output.strip());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(ex);
        }
    }

    private static void awaitViaSocketHooks(final ClusterAgents agents, final int node, final Host from,
        final String address)
    {
        await(() -> viaSocketHooks(agents, node, from, "tcp", address, 80).answered(),
            address + " answering " + from.role() + " through node" + node + "'s socket hooks");
    }

    /** A request that gets no answer at all: dropped, neither refused nor answered. */
    private static void assertDropped(final Runnable request)
    {
        assertThatThrownBy(request::run).isInstanceOf(UncheckedIOException.class)
            .hasCauseInstanceOf(SocketTimeoutException.class);
    }

    /** Which pod server received the one datagram sent from {@code client}'s source port {@code port}. */
    private static String receiver(final Host client, final List<PodServer> servers, final int port,
        final InetSocketAddress target)
    {
        final int[] before = servers.stream().mapToInt(PodServer::udpRequests).toArray();
        client.run(() ->
        {
            try (DatagramSocket socket = new DatagramSocket(port))
            {
                final byte[] payload = "which\n".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(payload, payload.length, target));
            }
        });
        final long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (System.nanoTime() < deadline)
        {
            for (int i = 0; i < servers.size(); i++)
            {
                if (servers.get(i).udpRequests() > before[i])
                {
                    return servers.get(i).pod().role();
                }
            }
            AgentProcess.sleep(10);
        }
        throw new AssertionError("no pod received the datagram from port " + port);
    }

    /** A conversation that has exchanged its first line (the agent may still be attaching tc to the pod). */
    private static Conversation converse(final Host from, final InetSocketAddress target)
    {
        final Conversation[] opened = new Conversation[1];
        await(() ->
        {
            try
            {
                opened[0] = new Conversation(from, target);
                opened[0].exchange("hello");
                return true;
            }
            catch (final RuntimeException ex)
            {
                if (null != opened[0])
                {
                    opened[0].close();
                }
                return false;
            }
        }, "a conversation with " + target);
        return opened[0];
    }

    /** A TCP connection that stays open, exchanging one line at a time with an {@link EchoServer}. */
    private static final class Conversation implements AutoCloseable
    {
        private final InetSocketAddress target;
        private final Socket socket;
        private final BufferedReader reader;
        private final Set<String> servedBy = new HashSet<>();

        Conversation(final Host from, final InetSocketAddress target)
        {
            this.target = target;
            this.socket = from.call(() ->
            {
                final Socket connected = new Socket();
                connected.connect(target, (int)TIMEOUT.toMillis());
                connected.setSoTimeout((int)TIMEOUT.toMillis());
                return connected;
            });
            try
            {
                reader = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        void exchange(final String line)
        {
            try
            {
                socket.getOutputStream().write((line + "\n").getBytes(StandardCharsets.US_ASCII));
                final String answer = reader.readLine();
                if (null == answer || !answer.endsWith(" " + line))
                {
                    throw new IllegalStateException("sent '" + line + "', got '" + answer + "'");
                }
                servedBy.add(answer.split(" ")[0]);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }

        @Override
        public void close()
        {
            try
            {
                socket.close();
            }
            catch (final IOException ignore)
            {
                // nothing left to release
            }
        }
    }

    /** Answers every line of every connection with {@code "<pod role> <line>"}, for as long as the connection lasts. */
    private static final class EchoServer implements AutoCloseable
    {
        private final ServerSocket server;
        private volatile boolean running = true;

        EchoServer(final Host pod, final int port)
        {
            server = pod.call(() -> new ServerSocket(port));
            Thread.ofPlatform().daemon().name("echo-" + pod.role()).start(() ->
            {
                while (running)
                {
                    try
                    {
                        final Socket connection = server.accept();
                        Thread.ofPlatform().daemon().start(() -> echo(pod.role(), connection));
                    }
                    catch (final IOException ex)
                    {
                        return;
                    }
                }
            });
        }

        private static void echo(final String role, final Socket connection)
        {
            try (connection)
            {
                final BufferedReader reader = new BufferedReader(
                    new InputStreamReader(connection.getInputStream(), StandardCharsets.US_ASCII));
                final OutputStream out = connection.getOutputStream();
                String line;
                while (null != (line = reader.readLine()))
                {
                    out.write((role + " " + line + "\n").getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                }
            }
            catch (final IOException ignore)
            {
                // the client went away
            }
        }

        @Override
        public void close() throws IOException
        {
            running = false;
            server.close();
        }
    }

    /** A health check nodePort's answer: status, headers as raw text, body. */
    private record HealthCheck(int status, String headers, String body)
    {
    }

    private static HealthCheck healthCheck(final Host from, final Host node, final int port)
    {
        return from.call(() ->
        {
            try (Socket socket = new Socket())
            {
                socket.connect(new InetSocketAddress(node.address4(), port), (int)TIMEOUT.toMillis());
                socket.setSoTimeout((int)TIMEOUT.toMillis());
                socket.getOutputStream().write(("GET / HTTP/1.1\r\nHost: " + node.address4().getHostAddress() +
                    "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                final String response = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                final int split = response.indexOf("\r\n\r\n");
                return new HealthCheck(Integer.parseInt(response.split(" ")[1]), response.substring(0, split),
                    response.substring(split + 4));
            }
        });
    }

    private static HealthCheck awaitHealthCheck(final Host from, final Host node, final int port, final int status)
    {
        final HealthCheck[] last = new HealthCheck[1];
        await(() ->
        {
            try
            {
                last[0] = healthCheck(from, node, port);
                return last[0].status() == status;
            }
            catch (final RuntimeException ex)
            {
                return false;
            }
        }, "health check " + node.role() + ":" + port + " answering " + status);
        return last[0];
    }

    // ---- waiting for the agents ----

    private static void awaitTcp(final Host from, final InetSocketAddress target, final ClusterAgents agents)
    {
        try
        {
            await(() ->
            {
                try
                {
                    Requests.tcp(from, target, Duration.ofMillis(500));
                    return true;
                }
                catch (final RuntimeException ex)
                {
                    return false;
                }
            }, target + " answering");
        }
        catch (final AssertionError ex)
        {
            throw new AssertionError(ex.getMessage() + "; node0's agent said:\n" +
                String.join("\n", agents.agent(0).output()) + "\nnode1's:\n" + String.join("\n", agents.agent(1).output()));
        }
    }

    /** Waits until node {@code node}'s agent has programmed the frontend. */
    private static void awaitFrontend(final ClusterAgents agents, final int node, final InetAddress address,
        final int port, final int protocol)
    {
        await(() ->
        {
            try (DatapathReader reader = agents.reader(node))
            {
                return null != frontendOrNull(reader, address, port, protocol);
            }
        }, "node" + node + " programming " + address.getHostAddress() + ":" + port);
    }

    /**
     * Waits until node {@code node} has programmed the TCP and the UDP frontend of each address at {@code port}. An
     * agent programs a service's ports one after the other, in no fixed order: a request to a port not yet programmed
     * meets the node's own stack (a refused connection, an unanswered datagram), whatever the datapath would do.
     */
    private static void awaitFrontends(final ClusterAgents agents, final int node, final int port,
        final InetAddress... addresses)
    {
        for (final InetAddress address : addresses)
        {
            awaitFrontend(agents, node, address, port, TCP);
            awaitFrontend(agents, node, address, port, UDP);
        }
    }

    private static void awaitCount(final AtomicInteger count, final int atLeast)
    {
        await(() -> count.get() >= atLeast, atLeast + " exchanges");
    }

    private static void await(final BooleanSupplier done, final String what)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(20)).toNanos();
        while (!done.getAsBoolean())
        {
            if (System.nanoTime() > deadline)
            {
                throw new AssertionError("gave up waiting for " + what);
            }
            AgentProcess.sleep(50);
        }
    }

    // ---- the pinned maps ----

    private static DatapathReader.ServiceEntry frontendOrNull(final DatapathReader reader, final InetAddress address,
        final int port, final int protocol)
    {
        return reader.services().stream()
            .filter(entry -> entry.address().equals(address) && entry.port() == port && entry.protocol() == protocol)
            .findFirst().orElse(null);
    }

    private static DatapathReader.ServiceEntry frontend(final DatapathReader reader, final InetAddress address,
        final int port, final int protocol)
    {
        final DatapathReader.ServiceEntry entry = frontendOrNull(reader, address, port, protocol);
        assertThat(entry).as("frontend %s:%d/%d", address, port, protocol).isNotNull();
        return entry;
    }

    /** A frontend's live Maglev table on node {@code node}, slot by slot as backend address:port. */
    private static List<String> table(final ClusterAgents agents, final int node, final InetAddress address,
        final int protocol)
    {
        try (DatapathReader reader = agents.reader(node))
        {
            final int[] slots = reader.maglevTable(frontend(reader, address, 80, protocol).svcId());
            final Map<Integer, DatapathReader.BackendEntry> backends = reader.backends();
            final List<String> named = new ArrayList<>();
            for (final int id : slots)
            {
                final DatapathReader.BackendEntry backend = backends.get(id);
                named.add(null == backend ? "none" : backend.address().getHostAddress() + ":" + backend.port());
            }
            return named;
        }
    }

    private static InetAddress address(final String literal)
    {
        try
        {
            return InetAddress.getByName(literal);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }
}
