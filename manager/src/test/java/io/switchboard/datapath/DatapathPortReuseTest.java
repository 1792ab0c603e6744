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

    private enum Proto
    {
        TCP, UDP
    }

    /** What the pod answered and whom the client got the answer from. */
    private record Reply(String pod, InetSocketAddress from)
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
            for (final InetSocketAddress target : List.of(direct, service, direct))
            {
                final Reply reply = request(from, new InetSocketAddress(source, port), target, proto);
                assertThat(reply.from()).as(context + "to " + target).isEqualTo(target);
                if (target.equals(direct))
                {
                    assertThat(reply.pod()).as(context + "to " + target).isEqualTo(translated.pod());
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
            return new Reply(pod(line), (InetSocketAddress)socket.getRemoteSocketAddress());
        }
    }

    private static Reply udp(final InetSocketAddress bind, final InetSocketAddress to) throws IOException
    {
        try (DatagramSocket socket = new DatagramSocket(null))
        {
            socket.setReuseAddress(true);
            socket.bind(bind);
            socket.setSoTimeout(DEADLINE_MILLIS);
            final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
            socket.send(new DatagramPacket(request, request.length, to));
            final DatagramPacket reply = new DatagramPacket(new byte[512], 512);
            // unconnected: a reply from another source is received too, and shows where it came from
            socket.receive(reply);
            return new Reply(pod(new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII)),
                (InetSocketAddress)reply.getSocketAddress());
        }
    }

    private static String pod(final String line)
    {
        if (null == line)
        {
            throw new UncheckedIOException(new IOException("closed without an answer"));
        }
        return line.strip().split(" ")[0];
    }

    /** The NodePort on the node's IPv6 address, TCP and UDP, over the pods' IPv6 addresses. */
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
    }
}
