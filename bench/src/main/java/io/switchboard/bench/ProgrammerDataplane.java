package io.switchboard.bench;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.switchboard.bpf.XdpMode;
import io.switchboard.datapath.Datapath;
import io.switchboard.datapath.DatapathProgrammer;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.ModelChanges;
import io.switchboard.model.ModelConfig;
import io.switchboard.model.ServicePortKey;
import io.switchboard.model.ServicePortState;
import io.switchboard.netns.LabNetwork;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Switchboard as the agent programs it: Services and EndpointSlices go into the {@link ClusterModel}, and
 * {@link DatapathProgrammer#apply} writes each service port's state to the maps of a {@link Datapath} loaded
 * and pinned under a private bpffs directory (removed on close). Timed: the {@code apply} calls only (the
 * model's own work is reported beside it), as the kube-proxy columns time only the kernel programming tool.
 */
final class ProgrammerDataplane implements DataplaneUnderTest
{
    private static final String NODE_NAME = "bench-node";

    private final LabNetwork network;
    private final int pods;
    private final Path pins;
    private Datapath datapath;
    private DatapathProgrammer programmer;
    private ClusterModel model;
    private ServiceSet set;
    private XdpMode xdpMode;
    private long loadNanos;
    private long modelNanos;

    ProgrammerDataplane(final LabNetwork network, final int pods)
    {
        this.network = network;
        this.pods = pods;
        this.pins = Path.of("/sys/fs/bpf", "sb-bench-" + ProcessHandle.current().pid() + "-" + System.nanoTime());
    }

    /** Where the datapath is pinned (what {@code switchboard get --bpffs-dir} reads). */
    Path pins()
    {
        return pins;
    }

    @Override
    public String name()
    {
        return "switchboard";
    }

    @Override
    public String note()
    {
        return "io.switchboard.datapath.DatapathProgrammer.apply per service port (the agent's code, without the " +
            "Aeron stream); building the ClusterModel took " + modelNanos / 1_000_000 + " ms and is not included; " +
            "object load, pinning and attach (" + loadNanos / 1_000_000 + " ms) not included; XDP mode " + xdpMode;
    }

    @Override
    public long program(final ServiceSet services)
    {
        if (!services.singleTargetPort())
        {
            throw new IllegalArgumentException("the model path needs every endpoint on port " +
                ServiceSet.TARGET_PORT + ": use more pods than endpoints");
        }
        this.set = services;
        final int count = services.count();
        final long loadStart = System.nanoTime();
        datapath = Datapath.load(pins, new Datapath.Sizes(count + 64, 2 * count * services.endpointsPerService() +
            1024, count + 64, 65_536, 4096, 256));
        xdpMode = network.node().call(() ->
        {
            final XdpMode mode = datapath.attachXdp(LabNetwork.NODE_EXTERNAL_INTERFACE);
            for (int p = 0; p < pods; p++)
            {
                datapath.attachPodInterface(network.podInterface(p));
            }
            return mode;
        });
        programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
            new MaglevTableBuilder(new MaglevHash(MaglevHash.DEFAULT_SEED), TableSizes.defaults()),
            TableSizes.defaults());
        loadNanos = System.nanoTime() - loadStart;

        final long modelStart = System.nanoTime();
        try
        {
            model = new ClusterModel(ModelConfig.forNode(NODE_NAME)
                .withNodeIps(List.of(InetAddress.getByName("198.18.0.1"))));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        final List<String> addresses = services.endpoints().stream().map(ServiceSet.Endpoint::ip).toList();
        for (int i = 0; i < count; i++)
        {
            model.upsert(service(i, services.clusterIp(i)));
            model.upsert(slice(i, addresses));
        }
        final List<ServicePortState> states = model.states();
        modelNanos = System.nanoTime() - modelStart;

        final long start = System.nanoTime();
        // one batch, as the agent applies one flush: new tables reach sb_maglev together
        programmer.begin();
        for (final ServicePortState state : states)
        {
            programmer.apply(state, false, false);
        }
        programmer.commit();
        return System.nanoTime() - start;
    }

    @Override
    public long changeOneEndpoint(final int change)
    {
        final List<String> addresses = set.endpointsAfterChanges(change).stream().map(ServiceSet.Endpoint::ip)
            .toList();
        final ModelChanges changes = model.upsert(slice(set.lastIndex(), addresses));
        final long start = System.nanoTime();
        for (final ServicePortKey key : changes.changed())
        {
            programmer.apply(model.state(key), false, false);
        }
        final long elapsed = System.nanoTime() - start;
        // the removed backend's id is deleted once no packet can still read the previous table (not timed)
        programmer.deleteRetiredBackends(System.nanoTime() + 1_000_000_000L);
        return elapsed;
    }

    private static String name(final int index)
    {
        return "svc-" + index;
    }

    static Service service(final int index, final String clusterIp)
    {
        return new ServiceBuilder()
            .withNewMetadata().withNamespace("bench").withName(name(index)).endMetadata()
            .withNewSpec().withType("ClusterIP").withClusterIP(clusterIp).withClusterIPs(clusterIp)
            .addNewPort().withName("http").withProtocol("TCP").withPort(ServiceSet.SERVICE_PORT)
            .withNewTargetPort(ServiceSet.TARGET_PORT).endPort()
            .endSpec().build();
    }

    static EndpointSlice slice(final int index, final List<String> addresses)
    {
        final EndpointSliceBuilder builder = new EndpointSliceBuilder()
            .withNewMetadata().withNamespace("bench").withName(name(index) + "-slice")
            .addToLabels("kubernetes.io/service-name", name(index)).endMetadata()
            .withAddressType("IPv4")
            .addNewPort().withName("http").withProtocol("TCP").withPort(ServiceSet.TARGET_PORT).endPort();
        for (final String address : addresses)
        {
            builder.addNewEndpoint().withAddresses(address).withNodeName(NODE_NAME)
                .withNewConditions().withReady(true).withServing(true).withTerminating(false).endConditions()
                .endEndpoint();
        }
        return builder.build();
    }

    @Override
    public void close()
    {
        try
        {
            if (programmer != null)
            {
                programmer.close();
            }
            if (datapath != null)
            {
                datapath.close();
            }
        }
        finally
        {
            // unpinning the links detaches the programs (the veths go with the namespaces anyway)
            if (Files.exists(pins))
            {
                try (Stream<Path> paths = Files.walk(pins))
                {
                    for (final Path path : paths.sorted(Comparator.reverseOrder()).toList())
                    {
                        Files.deleteIfExists(path);
                    }
                }
                catch (final IOException ex)
                {
                    throw new UncheckedIOException("removing " + pins, ex);
                }
            }
        }
    }
}
