package io.switchboard.agent;

import io.switchboard.log.Log;
import io.aeron.Aeron;
import io.aeron.Publication;
import io.aeron.Subscription;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.bpf.Bpf;
import io.switchboard.bpf.Interfaces;
import io.switchboard.bpf.KernelProbe;
import io.switchboard.bpf.LibbpfKernelProbe;
import io.switchboard.bpf.XdpMode;
import io.switchboard.control.ControlPlaneAdapter;
import io.switchboard.control.ControlPlaneConfiguration;
import io.switchboard.control.DesiredStateProxy;
import io.switchboard.control.EmbeddedMediaDriver;
import io.switchboard.control.codecs.SourceKind;
import io.switchboard.datapath.Datapath;
import io.switchboard.datapath.DatapathProgrammer;
import io.switchboard.datapath.DatapathReader;
import io.switchboard.datapath.KernelRequirements;
import io.switchboard.datapath.ReplyPath;
import io.switchboard.dns.DnsCatalog;
import io.switchboard.dns.DnsMetrics;
import io.switchboard.dns.DnsServer;
import io.switchboard.dns.DnsServiceObjects;
import io.switchboard.maglev.MaglevHash;
import io.switchboard.maglev.MaglevTableBuilder;
import io.switchboard.maglev.TableSizes;
import io.switchboard.model.Cidr;
import io.switchboard.model.ClusterModel;
import io.switchboard.model.ModelConfig;
import io.switchboard.model.NodePortRange;
import io.switchboard.model.ServiceAllocator;
import io.switchboard.source.KubernetesSource;
import io.switchboard.source.KubernetesSourceMetrics;
import io.switchboard.source.ManifestSource;
import org.agrona.CloseHelper;
import org.agrona.concurrent.Agent;
import org.agrona.concurrent.AgentRunner;
import org.agrona.concurrent.SleepingMillisIdleStrategy;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.io.PrintWriter;
import java.net.SocketException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Consumer;

/** {@code switchboard agent}: the node daemon. */
@Command(name = "agent", mixinStandardHelpOptions = true,
    description = "Run the node agent: load the datapath, follow desired state, program the maps.")
public final class AgentCommand implements Callable<Integer>
{
    @Option(names = "--node-name", description = "This node's name (default: the host name).")
    private String nodeName;

    @Option(names = "--node-ip", description = "A node address NodePorts answer on (repeatable; default: "
        + "the node's addresses). The first of each family is also the source of flows translated to reach "
        + "backends on other nodes: give the node's InternalIP first.")
    private List<InetAddress> nodeIps = new ArrayList<>();

    @Option(names = "--xdp-iface", description = "An external interface for the XDP program (repeatable); auto: "
        + "every interface with a default route or one of the node's addresses (--node-ip).")
    private List<String> xdpInterfaces = new ArrayList<>();

    @Option(names = "--generated-replies", defaultValue = "auto", paramLabel = "auto|xdp|tc",
        description = "How the replies sb_xdp generates (refusals of Services without endpoints, ARP / NDP "
            + "answers for LoadBalancer addresses) leave each --xdp-iface: xdp sends them with XDP_TX, tc "
            + "through sb_tc_from_ext and bpf_redirect; auto (default) takes XDP_TX on NICs (a driver with a "
            + "bus device) and tc elsewhere (veth, other virtual devices, unknown drivers).")
    private String generatedReplies;

    @Option(names = "--cgroup", description = "cgroup v2 directory for the socket hooks (ClusterIP at connect time).")
    private Path cgroup;

    @Option(names = "--bpffs-dir", defaultValue = "/sys/fs/bpf/switchboard",
        description = "Where this agent pins its maps and links (default ${DEFAULT-VALUE}).")
    private Path bpffsDirectory;

    @Option(names = "--aeron-dir", description = "Aeron directory; an external media driver there is used if "
        + "one runs, else one is embedded there (default " + "/dev/shm/switchboard-aeron).")
    private Path aeronDirectory;

    @Option(names = "--state-dir", defaultValue = "/var/lib/switchboard",
        description = "Where objects from the CLI and manifests are kept across restarts (default ${DEFAULT-VALUE}).")
    private Path stateDirectory;

    @Option(names = "--manifests", description = "A directory of Kubernetes manifests to follow.")
    private Path manifests;

    @Option(names = "--kubeconfig", paramLabel = "FILE|in-cluster", description = "Follow a Kubernetes API "
        + "server: Services, EndpointSlices and Nodes, through the kubeconfig FILE, or 'in-cluster' for the pod's "
        + "service account.")
    private String kubeconfig;

    @Option(names = "--service-cidr", defaultValue = "10.96.0.0/12",
        description = "Where ClusterIPs are allocated for Services that arrive without one (default ${DEFAULT-VALUE}).")
    private String serviceCidr;

    @Option(names = "--lb-ip-pool", description = "A CIDR LoadBalancer addresses are allocated from when no cloud "
        + "gives one (repeatable).")
    private List<String> loadBalancerPools = new ArrayList<>();

    @Option(names = "--metrics-address", defaultValue = "127.0.0.1:10249",
        description = "host:port of /metrics (and /healthz), loopback as kube-proxy's (default ${DEFAULT-VALUE}); "
            + "'off' serves nothing there.")
    private String metricsAddress;

    @Option(names = "--healthz-address", defaultValue = "0.0.0.0:10256",
        description = "host:port of /healthz alone, for probes and load balancers (kube-proxy's healthz port; "
            + "default ${DEFAULT-VALUE}); 'off' for none.")
    private String healthzAddress;

    @Option(names = "--watch-grace", defaultValue = "60", paramLabel = "SECONDS",
        description = "With --kubeconfig, /healthz fails once the agent has had no live watch on the API server "
            + "for longer than this (default ${DEFAULT-VALUE}); /livez does not, and the datapath keeps serving.")
    private int watchGraceSeconds;

    @Option(names = "--maglev-max-table-size", defaultValue = "65521",
        description = "Largest Maglev table (a prime of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, "
            + "131071); tables hold 100 slots per backend up to it (default ${DEFAULT-VALUE}).")
    private int maglevMaxTableSize;

    @Option(names = "--maglev-seed", defaultValue = "0",
        description = "Cluster-wide Maglev seed; the same on every node (default ${DEFAULT-VALUE}).")
    private int maglevSeed;

    @Option(names = "--snat-port-range", defaultValue = "1024-29999", paramLabel = "FIRST-LAST",
        description = "Source ports of flows translated to reach backends on other nodes; keep it outside "
            + "net.ipv4.ip_local_port_range and the NodePort range (default ${DEFAULT-VALUE}).")
    private String snatPortRange;

    @Option(names = "--dns-listen", paramLabel = "ADDR:PORT", description = "Serve cluster DNS (UDP and TCP) on "
        + "this node address, e.g. 198.18.0.1:53; without it no DNS is served.")
    private String dnsListen;

    @Option(names = "--cluster-domain", defaultValue = "cluster.local",
        description = "The DNS zone of Services and Pods (default ${DEFAULT-VALUE}).")
    private String clusterDomain;

    @Option(names = "--dns-upstream", paramLabel = "ADDR:PORT", description = "Where names outside the cluster "
        + "domain are forwarded; without it they get REFUSED.")
    private String dnsUpstream;

    @Option(names = "--dns-service-ip", description = "The ClusterIP of the DNS Service the agent contributes "
        + "(kube-system/kube-dns, 53/UDP and 53/TCP to --dns-listen on this node), e.g. 10.96.0.10; the "
        + "kubelet's clusterDNS.")
    private InetAddress dnsServiceIp;

    /** Seconds DNS answers may be cached (CoreDNS's default TTL). */
    static final long DNS_TTL_SECONDS = 5;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    private final KernelProbe kernelProbe;

    public AgentCommand()
    {
        this(new LibbpfKernelProbe());
    }

    /** An agent that asks {@code kernelProbe} what the kernel has (tests give a kernel of their making). */
    AgentCommand(final KernelProbe kernelProbe)
    {
        this.kernelProbe = kernelProbe;
    }

    @Override
    public Integer call() throws Exception
    {
        final Consumer<String> log = AgentCommand::log;
        log.accept(BuildInfo.current() + " on Linux " + System.getProperty("os.version"));
        if (kernelLacksFeatures())
        {
            return 1;
        }
        Bpf.require();
        final KubernetesSerialization serialization = new KubernetesSerialization();
        final Path aeronDir = null == aeronDirectory ? ControlPlaneConfiguration.aeronDirectory() : aeronDirectory;
        final List<AutoCloseable> resources = new ArrayList<>();
        final ShutdownOnSignal shutdown = ShutdownOnSignal.install();
        try
        {
            final Datapath datapath = Datapath.load(bpffsDirectory, Datapath.Sizes.defaults());
            resources.add(datapath);
            final MaglevHash hash = new MaglevHash(maglevSeed);
            final DatapathProgrammer programmer = new DatapathProgrammer(datapath.maps(), datapath.tablesDirectory(),
                new MaglevTableBuilder(hash, tableSizes()), tableSizes());
            resources.add(programmer);
            programmer.configure(maglevSeed, 0, 0, 0, 0);
            final List<InetAddress> addresses = nodeIps.isEmpty() ? nodeAddresses() : nodeIps;
            final int[] ports = portRange(snatPortRange);
            final Inet4Address snat4 = firstOf(addresses, Inet4Address.class);
            final Inet6Address snat6 = firstOf(addresses, Inet6Address.class);
            programmer.configureSourceTranslation(snat4, snat6, ports[0], ports[1]);
            log.accept("flows to backends on other nodes leave from " + (null == snat4 ? "-" : snat4.getHostAddress())
                + " / " + (null == snat6 ? "-" : snat6.getHostAddress()) + ", ports " + ports[0] + "-" + ports[1]);
            if (datapath.adopted())
            {
                log.accept("adopted pinned datapath state: " + programmer.adopt() + " frontends");
            }
            final List<String> externalInterfaces = externalInterfaces(addresses);
            programmer.announceOn(announcingInterfaces(externalInterfaces));
            final ReplyPath replies = ReplyPath.parse(generatedReplies);
            for (final String iface : externalInterfaces)
            {
                final Datapath.XdpAttachment attached = datapath.attachXdp(iface, replies);
                final XdpMode mode = attached.mode();
                log.accept("XDP on " + iface + (null == mode ? " (taken over from the previous agent)" :
                    " in " + mode.name().toLowerCase() + " mode") + ", generated replies by " +
                    attached.replies().path().label() + " (" + attached.replies().reason() + ")");
            }
            if (null != cgroup)
            {
                datapath.attachCgroup(cgroup);
                log.accept("socket hooks on cgroup " + cgroup);
            }

            if (!EmbeddedMediaDriver.otherDriverActive(aeronDir))
            {
                resources.add(EmbeddedMediaDriver.launch(aeronDir));
            }
            final Aeron aeron = Aeron.connect(new Aeron.Context().aeronDirectoryName(aeronDir.toString()));
            resources.add(aeron);
            final Subscription subscription = aeron.addSubscription(ControlPlaneConfiguration.CHANNEL,
                ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);

            final ClusterModel model = new ClusterModel(ModelConfig.forNode(nodeName()).withNodeIps(addresses));
            final SwitchboardAgent agent = new SwitchboardAgent(model, programmer, datapath,
                new StateStore(stateDirectory, serialization), new LinkedHashSet<>(externalInterfaces), log);
            agent.adapter(new ControlPlaneAdapter(subscription, agent, serialization, log));
            agent.errors(new ErrorLog(stateDirectory.resolve(ErrorLog.FILE), ErrorLog.CAPACITY, log));
            agent.allocator(new ServiceAllocator(Cidr.parse(serviceCidr), NodePortRange.DEFAULT,
                loadBalancerPools.stream().map(Cidr::parse).toList()));
            final DnsCatalog dns = null == dnsListen ? null : new DnsCatalog(clusterDomain, DNS_TTL_SECONDS);
            final DnsMetrics dnsMetrics = new DnsMetrics();
            final InetSocketAddress dnsAddress = null == dnsListen ? null : dnsListenAddress();
            closeDnsToOutside(programmer, dnsAddress, snat4, snat6);
            if (null != dns)
            {
                agent.dns(dns);
                if (null != dnsServiceIp)
                {
                    final DnsServiceObjects objects = DnsServiceObjects.of(dnsServiceIp, dnsAddress, nodeName());
                    agent.contribute(objects.service(), objects.slice());
                }
            }
            // with an API server, adoption ends with its first complete snapshot: only then is it known
            // which pinned services no longer exist
            agent.restore(null == kubeconfig ? null : SourceKind.KUBERNETES);
            if (null != dns)
            {
                resources.add(DnsServer.start(dnsAddress, dns::zone, null == dnsUpstream ? null :
                    AgentHttpServer.parseAddress("--dns-upstream", dnsUpstream), dnsMetrics, log));
                log.accept("DNS for " + clusterDomain + " on " + dnsListen + (null == dnsServiceIp ? "" :
                    " (Service kube-system/kube-dns at " + dnsServiceIp.getHostAddress() + ")") +
                    (null == dnsUpstream ? ", other names REFUSED" : ", other names to " + dnsUpstream));
            }
            AgentHttpServer http = null;
            if (!"off".equals(metricsAddress) || !"off".equals(healthzAddress))
            {
                http = AgentHttpServer.start(agent::status,
                    DatapathReader.of(datapath.maps()), optionalAddress("--metrics-address", metricsAddress),
                    optionalAddress("--healthz-address", healthzAddress), log);
                resources.add(http);
                http.serveLiveView(agent.liveView(), serialization);
                http.register(agent.errors().metrics());
                if (null != dns)
                {
                    http.register(dnsMetrics);
                }
                log.accept("metrics on " + metricsAddress + ", healthz on " + healthzAddress);
            }

            final AgentRunner runner = new AgentRunner(new AdaptiveIdleStrategy(),
                error -> log.accept(Log.error("agent error: " + error)), null, agent);
            resources.add(runner);
            AgentRunner.startOnThread(runner);

            if (null != manifests)
            {
                startSource(new ManifestSource(manifests, proxy(aeron, serialization, runner), serialization, log), 50,
                    resources);
            }
            if (null != kubeconfig)
            {
                final KubernetesClient client = kubernetesClient(kubeconfig);
                resources.add(client);
                final KubernetesSource source = new KubernetesSource(client, proxy(aeron, serialization, runner), log);
                if (null != http)
                {
                    final KubernetesSourceMetrics sourceHealth = new KubernetesSourceMetrics(source,
                        Duration.ofSeconds(watchGraceSeconds));
                    http.register(sourceHealth);
                    http.healthyOnlyWhile(sourceHealth::unhealthy);
                }
                startSource(source, 1, resources);
                log.accept("following the API server at " + client.getMasterUrl());
            }
            log.accept("agent ready: node " + nodeName() + ", aeron " + aeronDir + ", pins " + bpffsDirectory);
            shutdown.await();
            log.accept("agent stopping; programs stay attached through their pinned links");
            return 0;
        }
        finally
        {
            Collections.reverse(resources);
            CloseHelper.quietCloseAll(resources);
            shutdown.closed();
        }
    }

    /** {@code --xdp-iface}, with {@code auto} replaced by the interfaces {@link ExternalInterfaces} finds. */
    private List<String> externalInterfaces(final List<InetAddress> addresses)
    {
        if (!xdpInterfaces.contains("auto"))
        {
            return xdpInterfaces;
        }
        final List<String> detected = ExternalInterfaces.detect(nodeIps.isEmpty() ? List.of() : addresses);
        if (detected.isEmpty())
        {
            throw new IllegalArgumentException("--xdp-iface=auto: no interface has a default route or a --node-ip "
                + "address; name the external interfaces with --xdp-iface");
        }
        log("--xdp-iface=auto: " + String.join(", ", detected) + " (default route" +
            (nodeIps.isEmpty() ? "" : " or a --node-ip address") + ")");
        final List<String> interfaces = new ArrayList<>(detected);
        xdpInterfaces.stream().filter(name -> !"auto".equals(name) && !interfaces.contains(name))
            .forEach(interfaces::add);
        return interfaces;
    }

    /**
     * Probes the kernel for everything the datapath needs before anything on the machine is changed; on a
     * kernel that lacks some, prints one line per missing feature with the oldest kernel that has it.
     */
    private boolean kernelLacksFeatures()
    {
        final KernelRequirements.Report report = KernelRequirements.check(kernelProbe);
        final PrintWriter err = spec.commandLine().getErr();
        for (final String problem : report.problems())
        {
            err.println(stamp(Log.error(problem)));
        }
        for (final KernelRequirements.Check fallback : report.fallbacks())
        {
            err.println(stamp(Log.warn(fallback.line())));
        }
        if (!report.missing().isEmpty())
        {
            err.println(stamp(Log.error("the datapath cannot run on Linux " + System.getProperty("os.version") +
                "; nothing was changed ('switchboard doctor' shows every feature)")));
        }
        err.flush();
        return !report.missing().isEmpty();
    }

    /** An address flag's value, or null for {@code off}. */
    private static InetSocketAddress optionalAddress(final String flag, final String value)
    {
        return "off".equals(value) ? null : AgentHttpServer.parseAddress(flag, value);
    }

    /**
     * The DNS server answers the node and its pods, never the outside (where it would be an open resolver): its
     * port on the node address is closed in {@code sb_xdp}. That holds when {@code --dns-listen} is the first
     * {@code --node-ip} of its family (the DaemonSet's {@code $(NODE_IP)}); otherwise the agent says so.
     */
    private void closeDnsToOutside(final DatapathProgrammer programmer, final InetSocketAddress dns,
        final Inet4Address node4, final Inet6Address node6)
    {
        if (null == dns)
        {
            programmer.closeNodePort(0);
            return;
        }
        if (dns.getAddress().equals(node4) || dns.getAddress().equals(node6))
        {
            programmer.closeNodePort(dns.getPort());
            log("DNS on " + dnsListen + " answers this node and its pods; sb_xdp drops queries from outside");
            return;
        }
        programmer.closeNodePort(0);
        log(Log.warn("DNS on " + dnsListen + " is reachable from outside the node: only the first --node-ip of its "
            + "family is closed to the outside (give --dns-listen that address)"));
    }

    /** {@code --dns-listen}: a concrete address, as it is the DNS Service's endpoint. */
    private InetSocketAddress dnsListenAddress()
    {
        final InetSocketAddress address = AgentHttpServer.parseAddress("--dns-listen", dnsListen);
        if (address.getAddress().isAnyLocalAddress())
        {
            throw new IllegalArgumentException("--dns-listen " + dnsListen + ": needs this node's address, not "
                + "the wildcard (it is the DNS Service's endpoint)");
        }
        if (null != dnsServiceIp && (dnsServiceIp instanceof Inet6Address) != (address.getAddress() instanceof Inet6Address))
        {
            throw new IllegalArgumentException("--dns-service-ip " + dnsServiceIp.getHostAddress() + " and --dns-listen "
                + dnsListen + " are of different IP families");
        }
        if (null != dnsUpstream)
        {
            final InetSocketAddress upstream = AgentHttpServer.parseAddress("--dns-upstream", dnsUpstream);
            if (upstream.equals(address) || (upstream.getAddress().equals(dnsServiceIp) && upstream.getPort() == 53))
            {
                throw new IllegalArgumentException("--dns-upstream " + dnsUpstream + " is this agent's own DNS "
                    + "server: names outside the zone would be forwarded in a loop");
            }
        }
        return address;
    }

    /** A proxy on a publication of its own: each source publishes from its own thread. */
    /** A publisher in this process: it wakes the agent's thread after each update (AdaptiveIdleStrategy). */
    private static DesiredStateProxy proxy(final Aeron aeron, final KubernetesSerialization serialization,
        final AgentRunner agent)
    {
        final Publication publication = aeron.addPublication(ControlPlaneConfiguration.CHANNEL,
            ControlPlaneConfiguration.DESIRED_STATE_STREAM_ID);
        return new DesiredStateProxy(publication, serialization)
            .wakeAfterEachOffer(() -> AdaptiveIdleStrategy.wake(agent.thread()));
    }

    /** Runs a source on its own thread, idling {@code idleMs} between empty duty cycles; stopped with resources. */
    private static void startSource(final Agent source, final long idleMs, final List<AutoCloseable> resources)
    {
        final AgentRunner runner = new AgentRunner(new SleepingMillisIdleStrategy(idleMs),
            error -> log(source.roleName() + " error: " + error), null, source);
        resources.add(runner);
        AgentRunner.startOnThread(runner);
    }

    /** A client from a kubeconfig file, or from the pod's service account for "in-cluster". */
    static KubernetesClient kubernetesClient(final String kubeconfig) throws java.io.IOException
    {
        if ("in-cluster".equals(kubeconfig))
        {
            return new KubernetesClientBuilder().build();
        }
        // from the file, so certificate and key paths in it are taken relative to it
        final Config config = Config.fromKubeconfig(Path.of(kubeconfig).toFile());
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    private TableSizes tableSizes()
    {
        return new TableSizes(TableSizes.defaults().minimum(), maglevMaxTableSize);
    }

    private String nodeName()
    {
        if (null != nodeName)
        {
            return nodeName;
        }
        try
        {
            return InetAddress.getLocalHost().getHostName();
        }
        catch (final java.net.UnknownHostException ex)
        {
            return "localhost";
        }
    }

    /**
     * ifindex → MAC of each XDP interface, where LoadBalancer addresses are announced. Read through
     * the calling thread's network namespace (SIOCGIFHWADDR), not /sys/class/net, which shows the
     * namespace sysfs was mounted in.
     */
    static Map<Integer, byte[]> announcingInterfaces(final List<String> interfaces) throws SocketException
    {
        final Map<Integer, byte[]> announcing = new LinkedHashMap<>();
        for (final String name : interfaces)
        {
            final NetworkInterface iface = NetworkInterface.getByName(name);
            final byte[] mac = null == iface ? null : iface.getHardwareAddress();
            if (null == mac || mac.length != 6)
            {
                log(Log.warn("--xdp-iface " + name + ": no Ethernet address, LoadBalancer addresses are not announced on it"));
                continue;
            }
            announcing.put(Interfaces.index(name), mac);
        }
        return announcing;
    }

    /** {@code FIRST-LAST} as two ports; one clear error naming the flag otherwise. */
    static int[] portRange(final String range)
    {
        final String[] parts = range.split("-", -1);
        try
        {
            if (2 == parts.length)
            {
                final int first = Integer.parseInt(parts[0].strip());
                final int last = Integer.parseInt(parts[1].strip());
                if (1 <= first && first <= last && last <= 65_535)
                {
                    return new int[] {first, last};
                }
            }
        }
        catch (final NumberFormatException ignored)
        {
            // reported below
        }
        throw new IllegalArgumentException("--snat-port-range " + range + ": want FIRST-LAST with "
            + "1 <= FIRST <= LAST <= 65535");
    }

    private static <T extends InetAddress> T firstOf(final List<InetAddress> addresses, final Class<T> family)
    {
        for (final InetAddress address : addresses)
        {
            if (family.isInstance(address))
            {
                return family.cast(address);
            }
        }
        return null;
    }

    /** The node's global addresses: every address of every interface but loopback and link-local ones. */
    public static List<InetAddress> nodeAddresses() throws SocketException, java.net.UnknownHostException
    {
        final List<InetAddress> addresses = new ArrayList<>();
        for (final NetworkInterface iface : Collections.list(NetworkInterface.getNetworkInterfaces()))
        {
            for (final InetAddress address : Collections.list(iface.getInetAddresses()))
            {
                if (!address.isLoopbackAddress() && !address.isLinkLocalAddress())
                {
                    // without the interface scope, as Kubernetes writes addresses
                    addresses.add(address instanceof Inet6Address ?
                        InetAddress.getByAddress(address.getAddress()) : address);
                }
            }
        }
        return addresses;
    }

    /** The agent's log: one line each, {@code <time> <LEVEL> switchboard: <message>} ({@link Log}). */
    static void log(final String message)
    {
        System.err.println(stamp(message));
    }

    private static String stamp(final String message)
    {
        final String level = Log.level(message);
        return Instant.now() + " " + level + " ".repeat(6 - level.length()) + "switchboard: " + Log.text(message);
    }
}
