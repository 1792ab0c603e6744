package io.switchboard.model;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Resolves one validated Service, with its EndpointSlices, into the state of each of its service ports on this
 * node. A pure function: the same inputs give equal states.
 */
public final class ServicePortResolver
{
    private ServicePortResolver()
    {
    }

    /**
     * The state of every service port of a Service; empty when the Service gets no dataplane entries
     * (headless, ExternalName, labelled for another proxy).
     *
     * @param service the Service
     * @param slices  its EndpointSlices (others, FQDN and unlabelled ones are ignored)
     * @param node    this node
     */
    public static Map<ServicePortKey, ServicePortState> resolve(
        final ServiceDefinition service, final Collection<EndpointSliceDefinition> slices, final NodeContext node)
    {
        if (!service.programmed())
        {
            return Map.of();
        }
        // Slices in name order, so that which duplicate endpoint wins does not depend on arrival order.
        final List<EndpointSliceDefinition> ordered = slices.stream()
            .filter(slice -> slice.contributes() && service.name().equals(slice.service()))
            .sorted(Comparator.comparing((final EndpointSliceDefinition slice) -> slice.name().name()))
            .toList();
        final Map<ServicePortKey, ServicePortState> states = new LinkedHashMap<>();
        for (final ServicePortDefinition port : service.ports())
        {
            final ServicePortKey key = service.keyOf(port);
            states.put(key, resolvePort(service, port, key, ordered, node));
        }
        return states;
    }

    private static ServicePortState resolvePort(
        final ServiceDefinition service,
        final ServicePortDefinition port,
        final ServicePortKey key,
        final List<EndpointSliceDefinition> slices,
        final NodeContext node)
    {
        final List<EndpointCandidate> candidates = candidates(port, slices, node.nodeName());
        final List<ServiceEndpoint> internal = new ArrayList<>();
        final List<ServiceEndpoint> external = new ArrayList<>();
        final List<ServiceEndpoint> clusterWide = new ArrayList<>();
        final boolean externallyAccessible = 0 != port.nodePort() || !service.loadBalancerVips().isEmpty() || !service.externalIPs().isEmpty();
        final Set<IpFamily> familiesWithAnyEndpoints = EnumSet.noneOf(IpFamily.class);
        final Map<IpFamily, Integer> localReady = new EnumMap<>(IpFamily.class);
        for (final IpFamily family : IpFamily.values())
        {
            final List<EndpointCandidate> ofFamily = candidates.stream().filter(candidate -> candidate.endpoint().family() == family).toList();
            if (ofFamily.isEmpty())
            {
                continue;
            }
            final EndpointCategorizer.Categories categories = EndpointCategorizer.categorize(
                ofFamily, service.internalPolicyLocal(), service.externalPolicyLocal(), externallyAccessible, node.topology());
            internal.addAll(service.internalPolicyLocal() ? categories.local() : categories.cluster());
            external.addAll(service.externalPolicyLocal() ? categories.local() : categories.cluster());
            clusterWide.addAll(categories.cluster());
            if (categories.hasAnyEndpoints())
            {
                familiesWithAnyEndpoints.add(family);
            }
            final int localReadyCount = (int)ofFamily.stream().map(EndpointCandidate::endpoint).filter(endpoint -> endpoint.local() && endpoint.ready()).count();
            if (localReadyCount > 0)
            {
                localReady.put(family, localReadyCount);
            }
        }
        internal.sort(ServiceEndpoint.ORDER);
        external.sort(ServiceEndpoint.ORDER);
        clusterWide.sort(ServiceEndpoint.ORDER);
        return new ServicePortState(
            key,
            frontends(service, port, node),
            new EndpointSelection(internal, familiesWithAnyEndpoints),
            // Without external frontends the external choice would be meaningless (kube-proxy does not make it).
            externallyAccessible ? new EndpointSelection(external, familiesWithAnyEndpoints) : EndpointSelection.EMPTY,
            new EndpointSelection(clusterWide, familiesWithAnyEndpoints),
            service.affinityTimeoutSeconds(),
            service.sourceRanges(),
            service.healthCheckNodePort(),
            localReady);
    }

    /**
     * The endpoints of a service port: from each slice whose port has the same name and protocol, at that
     * slice's port number. An address:port listed twice (slices overlap while the controller moves endpoints)
     * counts once; as in kube-proxy, a local copy wins over a remote one.
     */
    private static List<EndpointCandidate> candidates(
        final ServicePortDefinition port, final List<EndpointSliceDefinition> slices, final String nodeName)
    {
        record AddressPort(InetAddress address, int port)
        {
        }
        final Map<AddressPort, EndpointCandidate> byAddress = new LinkedHashMap<>();
        for (final EndpointSliceDefinition slice : slices)
        {
            final SlicePort slicePort = slice.ports().stream()
                .filter(candidate -> candidate.name().equals(port.name()) && candidate.protocol() == port.protocol())
                .findFirst()
                .orElse(null);
            if (null == slicePort)
            {
                continue;
            }
            for (final SliceEndpoint sliceEndpoint : slice.endpoints())
            {
                final boolean local = !nodeName.isEmpty() && nodeName.equals(sliceEndpoint.nodeName());
                final ServiceEndpoint endpoint = new ServiceEndpoint(
                    sliceEndpoint.address(), slicePort.port(), local, sliceEndpoint.ready(), sliceEndpoint.serving(), sliceEndpoint.terminating());
                final AddressPort identity = new AddressPort(endpoint.address(), endpoint.port());
                final EndpointCandidate existing = byAddress.get(identity);
                if (null == existing || (local && !existing.endpoint().local()))
                {
                    byAddress.put(identity, new EndpointCandidate(endpoint, sliceEndpoint.zoneHints(), sliceEndpoint.nodeHints()));
                }
            }
        }
        return List.copyOf(byAddress.values());
    }

    /** ClusterIPs, then NodePorts on each node address, then LB VIPs, then externalIPs; an address:port appears once. */
    private static List<Frontend> frontends(final ServiceDefinition service, final ServicePortDefinition port, final NodeContext node)
    {
        final Map<InetSocketAddress, Frontend> byDestination = new LinkedHashMap<>();
        addFrontends(byDestination, FrontendKind.CLUSTER_IP, service.clusterIPs(), port.port(), port.protocol(), service.affinityTimeoutSeconds());
        if (0 != port.nodePort())
        {
            addFrontends(byDestination, FrontendKind.NODE_PORT, node.addresses(), port.nodePort(), port.protocol(), service.affinityTimeoutSeconds());
        }
        addFrontends(byDestination, FrontendKind.LOAD_BALANCER, service.loadBalancerVips(), port.port(), port.protocol(), service.affinityTimeoutSeconds());
        addFrontends(byDestination, FrontendKind.EXTERNAL_IP, service.externalIPs(), port.port(), port.protocol(), service.affinityTimeoutSeconds());
        return List.copyOf(byDestination.values());
    }

    private static void addFrontends(
        final Map<InetSocketAddress, Frontend> byDestination,
        final FrontendKind kind,
        final List<InetAddress> addresses,
        final int port,
        final Protocol protocol,
        final int affinityTimeoutSeconds)
    {
        for (final InetAddress address : addresses)
        {
            byDestination.putIfAbsent(new InetSocketAddress(address, port), new Frontend(kind, address, port, protocol, affinityTimeoutSeconds));
        }
    }
}
