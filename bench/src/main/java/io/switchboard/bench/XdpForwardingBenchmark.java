package io.switchboard.bench;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.TcDirection;
import io.switchboard.bpf.XdpMode;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathLoadOptions;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.SocketTimeoutException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.switchboard.datapath.DatapathAbi.offset;

/**
 * {@code sb_xdp}'s two ways of forwarding a NodePort packet after DNAT, side by side in one run, with real
 * traffic from a client namespace through the node's {@code ext0} to 3 pods of a {@link LabNetwork}
 * (replies through {@code sb_tc_from_pod}):
 * <ul>
 *   <li>{@code pass}: {@code XDP_PASS}, the kernel routes the translated packet (the default), pods as they
 *       come (veth GRO off);</li>
 *   <li>{@code redirect}: {@code SB_CFG_F_XDP_FIB_REDIRECT}, {@code bpf_fib_lookup} + {@code bpf_redirect};
 *       the pods' ends need NAPI, so GRO is on there;</li>
 *   <li>{@code pass+gro}: {@code XDP_PASS} with GRO on in the pods too, to tell the effect of GRO from the
 *       effect of the redirect.</li>
 * </ul>
 * Bounded: per configuration a warm-up of {@value #WARMUP} connections, then {@value #ROUNDS} rounds of
 * {@value #CONNECTIONS} sequential short TCP connections (connect, read the pod's one-line answer, close;
 * rounds interleaved across configurations), then {@value #UDP_MILLIS} ms of sequential UDP request/response
 * over {@value #UDP_SOCKETS} sockets. The client computes its checksums (tx offload off), as a remote host's
 * NIC frames carry them. Needs root; every address lives in the network's namespaces.
 * <p>
 * Run: {@code mvn -B -q -ntp -pl bench -am -DskipTests verify -Dbench=XdpForwardingBenchmark}
 */
public final class XdpForwardingBenchmark
{
    private static final int WARMUP = 300;
    private static final int ROUNDS = 3;
    private static final int CONNECTIONS = 2_000;
    private static final long UDP_MILLIS = 2_000;
    private static final int UDP_SOCKETS = 8;
    private static final int TIMEOUT_MILLIS = 2_000;
    private static final int PODS = 3;
    private static final int TARGET_PORT = 8080;
    private static final int NODE_PORT = 30080;
    private static final int SVC_TCP = 1;
    private static final int SVC_UDP = 2;
    private static final int MAGLEV_M = 251;
    private static final int SEED = 0x5EED_0001;

    private record Config(String name, boolean redirect, boolean podGro)
    {
    }

    private static final List<Config> CONFIGS = List.of(new Config("pass", false, false),
        new Config("redirect", true, true), new Config("pass+gro", false, true));

    private XdpForwardingBenchmark()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        try (LabNetwork network = LabNetwork.create(PODS); BpfObject datapath = loadWithServers(network))
        {
            final List<BpfMap> tables = program(datapath, network);
            try
            {
                attach(datapath, network);
                run(datapath, network);
            }
            finally
            {
                tables.forEach(BpfMap::close);
            }
        }
    }

    /** Starts the pods' servers on 8080 and loads the datapath object with small maps. */
    static BpfObject loadWithServers(final LabNetwork network)
    {
        for (int i = 0; i < PODS; i++)
        {
            network.startServer(i, TARGET_PORT);
        }
        return DatapathLoadOptions.open(DatapathAbi.OBJECT_RESOURCE)
            .maxEntries(DatapathAbi.SERVICES, 16).maxEntries(DatapathAbi.BACKENDS, 16)
            .maxEntries(DatapathAbi.MAGLEV, 8).maxEntries(DatapathAbi.SERVICE_STATS, 8)
            .maxEntries(DatapathAbi.CONNTRACK, 65_536).load();
    }

    private static void run(final BpfObject datapath, final LabNetwork network)
    {
        final Host client = network.client();
        client.exec("ethtool", "-K", client.interfaceName(), "tx", "off");
        final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), NODE_PORT);
        final Map<Config, Histogram> tcp = new LinkedHashMap<>();
        final Map<Config, Double> tcpRate = new LinkedHashMap<>();
        final Map<Config, Long> forwarded = new LinkedHashMap<>();
        final Map<Config, Long> failures = new LinkedHashMap<>();
        for (final Config config : CONFIGS)
        {
            select(datapath, network, config);
            client.call(() -> tcpConnections(nodePort, WARMUP, new Histogram(3)));
            tcp.put(config, new Histogram(3));
            tcpRate.put(config, 0.0);
            forwarded.put(config, 0L);
            failures.put(config, 0L);
        }
        for (int round = 0; round < ROUNDS; round++)
        {
            for (final Config config : CONFIGS)
            {
                select(datapath, network, config);
                final long forwardedBefore = forwardedDatagrams(network.node());
                final long start = System.nanoTime();
                final long failed = client.call(() -> tcpConnections(nodePort, CONNECTIONS, tcp.get(config)));
                final double seconds = (System.nanoTime() - start) / 1e9;
                tcpRate.merge(config, CONNECTIONS / seconds / ROUNDS, Double::sum);
                forwarded.merge(config, forwardedDatagrams(network.node()) - forwardedBefore, Long::sum);
                failures.merge(config, failed, Long::sum);
            }
        }
        final Map<Config, Histogram> udp = new LinkedHashMap<>();
        final Map<Config, Long> udpLost = new LinkedHashMap<>();
        for (final Config config : CONFIGS)
        {
            select(datapath, network, config);
            final Histogram histogram = new Histogram(3);
            udpLost.put(config, client.call(() -> udpRequests(nodePort, histogram)));
            udp.put(config, histogram);
        }

        System.out.printf("XDP forwarding after DNAT, NodePort from a client namespace to %d pods (%d CPUs)%n", PODS,
            Runtime.getRuntime().availableProcessors());
        System.out.printf("TCP: %d x %d short connections per configuration (connect + 1-line answer + close), "
            + "rounds interleaved%n", ROUNDS, CONNECTIONS);
        System.out.printf("%-9s %9s %9s %9s %9s %8s %12s%n", "mode", "conn/s", "p50 us", "p99 us", "max us", "failed",
            "node fwd");
        for (final Config config : CONFIGS)
        {
            final Histogram h = tcp.get(config);
            System.out.printf("%-9s %9.0f %9.1f %9.1f %9.1f %8d %12d%n", config.name(), tcpRate.get(config),
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, h.getMaxValue() / 1e3,
                failures.get(config), forwarded.get(config));
        }
        System.out.printf("UDP: sequential request/response for %d ms over %d sockets%n", UDP_MILLIS, UDP_SOCKETS);
        System.out.printf("%-9s %9s %9s %9s %8s%n", "mode", "req/s", "p50 us", "p99 us", "lost");
        for (final Config config : CONFIGS)
        {
            final Histogram h = udp.get(config);
            System.out.printf("%-9s %9.0f %9.1f %9.1f %8d%n", config.name(), h.getTotalCount() * 1000.0 / UDP_MILLIS,
                h.getValueAtPercentile(50) / 1e3, h.getValueAtPercentile(99) / 1e3, udpLost.get(config));
        }
    }

    /** {@code count} sequential connections, each timed into {@code histogram}; returns how many failed. */
    private static long tcpConnections(final InetSocketAddress target, final int count, final Histogram histogram)
    {
        long failed = 0;
        final byte[] buffer = new byte[128];
        for (int i = 0; i < count; i++)
        {
            final long start = System.nanoTime();
            try
            {
                shortConnection(target, TIMEOUT_MILLIS, buffer);
                histogram.recordValue(System.nanoTime() - start);
            }
            catch (final IOException ex)
            {
                failed++;
            }
        }
        return failed;
    }

    /** One short TCP connection: connect, read the pod's one-line answer into {@code buffer}, close. */
    static void shortConnection(final InetSocketAddress target, final int timeoutMillis, final byte[] buffer)
        throws IOException
    {
        try (Socket socket = new Socket())
        {
            socket.connect(target, timeoutMillis);
            socket.setSoTimeout(timeoutMillis);
            final InputStream in = socket.getInputStream();
            int read = 0;
            while (read == 0 || buffer[read - 1] != '\n')
            {
                final int n = in.read(buffer, read, buffer.length - read);
                if (n < 0)
                {
                    throw new IOException("closed after " + read + " bytes");
                }
                read += n;
            }
        }
    }

    /** Sequential UDP request/response for {@link #UDP_MILLIS}; round trips into {@code histogram}; returns losses. */
    private static long udpRequests(final InetSocketAddress target, final Histogram histogram)
    {
        final List<DatagramSocket> sockets = new ArrayList<>();
        long lost = 0;
        try
        {
            for (int i = 0; i < UDP_SOCKETS; i++)
            {
                final DatagramSocket socket = new DatagramSocket();
                sockets.add(socket);
                socket.setSoTimeout(TIMEOUT_MILLIS / 10);
                socket.connect(target);
            }
            final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
            final DatagramPacket reply = new DatagramPacket(new byte[128], 128);
            final long end = System.nanoTime() + UDP_MILLIS * 1_000_000;
            for (int i = 0; System.nanoTime() < end; i++)
            {
                final DatagramSocket socket = sockets.get(i % UDP_SOCKETS);
                final long start = System.nanoTime();
                try
                {
                    socket.send(new DatagramPacket(request, request.length));
                    socket.receive(reply);
                    histogram.recordValue(System.nanoTime() - start);
                }
                catch (final SocketTimeoutException ex)
                {
                    lost++;
                }
            }
            return lost;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        finally
        {
            sockets.forEach(DatagramSocket::close);
        }
    }

    /** Sets the forwarding mode in {@code sb_config.flags} and GRO on the pods' ends of their veths. */
    private static void select(final BpfObject datapath, final LabNetwork network, final Config config)
    {
        writeConfig(datapath, config.redirect());
        for (final Host pod : network.pods())
        {
            pod.exec("ethtool", "-K", pod.interfaceName(), "gro", config.podGro() ? "on" : "off");
        }
    }

    /** Writes {@code sb_config}: the seed, default timeouts, and the forwarding mode ({@code redirect}). */
    static void writeConfig(final BpfObject datapath, final boolean redirect)
    {
        try (BpfMap map = datapath.map(DatapathAbi.CONFIG, DatapathAbi.CONFIG_SPEC); Arena arena = Arena.ofConfined())
        {
            final MemorySegment value = arena.allocate(DatapathAbi.CONFIG_VALUE);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "maglev_seed"), SEED);
            value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.CONFIG_VALUE, "flags"),
                redirect ? DatapathAbi.CFG_F_XDP_FIB_REDIRECT : 0);
            map.update(arena.allocateFrom(ValueLayout.JAVA_INT, 0), value, BpfMap.BPF_ANY);
        }
    }

    /** NodePort TCP and UDP on the node's address, each spread over the 3 pods by a round-robin table. */
    static List<BpfMap> program(final BpfObject datapath, final LabNetwork network)
    {
        final List<BpfMap> tables = new ArrayList<>();
        try (Arena arena = Arena.ofConfined();
            BpfMap services = datapath.map(DatapathAbi.SERVICES, DatapathAbi.SERVICES_SPEC);
            BpfMap backends = datapath.map(DatapathAbi.BACKENDS, DatapathAbi.BACKENDS_SPEC);
            BpfMap maglev = datapath.map(DatapathAbi.MAGLEV, DatapathAbi.MAGLEV_SPEC))
        {
            for (final int[] svc : new int[][] {{SVC_TCP, DatapathAbi.PROTO_TCP}, {SVC_UDP, DatapathAbi.PROTO_UDP}})
            {
                final int svcId = svc[0];
                for (int i = 0; i < PODS; i++)
                {
                    final MemorySegment backend = arena.allocate(DatapathAbi.BACKEND);
                    DatapathAbi.writeAddress(backend, offset(DatapathAbi.BACKEND, "addr"), network.pod(i).address4());
                    backend.set(DatapathAbi.NET_PORT, offset(DatapathAbi.BACKEND, "port"), (short)TARGET_PORT);
                    backend.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "family"), (byte)DatapathAbi.AF_INET);
                    backend.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.BACKEND, "flags"),
                        (byte)DatapathAbi.BACKEND_F_LOCAL);
                    backends.update(arena.allocateFrom(ValueLayout.JAVA_INT, backendId(svcId, i)), backend,
                        BpfMap.BPF_ANY);
                }
                final BpfMap table = BpfMap.create("sb_bench_table", DatapathAbi.MAGLEV_TABLE_SPEC, MAGLEV_M + 1,
                    BpfMap.BPF_F_INNER_MAP);
                tables.add(table);
                table.update(arena.allocateFrom(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_SIZE),
                    arena.allocateFrom(ValueLayout.JAVA_INT, MAGLEV_M), BpfMap.BPF_ANY);
                for (int slot = 0; slot < MAGLEV_M; slot++)
                {
                    table.update(arena.allocateFrom(ValueLayout.JAVA_INT, DatapathAbi.MAGLEV_SLOT_FIRST + slot),
                        arena.allocateFrom(ValueLayout.JAVA_INT, backendId(svcId, slot % PODS)), BpfMap.BPF_ANY);
                }
                maglev.update(arena.allocateFrom(ValueLayout.JAVA_INT, svcId),
                    arena.allocateFrom(ValueLayout.JAVA_INT, table.fd()), BpfMap.BPF_ANY);

                final MemorySegment key = arena.allocate(DatapathAbi.SVC_KEY);
                DatapathAbi.writeAddress(key, offset(DatapathAbi.SVC_KEY, "addr"), network.node().address4());
                key.set(DatapathAbi.NET_PORT, offset(DatapathAbi.SVC_KEY, "port"), (short)NODE_PORT);
                key.set(ValueLayout.JAVA_BYTE, offset(DatapathAbi.SVC_KEY, "proto"), (byte)svc[1]);
                final MemorySegment value = arena.allocate(DatapathAbi.SVC_VALUE);
                value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SVC_VALUE, "svc_id"), svcId);
                value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SVC_VALUE, "flags"),
                    DatapathAbi.SVC_F_EXTERNAL | DatapathAbi.SVC_F_NODEPORT);
                value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SVC_VALUE, "backend_count"), PODS);
                value.set(ValueLayout.JAVA_INT, offset(DatapathAbi.SVC_VALUE, "table_size"), MAGLEV_M);
                services.update(key, value, BpfMap.BPF_ANY);
            }
            return tables;
        }
        catch (final RuntimeException ex)
        {
            tables.forEach(BpfMap::close);
            throw ex;
        }
    }

    private static int backendId(final int svcId, final int pod)
    {
        return svcId * 10 + 1 + pod;
    }

    /**
     * {@code sb_xdp} native on {@code ext0}, {@code sb_tc_from_pod} on tc ingress of each pod link; the links
     * and tc filters go with the network's namespaces.
     */
    static void attach(final BpfObject datapath, final LabNetwork network)
    {
        final Host node = network.node();
        network.closeWithNetwork(node.call(() -> datapath.program(DatapathAbi.PROGRAM_XDP)
            .attachXdp(Interfaces.index(node.interfaceName()), XdpMode.NATIVE)));
        node.run(() ->
        {
            for (int i = 0; i < PODS; i++)
            {
                datapath.program(DatapathAbi.PROGRAM_TC_FROM_POD).attachTc(Interfaces.index(network.podInterface(i)),
                    TcDirection.INGRESS, 1, 1);
            }
        });
    }

    /** {@code Ip: ForwDatagrams} of a host's namespace: packets its IP stack forwarded. */
    private static long forwardedDatagrams(final Host host)
    {
        final List<String> ip = host.exec("cat", "/proc/net/snmp").lines().filter(l -> l.startsWith("Ip: ")).toList();
        final List<String> names = List.of(ip.get(0).split(" "));
        return Long.parseLong(ip.get(1).split(" ")[names.indexOf("ForwDatagrams")]);
    }
}
