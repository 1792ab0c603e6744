package io.switchboard.bench;

import io.switchboard.netns.LabNetwork;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One system's network at one scale: a {@link LabNetwork} of its own (namespaces named apart, so every system's
 * network can stay up at once and the connect harness can interleave them), the native pod servers on every
 * endpoint and the spare, the client's second address for the load generator, and the dataplane programmed
 * with the services. Closing removes all of it.
 */
final class Testbed implements AutoCloseable
{
    /** The load generator's own client address: it never shares a 4-tuple with the closed-loop client's .2. */
    static final String LOADGEN_SOURCE = "198.18.0.3";

    final String system;
    final ServiceSet set;
    final LabNetwork network;
    final List<Loadgen.Servers> servers = new ArrayList<>();
    DataplaneUnderTest dataplane;
    long programNanos;

    private Testbed(final String system, final ServiceSet set, final LabNetwork network)
    {
        this.system = system;
        this.set = set;
        this.network = network;
    }

    /** Builds the network, starts the servers and programs {@code set} (the wall time in {@link #programNanos}). */
    static Testbed open(final String system, final ServiceSet set, final BenchConfig config)
    {
        final Testbed bed = new Testbed(system, set, LabNetwork.create(config.pods()));
        try
        {
            // the ClusterIP range is routed to the node (the default route already is; this states it)
            bed.network.client().exec("ip", "route", "add", ServiceSet.CLUSTER_CIDR, "via", "198.18.0.1");
            bed.network.client().exec("ip", "addr", "add", LOADGEN_SOURCE + "/24", "dev",
                bed.network.client().interfaceName());
            final Map<Integer, TreeSet<Integer>> podsByPort = new TreeMap<>();
            final List<ServiceSet.Endpoint> endpoints = new ArrayList<>(set.endpoints());
            endpoints.add(set.spare());
            for (final ServiceSet.Endpoint endpoint : endpoints)
            {
                podsByPort.computeIfAbsent(endpoint.port(), k -> new TreeSet<>())
                    .add(Integer.parseInt(endpoint.ip().substring(endpoint.ip().lastIndexOf('.') + 1)) - 10);
            }
            podsByPort.forEach((port, pods) -> bed.servers.add(bed.network.closeWithNetwork(
                Loadgen.Servers.start(config.loadgen(), bed.network, port, pods))));
            bed.dataplane = BenchMain.create(system, bed.network, config);
            bed.programNanos = bed.dataplane.program(set);
            return bed;
        }
        catch (final RuntimeException | Error ex)
        {
            try
            {
                bed.close();
            }
            catch (final RuntimeException suppressed)
            {
                ex.addSuppressed(suppressed);
            }
            throw ex;
        }
    }

    /** The servers' time on a CPU so far, ns. */
    long serversCpuNanos()
    {
        return servers.stream().mapToLong(Loadgen.Servers::cpuNanos).sum();
    }

    @Override
    public void close()
    {
        try
        {
            if (dataplane != null)
            {
                dataplane.close();
            }
        }
        finally
        {
            network.close();
        }
    }
}
