package io.switchboard.datapath;

import io.switchboard.datapath.DatapathTrafficTest.Attached;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.switchboard.datapath.DatapathAbi.PROTO_TCP;
import static io.switchboard.datapath.DatapathAbi.PROTO_UDP;
import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A client port used for a translated flow and then, within the conntrack timeouts, for an untranslated one to
 * the same pod (and back): the tuple the pod answers with is the same both times ({@code pod:8080 → client:P}),
 * so the translated flow's REPLY entry must not capture the later untranslated flow's replies, nor the later
 * translated flow be hindered by the untranslated one. On the datapath before this test, the direct flow's
 * SYN-ACK left the pod as the NodePort's, the client answered it with a RST that the old flow's FORWARD entry
 * took to the pod, every such exchange kept the closing entries alive, and the connection hung for ~35 s of SYN
 * retransmissions (issue 16); a UDP reply came back from the NodePort.
 * <p>
 * Every request binds its source port explicitly, so the reuse is certain, and has a deadline of
 * {@value #DEADLINE_MILLIS} ms (connect and answer each). The pod closes first, so it holds each connection's
 * tuple in TIME_WAIT when the next one comes: it may refuse that SYN (its timestamp comes from another client
 * 4-tuple, so PAWS cannot tell it newer) with an ACK, on which the client resets and retries within a few
 * milliseconds, provided the ACK reaches it untranslated (bench/README.md, "Connection tail and the 35 s stall").
 */
@KernelTest
class DatapathPortReuseTest
{
    private static final int DEADLINE_MILLIS = 2_000;
    private static final InetAddress CLIENT4 = address("198.18.0.2");
    private static final InetAddress CLIENT6 = address("fd00:18::2");
    private static final InetAddress NODE4 = address("198.18.0.1");
    private static final InetAddress NODE6 = address("fd00:18::1");
    /** DatapathTrafficTest's ClusterIP whose backends are pods 1 and 2, for pod 0 as the client. */
    private static final InetAddress POD_CLUSTER_IP = address("10.96.0.11");
    private static final int NODE_PORT = 30080;
    private static final int TARGET_PORT = 8080;
    /** IPv6 NodePort services of this test (DatapathTrafficTest's ids end at 5). */
    private static final int SVC6_TCP = 6;
    private static final int SVC6_UDP = 7;
    /** Client ports reused per case: each one first translated, then direct, then translated and direct again. */
    private static final int PORTS_PER_CASE = 4;
    /** An LB IP per family routed to the node, a second frontend of the NodePort's TCP and UDP services. */
    private static final InetAddress LB4 = address("203.0.113.10");
    private static final InetAddress LB6 = address("fd00:113::10");
    private static final int LB_PORT = 80;
    /** The datapath's default port range for source ports it picks (SB_SNAT_PORT_MIN/MAX_DEFAULT). */
    private static final int REMAP_PORT_MIN = DatapathAbi.SNAT_PORT_MIN_DEFAULT;
    private static final int REMAP_PORT_MAX = DatapathAbi.SNAT_PORT_MAX_DEFAULT;
    /** Clashes (the second frontend balanced to the first one's pod) each port-remap case waits for. */
    private static final int CLASHES = 4;
    /** Client ports a port-remap case tries at most to see {@link #CLASHES} (each pod is one in three). */
    private static final int MAX_PORTS = 60;

    private enum Proto
    {
        TCP, UDP
    }

    /** The client's address and two frontends of one service on the node (NodePort, LB IP) in one family. */
    private record TwoFrontends(InetAddress client, InetSocketAddress nodePort, InetSocketAddress lb)
    {
        static final List<TwoFrontends> BOTH_FAMILIES = List.of(
            new TwoFrontends(CLIENT4, new InetSocketAddress(NODE4, NODE_PORT), new InetSocketAddress(LB4, LB_PORT)),
            new TwoFrontends(CLIENT6, new InetSocketAddress(NODE6, NODE_PORT), new InetSocketAddress(LB6, LB_PORT)));
    }

    /** What the pod answered (its name, the source port it saw) and whom the client got the answer from. */
    private record Reply(String pod, int portSeenByPod, InetSocketAddress from)
    {
    }

    @Test
    void aClientPortReusedBetweenNodePortAndDirectFlowsToTheSamePodIsAnsweredEveryTimeByWhatItAddressed(
        final LabNetwork network) throws Exception
    {
        try (Attached attached = DatapathTrafficTest.attach(network, null))
        {
            programIpv6NodePort(attached.datapath, network);
            final List<String> failures = new ArrayList<>();
            int port = 20_000;
            for (final InetAddress node : List.of(NODE4, NODE6))
            {
                final InetAddress client = node instanceof Inet4Address ? CLIENT4 : CLIENT6;
                for (final Proto proto : Proto.values())
                {
                    alternate(network, network.client(), client, new InetSocketAddress(node, NODE_PORT), port,
                        proto, failures);
                    port += PORTS_PER_CASE;
                }
            }
            assertThat(failures).isEmpty();
            assertThat(attached.datapath.stat("nat_failed")).isZero();
        }
    }

    @Test
    void aPodPortReusedBetweenAClusterIpOnThePacketPathAndDirectFlowsIsAnsweredEveryTimeByWhatItAddressed(
        final LabNetwork network) throws Exception
    {
        try (Attached attached = DatapathTrafficTest.attach(network, null))
        {
            final Host pod = network.pod(0);
            final List<String> failures = new ArrayList<>();
            int port = 21_000;
            for (final Proto proto : Proto.values())
            {
                alternate(network, pod, pod.address4(), new InetSocketAddress(POD_CLUSTER_IP, 80), port, proto,
                    failures);
                port += PORTS_PER_CASE;
            }
            assertThat(failures).isEmpty();
            assertThat(attached.datapath.stat("nat_failed")).isZero();
        }
    }

    /**
     * Port remap (netfilter's NAT does the same on a clash): a client connects from port P to the NodePort, then from
     * P again to the LB IP of the same service. When both are balanced to the same pod, the pod still holds the first
     * connection in TIME_WAIT, and a SYN from the same tuple with the timestamps of another destination would meet
     * PAWS there (an ACK instead of a SYN-ACK, a SYN retransmission 8-16 ms later: the connect tail of issue 16). The
     * second flow must reach the pod from another port, chosen in the datapath's port range, and the client must see
     * the LB IP as its peer; when the pods differ, nothing is held and the pod sees P, as without Switchboard. Not
     * one SYN is retransmitted.
     */
    @Test
    void aTcpClientPortReusedThroughAnotherFrontendToTheSamePodReachesItFromAnotherPort(final LabNetwork network)
        throws Exception
    {
        try (Attached attached = DatapathTrafficTest.attach(network, null))
        {
            programIpv6NodePort(attached.datapath, network);
            final long retransmittedBefore = synRetransmissions(network.client());
            int port = 22_000;
            int clashes = 0;
            for (final TwoFrontends frontends : TwoFrontends.BOTH_FAMILIES)
            {
                final InetAddress client = frontends.client();
                final InetSocketAddress nodePort = frontends.nodePort();
                final InetSocketAddress lb = frontends.lb();
                int familyClashes = 0;
                for (int tried = 0; tried < MAX_PORTS && familyClashes < CLASHES; tried++, port++)
                {
                    final InetSocketAddress bind = new InetSocketAddress(client, port);
                    final Reply first = request(network.client(), bind, nodePort, Proto.TCP);
                    final Reply second = request(network.client(), bind, lb, Proto.TCP);
                    final String context = "TCP from " + bind + " ";
                    assertThat(first.from()).as(context + "to " + nodePort).isEqualTo(nodePort);
                    assertThat(first.portSeenByPod()).as(context + "to " + nodePort).isEqualTo(port);
                    assertThat(second.from()).as(context + "to " + lb).isEqualTo(lb);
                    if (second.pod().equals(first.pod()))
                    {
                        familyClashes++;
                        assertThat(second.portSeenByPod()).as(context + "to " + lb + ", the same pod")
                            .isNotEqualTo(port).isBetween(REMAP_PORT_MIN, REMAP_PORT_MAX);
                    }
                    else
                    {
                        assertThat(second.portSeenByPod()).as(context + "to " + lb + ", another pod").isEqualTo(port);
                    }
                }
                assertThat(familyClashes).as(nodePort + ": ports balanced to the same pod twice").isEqualTo(CLASHES);
                clashes += familyClashes;
            }
            assertThat(synRetransmissions(network.client()) - retransmittedBefore).as("client SYN retransmissions")
                .isZero();
            assertThat(attached.datapath.stat("port_remap")).isEqualTo(clashes);
            assertThat(attached.datapath.stat("port_remap_exhausted")).isZero();
            assertThat(attached.datapath.stat("nat_failed")).isZero();
        }
    }

    /**
     * One UDP socket (port P) sends to the NodePort, then to the LB IP of the same service, then to the NodePort
     * again, all within the UDP timeout. When the two frontends are balanced to the same pod, both flows would
     * have the same tuple at the pod and its replies could not tell them apart (before port remap, the LB IP's
     * entry took the tuple and the third answer came from the LB IP). Every answer must come from the address
     * the datagram went to.
     */
    @Test
    void udpFlowsFromOnePortThroughTwoFrontendsToTheSamePodAreEachAnsweredByTheirOwnFrontend(
        final LabNetwork network) throws Exception
    {
        try (Attached attached = DatapathTrafficTest.attach(network, null))
        {
            programIpv6NodePort(attached.datapath, network);
            int port = 23_000;
            for (final TwoFrontends frontends : TwoFrontends.BOTH_FAMILIES)
            {
                final InetAddress client = frontends.client();
                final InetSocketAddress nodePort = frontends.nodePort();
                final InetSocketAddress lb = frontends.lb();
                int clashes = 0;
                for (int tried = 0; tried < MAX_PORTS && clashes < CLASHES; tried++, port++)
                {
                    final InetSocketAddress bind = new InetSocketAddress(client, port);
                    final List<Reply> replies = network.client().call(() ->
                    {
                        try (DatagramSocket socket = new DatagramSocket(null))
                        {
                            socket.setReuseAddress(true);
                            socket.bind(bind);
                            socket.setSoTimeout(DEADLINE_MILLIS);
                            final List<Reply> answers = new ArrayList<>();
                            for (final InetSocketAddress to : List.of(nodePort, lb, nodePort))
                            {
                                answers.add(exchange(socket, to));
                            }
                            return answers;
                        }
                    });
                    final String context = "UDP from " + bind + " ";
                    assertThat(replies.get(0).from()).as(context + "to " + nodePort).isEqualTo(nodePort);
                    assertThat(replies.get(1).from()).as(context + "to " + lb).isEqualTo(lb);
                    assertThat(replies.get(2).from()).as(context + "to " + nodePort + " again").isEqualTo(nodePort);
                    assertThat(replies.get(2).pod()).as(context + "to " + nodePort + " again")
                        .isEqualTo(replies.get(0).pod());
                    if (replies.get(1).pod().equals(replies.get(0).pod()))
                    {
                        clashes++;
                        assertThat(replies.get(1).portSeenByPod()).as(context + "to " + lb + ", the same pod")
                            .isNotEqualTo(port).isBetween(REMAP_PORT_MIN, REMAP_PORT_MAX);
                    }
                }
                assertThat(clashes).as(nodePort + ": ports balanced to the same pod by both frontends").isEqualTo(CLASHES);
            }
            assertThat(attached.datapath.stat("nat_failed")).isZero();
        }
    }

    /** The client's TCP SYN retransmissions so far (TcpExt TCPSynRetrans of its namespace). */
    private static long synRetransmissions(final Host client)
    {
        return client.call(() -> netstat("TcpExt", "TCPSynRetrans"));
    }

    /**
     * One counter of the calling thread's network namespace from /proc/thread-self/net/netstat, whose sections are
     * pairs of lines: "Section: name name ..." then "Section: value value ...".
     */
    private static long netstat(final String section, final String name)
    {
        try
        {
            final List<String> lines = Files.readAllLines(Path.of("/proc/thread-self/net/netstat"));
            for (int i = 0; i + 1 < lines.size(); i += 2)
            {
                final List<String> names = List.of(lines.get(i).split(" "));
                if (names.getFirst().equals(section + ":"))
                {
                    return Long.parseLong(lines.get(i + 1).split(" ")[names.indexOf(name)]);
                }
            }
            throw new IllegalStateException("no " + section + " " + name + " in /proc/thread-self/net/netstat");
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    /**
     * From {@code PORTS_PER_CASE} source ports of {@code from}, each: the service (some pod answers), that pod
     * directly, the service again, the pod directly again; every answer within the deadline and from the address
     * the request went to. The first request of the case that does not is added to {@code failures}.
     */
    private static void alternate(final LabNetwork network, final Host from, final InetAddress source,
        final InetSocketAddress service, final int firstPort, final Proto proto, final List<String> failures)
    {
        try
        {
            alternate(network, from, source, service, firstPort, proto);
        }
        catch (final AssertionError | UncheckedIOException ex)
        {
            failures.add(ex.getMessage() + (null == ex.getCause() ? "" : ": " + ex.getCause()));
        }
    }

    private static void alternate(final LabNetwork network, final Host from, final InetAddress source,
        final InetSocketAddress service, final int firstPort, final Proto proto)
    {
        for (int port = firstPort; port < firstPort + PORTS_PER_CASE; port++)
        {
            final Reply translated = request(from, new InetSocketAddress(source, port), service, proto);
            final String context = proto + " from " + source.getHostAddress() + ":" + port + " ";
            assertThat(translated.from()).as(context + "via " + service).isEqualTo(service);
            final Host pod = network.pods().stream().filter(p -> p.role().equals(translated.pod())).findFirst()
                .orElseThrow();
            final InetSocketAddress direct = new InetSocketAddress(
                service.getAddress() instanceof Inet4Address ? pod.address4() : pod.address6(), TARGET_PORT);
            assertThat(translated.portSeenByPod()).as(context + "via " + service + ": the pod sees the client's port")
                .isEqualTo(port);
            boolean directBefore = false;
            for (final InetSocketAddress target : List.of(direct, service, direct))
            {
                final Reply reply = request(from, new InetSocketAddress(source, port), target, proto);
                assertThat(reply.from()).as(context + "to " + target).isEqualTo(target);
                if (target.equals(direct))
                {
                    assertThat(reply.pod()).as(context + "to " + target).isEqualTo(translated.pod());
                    assertThat(reply.portSeenByPod()).as(context + "to " + target).isEqualTo(port);
                    directBefore = true;
                }
                else if (proto == Proto.TCP && reply.pod().equals(translated.pod()) && directBefore)
                {
                    // the pod holds the direct connection's tuple (TIME_WAIT): the flow takes another port
                    assertThat(reply.portSeenByPod()).as(context + "via " + service + " after a direct connection")
                        .isNotEqualTo(port).isBetween(REMAP_PORT_MIN, REMAP_PORT_MAX);
                }
            }
        }
    }

    private static Reply request(final Host from, final InetSocketAddress bind, final InetSocketAddress to,
        final Proto proto)
    {
        return from.call(() ->
        {
            try
            {
                return proto == Proto.TCP ? tcp(bind, to) : udp(bind, to);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(proto + " " + bind + " -> " + to, ex);
            }
        });
    }

    private static Reply tcp(final InetSocketAddress bind, final InetSocketAddress to) throws IOException
    {
        try (Socket socket = new Socket())
        {
            socket.setReuseAddress(true);
            socket.bind(bind);
            socket.connect(to, DEADLINE_MILLIS);
            socket.setSoTimeout(DEADLINE_MILLIS);
            final String line = new BufferedReader(new InputStreamReader(socket.getInputStream(),
                StandardCharsets.US_ASCII)).readLine();
            return reply(line, (InetSocketAddress)socket.getRemoteSocketAddress());
        }
    }

    private static Reply udp(final InetSocketAddress bind, final InetSocketAddress to) throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(null))
        {
            socket.setReuseAddress(true);
            socket.bind(bind);
            socket.setSoTimeout(DEADLINE_MILLIS);
            return exchange(socket, to);
        }
    }

    /** One datagram to {@code to} and its answer, on an unconnected socket. */
    private static Reply exchange(final DatagramSocket socket, final InetSocketAddress to) throws IOException
    {
        final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
        socket.send(new DatagramPacket(request, request.length, to));
        final DatagramPacket reply = new DatagramPacket(new byte[512], 512);
        // unconnected: a reply from another source is received too, and shows where it came from
        socket.receive(reply);
        return reply(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII),
            (InetSocketAddress)reply.getSocketAddress());
    }

    /** The pod's answer, "NAME CALLER-ADDRESS CALLER-PORT" (PodServer). */
    private static Reply reply(final String line, final InetSocketAddress from)
    {
        if (null == line)
        {
            throw new UncheckedIOException(new IOException("closed without an answer"));
        }
        final String[] words = line.strip().split(" ");
        return new Reply(words[0], Integer.parseInt(words[2]), from);
    }

    /**
     * The NodePort on the node's IPv6 address and an IPv6 LB IP (routed to the node by the client), TCP and UDP,
     * over the pods' IPv6 addresses.
     */
    private static void programIpv6NodePort(final DatapathFixture datapath, final LabNetwork network)
    {
        final int flags = DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT;
        for (int i = 0; i < 3; i++)
        {
            datapath.backend(51 + i, network.pod(i).address6(), TARGET_PORT, true);
            datapath.backend(61 + i, network.pod(i).address6(), TARGET_PORT, true);
        }
        datapath.maglevTable(SVC6_TCP, DatapathFixture.spread(251, 51, 52, 53));
        datapath.maglevTable(SVC6_UDP, DatapathFixture.spread(251, 61, 62, 63));
        datapath.service(NODE6, NODE_PORT, PROTO_TCP, SVC6_TCP, flags, 0);
        datapath.service(NODE6, NODE_PORT, PROTO_UDP, SVC6_UDP, flags, 0);
        final int lb = DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_LOADBALANCER;
        datapath.service(LB6, LB_PORT, PROTO_TCP, SVC6_TCP, lb, 0);
        datapath.service(LB6, LB_PORT, PROTO_UDP, SVC6_UDP, lb, 0);
        network.client().exec("ip", "-6", "route", "add", LB6.getHostAddress() + "/128", "via", NODE6.getHostAddress());
    }
}
