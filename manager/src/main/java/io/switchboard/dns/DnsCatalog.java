package io.switchboard.dns;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.model.IpAddresses;
import io.switchboard.model.NamespacedName;
import org.xbill.DNS.Name;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What DNS needs of the Services and EndpointSlices the agent accepted, kept by the agent thread alone.
 * Each change marks its Service stale; {@link #publish()} rebuilds only the stale Services' records and replaces
 * them in the {@link Zone}, which the DNS server threads read without locks: a change costs what it changes.
 */
public final class DnsCatalog
{
    /** A Service's DNS-relevant fields. */
    private record ServiceEntry(String type, String externalName, List<InetAddress> clusterIPs, boolean headless,
        boolean publishNotReady, List<ServicePort> ports)
    {
    }

    /** One endpoint of a slice: its addresses, whether DNS shows it, its hostname (may be null). */
    private record EndpointEntry(List<InetAddress> addresses, boolean ready, String hostname)
    {
    }

    private record SliceEntry(NamespacedName service, List<EndpointEntry> endpoints, List<EndpointPort> ports)
    {
    }

    private final Name domain;
    private final long ttl;
    private final Map<NamespacedName, ServiceEntry> services = new HashMap<>();
    private final Map<NamespacedName, SliceEntry> slices = new HashMap<>();
    private final Map<NamespacedName, Set<NamespacedName>> slicesByService = new HashMap<>();
    private final Set<NamespacedName> stale = new HashSet<>();
    private final AtomicReference<Zone> published;

    /**
     * @param clusterDomain the zone, such as {@code cluster.local}
     * @param ttl           seconds every answer may be cached
     */
    public DnsCatalog(final String clusterDomain, final long ttl)
    {
        this.domain = Zone.absolute(clusterDomain);
        this.ttl = ttl;
        this.published = new AtomicReference<>(new Zone(domain, ttl, serial()));
    }

    /** The zone last published; what the DNS server answers from. */
    public Zone zone()
    {
        return published.get();
    }

    /** Whether something changed since the last {@link #publish()}. */
    public boolean changed()
    {
        return !stale.isEmpty();
    }

    /** Adds or replaces a Service the model accepted. */
    public void upsert(final Service service)
    {
        final NamespacedName name = NamespacedName.of(service);
        final var spec = service.getSpec();
        final List<InetAddress> clusterIPs = new ArrayList<>();
        final List<String> ips = null != spec.getClusterIPs() && !spec.getClusterIPs().isEmpty() ? spec.getClusterIPs() :
            null == spec.getClusterIP() ? List.of() : List.of(spec.getClusterIP());
        for (final String ip : ips)
        {
            if (!"None".equals(ip) && !ip.isEmpty())
            {
                clusterIPs.add(IpAddresses.parse(ip));
            }
        }
        final String type = null == spec.getType() ? "ClusterIP" : spec.getType();
        services.put(name, new ServiceEntry(type, spec.getExternalName(), List.copyOf(clusterIPs),
            clusterIPs.isEmpty(), Boolean.TRUE.equals(spec.getPublishNotReadyAddresses()),
            null == spec.getPorts() ? List.of() : List.copyOf(spec.getPorts())));
        stale.add(name);
    }

    /** Removes a Service. */
    public void deleteService(final NamespacedName name)
    {
        if (null != services.remove(name))
        {
            stale.add(name);
        }
    }

    /** Adds or replaces an EndpointSlice the model accepted. */
    public void upsert(final EndpointSlice slice)
    {
        final NamespacedName name = NamespacedName.of(slice);
        deleteSlice(name);
        final Map<String, String> labels = slice.getMetadata().getLabels();
        final String serviceName = null == labels ? null : labels.get("kubernetes.io/service-name");
        if (null == serviceName || serviceName.isEmpty() ||
            !("IPv4".equals(slice.getAddressType()) || "IPv6".equals(slice.getAddressType())))
        {
            return;
        }
        final NamespacedName service = new NamespacedName(name.namespace(), serviceName);
        final List<EndpointEntry> endpoints = new ArrayList<>();
        for (final Endpoint endpoint : Objects.requireNonNullElse(slice.getEndpoints(), List.<Endpoint>of()))
        {
            final List<InetAddress> addresses = new ArrayList<>();
            Objects.requireNonNullElse(endpoint.getAddresses(), List.<String>of())
                .forEach(address -> addresses.add(IpAddresses.parse(address)));
            final var conditions = endpoint.getConditions();
            final boolean ready = null == conditions || null == conditions.getReady() || conditions.getReady();
            endpoints.add(new EndpointEntry(List.copyOf(addresses), ready, endpoint.getHostname()));
        }
        slices.put(name, new SliceEntry(service, List.copyOf(endpoints),
            null == slice.getPorts() ? List.of() : List.copyOf(slice.getPorts())));
        slicesByService.computeIfAbsent(service, s -> new HashSet<>()).add(name);
        stale.add(service);
    }

    /** Removes an EndpointSlice. */
    public void deleteSlice(final NamespacedName name)
    {
        final SliceEntry previous = slices.remove(name);
        if (null == previous)
        {
            return;
        }
        final Set<NamespacedName> names = slicesByService.get(previous.service());
        if (null != names && names.remove(name) && names.isEmpty())
        {
            slicesByService.remove(previous.service());
        }
        stale.add(previous.service());
    }

    /** Rebuilds the records of every Service changed since the last call and publishes the new zone. */
    public Zone publish()
    {
        final Zone zone = published.get();
        for (final NamespacedName name : stale)
        {
            final ServiceEntry service = services.get(name);
            zone.put(name, null == service ? null : records(name, service));
        }
        stale.clear();
        zone.serial(serial());
        return zone;
    }

    private Zone.ServiceRecords records(final NamespacedName name, final ServiceEntry service)
    {
        final Name owner = Zone.serviceName(domain, name);
        if ("ExternalName".equals(service.type()))
        {
            final String target = null == service.externalName() ? "" : service.externalName();
            return new Zone.ServiceRecords(owner, Zone.Kind.EXTERNAL_NAME, List.of(), Map.of(), List.of(),
                target.isEmpty() ? null : Zone.absolute(target));
        }
        if (!service.headless())
        {
            final List<Zone.Srv> srv = new ArrayList<>();
            for (final ServicePort port : service.ports())
            {
                if (null != port.getName() && !port.getName().isEmpty())
                {
                    srv.add(new Zone.Srv(port.getName().toLowerCase(Locale.ROOT), protocol(port.getProtocol()),
                        port.getPort(), owner));
                }
            }
            return new Zone.ServiceRecords(owner, Zone.Kind.CLUSTER_IP, service.clusterIPs(), Map.of(),
                List.copyOf(srv), null);
        }
        // headless: one record per endpoint DNS shows, a host name for each, SRV per endpoint and named port
        final List<InetAddress> addresses = new ArrayList<>();
        final Map<String, List<InetAddress>> hosts = new LinkedHashMap<>();
        final List<Zone.Srv> srv = new ArrayList<>();
        for (final NamespacedName sliceName : slicesByService.getOrDefault(name, Set.of()).stream().sorted(
            (a, b) -> a.name().compareTo(b.name())).toList())
        {
            final SliceEntry slice = slices.get(sliceName);
            for (final EndpointEntry endpoint : slice.endpoints())
            {
                if (!endpoint.ready() && !service.publishNotReady() || endpoint.addresses().isEmpty())
                {
                    continue;
                }
                final String host = null == endpoint.hostname() || endpoint.hostname().isEmpty()
                    ? Zone.dashed(endpoint.addresses().getFirst()) : endpoint.hostname().toLowerCase(Locale.ROOT);
                final List<InetAddress> hostAddresses = hosts.computeIfAbsent(host, h -> new ArrayList<>());
                for (final InetAddress address : endpoint.addresses())
                {
                    if (!addresses.contains(address))
                    {
                        addresses.add(address);
                    }
                    if (!hostAddresses.contains(address))
                    {
                        hostAddresses.add(address);
                    }
                }
                final Name target = Zone.child(host, owner);
                for (final EndpointPort port : slice.ports())
                {
                    if (null != port.getName() && !port.getName().isEmpty() && null != port.getPort())
                    {
                        final Zone.Srv record = new Zone.Srv(port.getName().toLowerCase(Locale.ROOT),
                            protocol(port.getProtocol()), port.getPort(), target);
                        if (!srv.contains(record))
                        {
                            srv.add(record);
                        }
                    }
                }
            }
        }
        final Map<String, List<InetAddress>> frozen = new LinkedHashMap<>();
        hosts.forEach((host, list) -> frozen.put(host, List.copyOf(list)));
        return new Zone.ServiceRecords(owner, Zone.Kind.HEADLESS, List.copyOf(addresses), frozen, List.copyOf(srv),
            null);
    }

    private static long serial()
    {
        return System.currentTimeMillis() / 1000 & 0xFFFF_FFFFL;
    }

    private static String protocol(final String protocol)
    {
        return (null == protocol ? "TCP" : protocol).toLowerCase(Locale.ROOT);
    }
}
