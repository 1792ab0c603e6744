package io.switchboard.dns;

import io.switchboard.agent.AgentDirectories;
import io.switchboard.agent.AgentProcess;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabFiles;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The agent's cluster DNS as a pod sees it: the DNS Service's ClusterIP reached through the datapath (tc on
 * the pod's veth, both directions), names resolved by dig and by the C library's resolver with a pod's
 * search path, answers following endpoint changes, and malformed packets that change nothing.
 */
@KernelTest
class DnsTrafficTest
{
    private static final String DNS_IP = "10.96.0.10";
    private static final String NODE_IP = "198.18.0.1";
    /** What the test's upstream answers: an address of the lab, so nothing ever leaves it. */
    private static final String UPSTREAM_ANSWER = "198.18.0.99";
    private static final int BATCH = 50;
    private static final Pattern MALFORMED = Pattern.compile(
        "switchboard_dns_malformed_total\\{action=\"(formerr|dropped)\"} ([0-9.E]+)");
    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-dns-test");

    @Test
    void podsResolveServicesThroughTheDnsClusterIpAndSeeEndpointChanges(@Pods(3) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        writeManifests(Set.of(0, 1));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            final Host pod = network.pod(0);
            awaitDig(pod, List.of("web.shop.svc.cluster.local", "A"), "10.96.0.30", agent);

            for (final String transport : List.of("+notcp", "+tcp"))
            {
                assertThat(dig(pod, transport, "web.shop.svc.cluster.local", "A")).containsExactly("10.96.0.30");
                assertThat(dig(pod, transport, "db.shop.svc.cluster.local", "A")).as("headless: the ready pods")
                    .containsExactlyInAnyOrder("198.19.0.10", "198.19.0.11");
                assertThat(dig(pod, transport, "db-0.db.shop.svc.cluster.local", "A")).containsExactly("198.19.0.10");
                assertThat(dig(pod, transport, "search.shop.svc.cluster.local", "CNAME"))
                    .containsExactly("search.example.com.");
                assertThat(dig(pod, transport, "_http._tcp.web.shop.svc.cluster.local", "SRV"))
                    .containsExactly("0 100 80 web.shop.svc.cluster.local.");
                assertThat(dig(pod, transport, "30.0.96.10.in-addr.arpa", "PTR"))
                    .containsExactly("web.shop.svc.cluster.local.");
                assertThat(status(pod, transport, "nope.shop.svc.cluster.local")).isEqualTo("NXDOMAIN");
                assertThat(status(pod, transport, "example.com")).as("no upstream").isEqualTo("REFUSED");
            }
            assertThat(peerOfAnswer(pod)).as("the answer comes from the DNS ClusterIP")
                .isEqualTo(new InetSocketAddress(DNS_IP, 53));

            // the C library's resolver with a pod's resolv.conf: short names, name.namespace, full names
            assertThat(getent(pod, "web")).isEqualTo("10.96.0.30");
            assertThat(getent(pod, "web.shop")).isEqualTo("10.96.0.30");
            assertThat(getent(pod, "web.shop.svc.cluster.local")).isEqualTo("10.96.0.30");
            assertThat(getent(pod, "api.other")).as("another namespace").isEqualTo("10.96.0.31");
            assertThat(getent(pod, "api")).as("not in the pod's namespace").isEmpty();

            writeManifests(Set.of(0, 1, 2)); // pod-2 becomes ready
            awaitDig(pod, List.of("db.shop.svc.cluster.local", "A"), "198.19.0.10 198.19.0.11 198.19.0.12", agent);
            writeManifests(Set.of(1)); // pod-0 and pod-2 leave
            awaitDig(pod, List.of("db.shop.svc.cluster.local", "A"), "198.19.0.11", agent);
            assertThat(status(pod, "+notcp", "db-0.db.shop.svc.cluster.local")).isEqualTo("NXDOMAIN");
        }
    }

    @Test
    void namesOutsideTheZoneGoToTheUpstreamAndAnExternalNameIsFollowedThere(@Pods(3) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        writeManifests(Set.of(0));
        // the upstream: a DNS server in the client's namespace (its socket stays there, whatever thread serves
        // it) that answers every A query with one lab address and records what it was asked
        final Host client = network.client();
        final DatagramSocket upstream = network.closeWithNetwork(
            client.call(() -> new DatagramSocket(new InetSocketAddress(client.address4(), 5353))));
        final List<String> asked = Collections.synchronizedList(new ArrayList<>());
        Thread.ofPlatform().daemon().start(() -> serveUpstream(upstream, asked));
        final List<String> arguments = new ArrayList<>(arguments(pins, cgroup));
        arguments.addAll(List.of("--dns-upstream", client.address4().getHostAddress() + ":5353"));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments))
        {
            final Host pod = network.pod(0);
            awaitDig(pod, List.of("web.shop.svc.cluster.local", "A"), "10.96.0.30", agent);

            assertThat(dig(pod, "+notcp", "example.org", "A")).containsExactly(UPSTREAM_ANSWER);
            assertThat(dig(pod, "+tcp", "example.org", "A")).containsExactly(UPSTREAM_ANSWER);
            assertThat(dig(pod, "+notcp", "search.shop.svc.cluster.local", "A")).as("ExternalName, then upstream")
                .containsExactly("search.example.com.", UPSTREAM_ANSWER);
            assertThat(dig(pod, "+notcp", "web.shop.svc.cluster.local", "A")).containsExactly("10.96.0.30");
            assertThat(asked).contains("example.org.", "search.example.com.")
                .noneMatch(name -> name.endsWith("cluster.local."));
        }
    }

    /** A minimal upstream: one A record, {@link #UPSTREAM_ANSWER}, for every query, until the socket closes. */
    private static void serveUpstream(final DatagramSocket socket, final List<String> asked)
    {
        final byte[] buffer = new byte[512];
        while (!socket.isClosed())
        {
            try
            {
                final DatagramPacket packet = new DatagramPacket(buffer, buffer.length);
                socket.receive(packet);
                final Message query = new Message(Arrays.copyOf(packet.getData(), packet.getLength()));
                final Record question = query.getQuestion();
                asked.add(question.getName().toString());
                final Message response = new Message(query.getHeader().getID());
                response.getHeader().setFlag(Flags.QR);
                response.getHeader().setFlag(Flags.RD);
                response.getHeader().setFlag(Flags.RA);
                response.addRecord(question, Section.QUESTION);
                if (question.getType() == Type.A)
                {
                    response.addRecord(new ARecord(question.getName(), DClass.IN, 60,
                        InetAddress.getByName(UPSTREAM_ANSWER)), Section.ANSWER);
                }
                final byte[] wire = response.toWire();
                socket.send(new DatagramPacket(wire, wire.length, packet.getSocketAddress()));
            }
            catch (final IOException ex)
            {
                return; // closed with the network
            }
        }
    }

    @Test
    void thousandsOfRandomAndTruncatedPacketsLeaveTheServerAnsweringAndAreCounted(@Pods(1) final LabNetwork network,
        final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        writeManifests(Set.of(0));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            final Host pod = network.pod(0);
            awaitDig(pod, List.of("web.shop.svc.cluster.local", "A"), "10.96.0.30", agent);
            final long before = malformed(network.node());
            final int sent = pod.call(() -> fuzz(new InetSocketAddress(DNS_IP, 53)));

            assertThat(dig(pod, "+notcp", "web.shop.svc.cluster.local", "A")).containsExactly("10.96.0.30");
            assertThat(dig(pod, "+tcp", "db.shop.svc.cluster.local", "A")).containsExactly("198.19.0.10");
            assertThat(sent).isGreaterThanOrEqualTo(4000);
            assertThat(malformed(network.node()) - before).as("malformed packets counted").isGreaterThan(1000);
            assertThat(agent.output()).noneMatch(line -> line.contains("Exception"));
        }
    }

    /**
     * The DNS server answers the node's pods (through the DNS Service, or straight at the node's address) and the
     * node itself, never a client outside: sb_xdp drops datagrams and TCP SYNs to the node's DNS port from the
     * external interface, so the agent is no open resolver and no amplifier for spoofed queries.
     */
    @Test
    void queriesFromOutsideStraightAtTheNodesAddressGoUnansweredWhilePodsAndTheNodeAreAnswered(
        @Pods(1) final LabNetwork network, final PinDirectory pins, final TestCgroup cgroup) throws Exception
    {
        writeManifests(Set.of(0));
        try (AgentProcess agent = AgentProcess.start(network.node(), arguments(pins, cgroup)))
        {
            final Host pod = network.pod(0);
            awaitDig(pod, List.of("web.shop.svc.cluster.local", "A"), "10.96.0.30", agent);
            final List<String> straight = List.of("dig", "+short", "+time=2", "+tries=1", "@" + NODE_IP,
                "web.shop.svc.cluster.local", "A");
            assertThat(pod.exec(straight.toArray(String[]::new)).strip()).as("a pod, at the node's address")
                .isEqualTo("10.96.0.30");
            assertThat(network.node().exec(straight.toArray(String[]::new)).strip()).as("the node itself")
                .isEqualTo("10.96.0.30");

            final InetSocketAddress server = new InetSocketAddress(NODE_IP, 53);
            final byte[] query = Message.newQuery(Record.newRecord(
                Name.fromConstantString("web.shop.svc.cluster.local."), Type.A, DClass.IN)).toWire();
            final boolean udpAnswered = network.client().call(() ->
            {
                try (DatagramSocket socket = new DatagramSocket())
                {
                    socket.setSoTimeout(1000);
                    socket.send(new DatagramPacket(query, query.length, server));
                    socket.receive(new DatagramPacket(new byte[512], 512));
                    return true;
                }
                catch (final java.net.SocketTimeoutException ex)
                {
                    return false;
                }
            });
            final boolean tcpConnected = network.client().call(() ->
            {
                try (Socket socket = new Socket())
                {
                    socket.connect(server, 1000);
                    return true;
                }
                catch (final IOException ex)
                {
                    return false;
                }
            });
            assertThat(udpAnswered).as("a UDP query from outside answered").isFalse();
            assertThat(tcpConnected).as("a TCP connection from outside accepted").isFalse();
            assertThat(agent.output()).anyMatch(line -> line.contains("sb_xdp drops queries from outside"));
        }
    }

    /**
     * Random datagrams, every prefix of real queries (also with a flipped byte), and cut TCP frames; after
     * every {@link #BATCH} datagrams a real query must be answered correctly (which also paces the sender,
     * so the socket's buffer never overflows). Returns how many malformed datagrams were sent.
     */
    private static int fuzz(final InetSocketAddress server) throws IOException
    {
        final Random random = new Random(8);
        int sent = 0;
        try (DatagramSocket socket = new DatagramSocket())
        {
            socket.setSoTimeout(2000);
            for (int i = 0; i < 2000; i++)
            {
                final byte[] packet = new byte[random.nextInt(600)];
                random.nextBytes(packet);
                socket.send(new DatagramPacket(packet, packet.length, server));
                if (++sent % BATCH == 0)
                {
                    assertAnswered(socket, server, sent);
                }
            }
            for (final String name : List.of("web.shop.svc.cluster.local.", "_http._tcp.web.shop.svc.cluster.local.",
                "x.db.shop.svc.cluster.local.", "example.com."))
            {
                final byte[] query = Message.newQuery(Record.newRecord(Name.fromConstantString(name), Type.SRV,
                    DClass.IN)).toWire();
                for (int round = 0; round < 15; round++)
                {
                    for (int length = 0; length < query.length; length++)
                    {
                        final byte[] cut = Arrays.copyOf(query, length);
                        if (round > 0 && length > 12)
                        {
                            cut[12 + random.nextInt(length - 12)] ^= (byte) (1 + random.nextInt(255));
                        }
                        socket.send(new DatagramPacket(cut, cut.length, server));
                        if (++sent % BATCH == 0)
                        {
                            assertAnswered(socket, server, sent);
                        }
                    }
                }
            }
        }
        for (int i = 0; i < 20; i++)
        {
            try (Socket socket = new Socket())
            {
                socket.connect(server, 2000);
                final byte[] frame = new byte[2 + random.nextInt(100)];
                random.nextBytes(frame);
                frame[0] = 1; // claims 256+ bytes, sends fewer, closes
                socket.getOutputStream().write(frame);
            }
        }
        return sent;
    }

    /** A real query, answered with web's address; replies to the malformed datagrams before it are skipped. */
    private static void assertAnswered(final DatagramSocket socket, final InetSocketAddress server, final int id)
        throws IOException
    {
        final Message query = Message.newQuery(Record.newRecord(Name.fromConstantString("web.shop.svc.cluster.local."),
            Type.A, DClass.IN));
        query.getHeader().setID(id & 0xFFFF);
        final byte[] wire = query.toWire();
        socket.send(new DatagramPacket(wire, wire.length, server));
        final DatagramPacket packet = new DatagramPacket(new byte[1500], 1500);
        while (true)
        {
            socket.receive(packet);
            final byte[] bytes = Arrays.copyOf(packet.getData(), packet.getLength());
            if (bytes.length >= 2 && ((bytes[0] & 0xFF) << 8 | (bytes[1] & 0xFF)) == (id & 0xFFFF) &&
                bytes.length > 12)
            {
                final Message answer = new Message(bytes);
                if (null != answer.getQuestion() && answer.getQuestion().getName().equals(query.getQuestion().getName()))
                {
                    assertThat(answer.getSection(org.xbill.DNS.Section.ANSWER)).as("after %d malformed", id)
                        .singleElement().hasToString("web.shop.svc.cluster.local.\t5\tIN\tA\t10.96.0.30");
                    return;
                }
            }
        }
    }

    private List<String> arguments(final PinDirectory pins, final TestCgroup cgroup)
    {
        return List.of("--node-name", "node-a", "--node-ip", "198.18.0.1", "--xdp-iface", "ext0",
            "--cgroup", cgroup.path().toString(),
            "--bpffs-dir", pins.resolve("agent").toString(),
            "--aeron-dir", directories.aeron().toString(),
            "--state-dir", directories.work().resolve("state").toString(),
            "--manifests", directories.work().resolve("manifests").toString(),
            "--dns-listen", "198.18.0.1:53", "--dns-service-ip", DNS_IP);
    }

    private static List<String> dig(final Host pod, final String transport, final String name, final String type)
    {
        final String output = pod.exec("dig", "+short", "+time=2", "+tries=1", transport, "@" + DNS_IP, name, type);
        return output.lines().map(String::strip).filter(line -> !line.isEmpty()).toList();
    }

    private static String status(final Host pod, final String transport, final String name)
    {
        final String output = pod.exec("dig", "+time=2", "+tries=1", transport, "@" + DNS_IP, name, "A");
        final Matcher matcher = Pattern.compile("status: (\\w+)").matcher(output);
        assertThat(matcher.find()).as(output).isTrue();
        return matcher.group(1);
    }

    /** Where the answer to a query sent to the ClusterIP comes from, as the pod's socket sees it. */
    private static InetSocketAddress peerOfAnswer(final Host pod)
    {
        return pod.call(() ->
        {
            try (DatagramSocket socket = new DatagramSocket())
            {
                socket.setSoTimeout(2000);
                final byte[] query = Message.newQuery(Record.newRecord(
                    Name.fromConstantString("web.shop.svc.cluster.local."), Type.A, DClass.IN)).toWire();
                socket.send(new DatagramPacket(query, query.length, new InetSocketAddress(DNS_IP, 53)));
                final DatagramPacket answer = new DatagramPacket(new byte[512], 512);
                socket.receive(answer);
                return (InetSocketAddress) answer.getSocketAddress();
            }
        });
    }

    /**
     * The first IPv4 address the C library resolves {@code name} to, with a pod's resolv.conf bind-mounted
     * in a private mount namespace (nothing leaks to the host); empty when it resolves to none.
     */
    private String getent(final Host pod, final String name) throws IOException
    {
        final Path resolvConf = directories.work().resolve("resolv.conf");
        Files.writeString(resolvConf, """
            search shop.svc.cluster.local svc.cluster.local cluster.local
            nameserver %s
            options ndots:5 timeout:2 attempts:1
            """.formatted(DNS_IP));
        final Path nsswitch = directories.work().resolve("nsswitch.conf");
        Files.writeString(nsswitch, "hosts: files dns\n");
        final Shell.Result result = pod.tryExec("unshare", "--mount", "--propagation", "private", "sh", "-c",
            "mount --bind " + resolvConf + " /etc/resolv.conf && mount --bind " + nsswitch +
            " /etc/nsswitch.conf && getent ahostsv4 " + name);
        return result.output().lines().map(line -> line.split("\\s+")[0]).findFirst().orElse("");
    }

    /** Digs until the answer (sorted, joined by spaces) is {@code expected}: the agent applied the change. */
    private static void awaitDig(final Host pod, final List<String> query, final String expected,
        final AgentProcess agent)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(20)).toNanos();
        String last = "";
        while (System.nanoTime() < deadline)
        {
            final Shell.Result result = pod.tryExec("dig", "+short", "+time=1", "+tries=1", "@" + DNS_IP,
                query.get(0), query.get(1));
            last = result.output();
            final String answer = String.join(" ", new TreeSet<>(result.output().lines().map(String::strip)
                .filter(line -> !line.isEmpty()).toList()));
            if (result.exitCode() == 0 && answer.equals(expected))
            {
                return;
            }
            AgentProcess.sleep(100);
        }
        throw new AssertionError("never answered " + expected + " for " + query + "; last: " + last +
            "\nagent said:\n" + String.join("\n", agent.output()));
    }

    /** Malformed packets the agent counted (FORMERR and dropped), from its /metrics on the node's loopback. */
    private static long malformed(final Host node)
    {
        final String metrics = node.call(() ->
        {
            try (HttpClient client = HttpClient.newHttpClient())
            {
                return client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:10249/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8)).body();
            }
        });
        final Matcher matcher = MALFORMED.matcher(metrics);
        long total = 0;
        int found = 0;
        while (matcher.find())
        {
            total += (long) Double.parseDouble(matcher.group(2));
            found++;
        }
        assertThat(found).as(metrics).isEqualTo(2);
        return total;
    }

    /** web and api (ClusterIP), db (headless: the {@code ready} pods), search (ExternalName). */
    private void writeManifests(final Set<Integer> ready) throws IOException
    {
        final StringBuilder endpoints = new StringBuilder();
        for (int pod = 0; pod < 3; pod++)
        {
            endpoints.append("""
                  - addresses: ["198.19.0.%d"]
                    hostname: db-%d
                    nodeName: node-a
                    conditions: {ready: %s}
                """.formatted(10 + pod, pod, ready.contains(pod)));
        }
        final String yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: shop}
            spec:
              clusterIP: 10.96.0.30
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: 8080}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-1
              namespace: shop
              labels: {kubernetes.io/service-name: web}
            addressType: IPv4
            ports:
            - {name: http, protocol: TCP, port: 8080}
            endpoints:
            - addresses: ["198.19.0.10"]
              nodeName: node-a
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: api, namespace: other}
            spec:
              clusterIP: 10.96.0.31
              ports:
              - {name: http, protocol: TCP, port: 80}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: search, namespace: shop}
            spec:
              type: ExternalName
              externalName: search.example.com
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: db, namespace: shop}
            spec:
              clusterIP: None
              ports:
              - {name: pg, protocol: TCP, port: 5432}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: db-1
              namespace: shop
              labels: {kubernetes.io/service-name: db}
            addressType: IPv4
            ports:
            - {name: pg, protocol: TCP, port: 5432}
            endpoints:
            """ + endpoints;
        LabFiles.replace(directories.manifests().resolve("dns.yaml"), yaml);
    }
}
