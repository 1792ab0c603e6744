package io.switchboard.demo;

import io.switchboard.bpf.Bpf;
import io.switchboard.bpf.BpfLink;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;
import io.switchboard.bpf.XdpMode;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.Callable;

/**
 * {@code switchboard demo}: builds a node, a client and pods in network namespaces, attaches the
 * probe XDP program to the node's client-facing interface, sends real TCP and UDP requests from the
 * client to every pod through the node, and prints what each pod saw and what XDP counted. Removes
 * everything it made on exit, Ctrl-C included.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Show real packets through the datapath in throw-away network namespaces (needs root).")
public final class DemoCommand implements Callable<Integer>
{
    private static final int PORT = 8080;
    private static final Duration TIMEOUT = Duration.ofSeconds(2);
    private static final String[] SLOT_NAMES = {"tcp", "udp", "icmp", "other", "dropped"};
    /** {@code struct probe_counter} of bpf/include/probe.h: packets and bytes, per CPU. */
    private static final MapSpec COUNTERS = new MapSpec(MapType.PERCPU_ARRAY, 4, 16);

    @Option(names = "--pods", defaultValue = "3", description = "Pods to create (default ${DEFAULT-VALUE}).")
    private int pods;

    @Option(names = "--requests", defaultValue = "5", description = "Requests per pod and protocol.")
    private int requests;

    @Override
    public Integer call()
    {
        final PrintStream out = System.out;
        out.println("Switchboard " + "demo (libbpf " + Bpf.require() + ")");
        final LabNetwork lab = LabNetwork.create(pods);
        final Thread cleanup = Thread.ofPlatform().unstarted(lab::close);
        Runtime.getRuntime().addShutdownHook(cleanup);
        try (lab;
            BpfObject probe = BpfObject.openResource("bpf/probe.bpf.o").load();
            BpfMap counters = probe.map("probe_counters", COUNTERS))
        {
            final Host node = lab.node();
            out.printf("  client %s  ──  node %s (%s)  ──  %d pods from %s%n", lab.client().address4().getHostAddress(),
                node.address4().getHostAddress(), node.interfaceName(), pods, lab.pod(0).address4().getHostAddress());
            try (BpfLink link = node.call(() -> probe.program("probe_xdp")
                .attachXdp(Interfaces.index(node.interfaceName()), XdpMode.NATIVE_OR_GENERIC)))
            {
                out.printf("  XDP program probe_xdp attached to %s in %s mode%n%n", node.interfaceName(),
                    link.xdpMode().name().toLowerCase());
                for (int i = 0; i < pods; i++)
                {
                    lab.startServer(i, PORT);
                }
                for (final Host pod : lab.pods())
                {
                    requestPod(out, lab.client(), pod);
                }
                out.println();
                out.println("  XDP counters on the node's " + node.interfaceName() + " (map probe_counters):");
                printCounters(out, counters);
            }
        }
        finally
        {
            removeHook(cleanup);
        }
        out.println();
        out.println("  Removed every namespace, veth and program the demo made.");
        return 0;
    }

    private void requestPod(final PrintStream out, final Host client, final Host pod)
    {
        int tcp = 0;
        int udp = 0;
        String seen = "-";
        for (int i = 0; i < requests; i++)
        {
            try
            {
                final Requests.Answer answer = Requests.tcp(client, new InetSocketAddress(pod.address4(), PORT), TIMEOUT);
                seen = answer.callerSeenByPod().getHostAddress();
                tcp++;
            }
            catch (final UncheckedIOException ex)
            {
                // counted as unanswered
            }
            try
            {
                Requests.udp(client, new InetSocketAddress(pod.address4(), PORT), TIMEOUT);
                udp++;
            }
            catch (final UncheckedIOException ex)
            {
                // counted as unanswered
            }
        }
        out.printf("  %-6s %-13s answered %d/%d TCP, %d/%d UDP; it saw the caller as %s%n", pod.role(),
            pod.address4().getHostAddress(), tcp, requests, udp, requests, seen);
    }

    private static void printCounters(final PrintStream out, final BpfMap counters)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment key = arena.allocate(ValueLayout.JAVA_INT);
            final MemorySegment values = arena.allocate(counters.valueBufferSize(), 8);
            for (int slot = 0; slot < SLOT_NAMES.length; slot++)
            {
                key.set(ValueLayout.JAVA_INT, 0, slot);
                counters.lookup(key, values);
                long packets = 0;
                long bytes = 0;
                for (long offset = 0; offset < values.byteSize(); offset += counters.perCpuStride())
                {
                    packets += values.get(ValueLayout.JAVA_LONG, offset);
                    bytes += values.get(ValueLayout.JAVA_LONG, offset + 8);
                }
                out.printf("    %-8s %6d packets %9d bytes%n", SLOT_NAMES[slot], packets, bytes);
            }
        }
    }

    private static void removeHook(final Thread hook)
    {
        try
        {
            Runtime.getRuntime().removeShutdownHook(hook);
        }
        catch (final IllegalStateException ex)
        {
            // already shutting down: the hook runs
        }
    }
}
