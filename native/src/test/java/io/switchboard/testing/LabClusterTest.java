package io.switchboard.testing;

import io.switchboard.netns.Host;
import io.switchboard.netns.LabCluster;
import io.switchboard.netns.PodServer;
import io.switchboard.netns.Requests;
import io.switchboard.netns.Shell;
import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The multi-node fixture itself: pods reach each other across nodes, the client only the nodes. */
@KernelTest
class LabClusterTest
{
    private static final Duration TIMEOUT = Duration.ofSeconds(3);
    private static final int PORT = 8080;

    @Test
    void podsReachPodsOnEveryNodeOverTcpAndUdpOnBothFamiliesWithTheirOwnAddresses(
        @Cluster(nodes = 3, podsPerNode = 2) final LabCluster cluster)
    {
        for (int node = 0; node < 3; node++)
        {
            cluster.startServer(node, 1, PORT);
        }
        for (int from = 0; from < 3; from++)
        {
            final Host client = cluster.pod(from, 0);
            for (int to = 0; to < 3; to++)
            {
                final Host server = cluster.pod(to, 1);
                for (final InetAddress address : List.of(server.address4(), server.address6()))
                {
                    final InetSocketAddress target = new InetSocketAddress(address, PORT);
                    final Requests.Answer tcp = Requests.tcp(client, target, TIMEOUT);
                    final Requests.Answer udp = Requests.udp(client, target, TIMEOUT);

                    assertThat(tcp.pod()).isEqualTo("node" + to + "-pod1");
                    assertThat(udp.pod()).isEqualTo(tcp.pod());
                    assertThat(tcp.callerSeenByPod()).as("no translation on the way")
                        .isEqualTo(address instanceof java.net.Inet4Address ? client.address4() : client.address6());
                }
            }
        }
    }

    @Test
    void theClientReachesEveryNodeAddressButNoPod(@Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster)
    {
        for (final Host node : cluster.nodes())
        {
            // a server in the node's own namespace, as a host-network process would be
            cluster.closeWithCluster(PodServer.start(node, PORT));
            for (final InetAddress address : List.of(node.address4(), node.address6()))
            {
                final InetSocketAddress target = new InetSocketAddress(address, PORT);
                assertThat(Requests.tcp(cluster.client(), target, TIMEOUT).pod()).isEqualTo(node.role());
                assertThat(Requests.udp(cluster.client(), target, TIMEOUT).pod()).isEqualTo(node.role());
            }
        }
        for (int node = 0; node < 2; node++)
        {
            cluster.startServer(node, 0, PORT);
            final Host pod = cluster.pod(node, 0);
            for (final InetAddress address : List.of(pod.address4(), pod.address6()))
            {
                assertThatThrownBy(() -> Requests.tcp(cluster.client(), new InetSocketAddress(address, PORT), TIMEOUT))
                    .as("the client has no route to pod ranges").isInstanceOf(UncheckedIOException.class)
                    .hasMessageContaining("unreachable");
            }
        }
    }

    @Test
    void nodesRouteOtherNodesPodRangesThroughThoseNodesAndTheUnderlayEndsRunNoProgram(
        @Cluster(nodes = 2, podsPerNode = 1) final LabCluster cluster)
    {
        final Host node0 = cluster.node(0);
        final String remote = node0.exec("ip", "-o", "route", "get", cluster.pod(1, 0).address4().getHostAddress());
        final String remote6 = node0.exec("ip", "-o", "route", "get", cluster.pod(1, 0).address6().getHostAddress());
        final String local = node0.exec("ip", "-o", "route", "get", cluster.pod(0, 0).address4().getHostAddress());
        final String ports = Shell.run("ip", "-n", cluster.underlayNamespace(), "-d", "link", "show", "node0");

        assertThat(remote).contains("via " + LabCluster.nodeAddress4(1) + " dev ext0");
        assertThat(remote6).contains("via " + LabCluster.nodeAddress6(1) + " dev ext0");
        assertThat(local).contains("dev " + cluster.podInterface(0));
        assertThat(ports).doesNotContain("xdp"); // a real client's segment has nothing to help XDP_TX along
    }
}
