package io.switchboard.dns;

import io.switchboard.model.IpAddresses;
import io.switchboard.model.NamespacedName;
import org.xbill.DNS.Name;
import org.xbill.DNS.NameTooLongException;
import org.xbill.DNS.TextParseException;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One immutable view of the cluster zone, published as a whole by the agent thread: every Service's records,
 * the namespaces that have Services, and the reverse (PTR) names of service and endpoint addresses.
 */
public final class Zone
{
    /** How a Service appears in DNS. */
    public enum Kind
    {
        /** A/AAAA of its ClusterIPs. */
        CLUSTER_IP,
        /** A/AAAA of its endpoints DNS shows; NXDOMAIN while there are none. */
        HEADLESS,
        /** A CNAME to {@code spec.externalName}. */
        EXTERNAL_NAME
    }

    /**
     * One SRV record: {@code _<port>._<protocol>.<owner service> SRV 0 weight port target}.
     *
     * @param port     the port name, lowercase
     * @param protocol {@code tcp}, {@code udp} or {@code sctp}
     * @param number   the port number (the service port; the endpoint port for headless Services)
     * @param target   the service name, or an endpoint's host name
     */
    public record Srv(String port, String protocol, int number, Name target)
    {
    }

    /**
     * The records of one Service; collections are immutable.
     *
     * @param name      {@code <service>.<namespace>.svc.<zone>.}
     * @param kind      how it appears
     * @param addresses ClusterIPs, or the addresses of the endpoints DNS shows (headless)
     * @param hosts     headless only: host name (endpoint hostname, else the dashed address) → its addresses
     * @param srv       one per named port (× endpoint, headless)
     * @param cname     ExternalName only: the target, null when it has none
     */
    public record ServiceRecords(Name name, Kind kind, List<InetAddress> addresses,
        Map<String, List<InetAddress>> hosts, List<Srv> srv, Name cname)
    {
        /** Copies the collections so the records are immutable. */
        public ServiceRecords
        {
            addresses = List.copyOf(addresses);
            hosts = Collections.unmodifiableMap(new LinkedHashMap<>(hosts));
            srv = List.copyOf(srv);
        }

        /** Whether the name exists: a headless Service with nothing to show does not (NXDOMAIN). */
        public boolean exists()
        {
            return kind != Kind.HEADLESS || !addresses.isEmpty();
        }
    }

    private final Name domain;
    private final long ttl;
    private final long serial;
    private final Map<NamespacedName, ServiceRecords> services;
    private final Set<String> namespaces;
    private final Map<InetAddress, List<Name>> reverse;

    Zone(final Name domain, final long ttl, final long serial, final Map<NamespacedName, ServiceRecords> services)
    {
        this.domain = domain;
        this.ttl = ttl;
        this.serial = serial;
        this.services = Map.copyOf(services);
        final Set<String> names = new HashSet<>();
        final Map<InetAddress, List<Name>> pointers = new HashMap<>();
        for (final Map.Entry<NamespacedName, ServiceRecords> entry : this.services.entrySet())
        {
            names.add(entry.getKey().namespace());
            final ServiceRecords records = entry.getValue();
            if (records.kind() == Kind.CLUSTER_IP)
            {
                records.addresses().forEach(address -> pointer(pointers, address, records.name()));
            }
            records.hosts().forEach((host, addresses) ->
                addresses.forEach(address -> pointer(pointers, address, child(host, records.name()))));
        }
        this.namespaces = Set.copyOf(names);
        pointers.replaceAll((address, list) -> List.copyOf(list));
        this.reverse = Map.copyOf(pointers);
    }

    private static void pointer(final Map<InetAddress, List<Name>> pointers, final InetAddress address, final Name name)
    {
        final List<Name> list = pointers.computeIfAbsent(address, a -> new ArrayList<>());
        if (!list.contains(name))
        {
            list.add(name);
        }
    }

    /** The zone's apex, absolute ({@code cluster.local.}). */
    public Name domain()
    {
        return domain;
    }

    /** Seconds every answer may be cached, also the SOA minimum (negative answers). */
    public long ttl()
    {
        return ttl;
    }

    /** The SOA serial: when this zone was published, in seconds since the epoch (changes with the zone). */
    public long serial()
    {
        return serial;
    }

    /** The records of a Service, or null. */
    public ServiceRecords service(final String namespace, final String name)
    {
        return services.get(new NamespacedName(namespace, name));
    }

    /** Whether a namespace has any Service. */
    public boolean hasNamespace(final String namespace)
    {
        return namespaces.contains(namespace);
    }

    /** The names of a service or endpoint address, empty when none. */
    public List<Name> pointers(final InetAddress address)
    {
        return reverse.getOrDefault(address, List.of());
    }

    /** How many Services the zone holds. */
    public int size()
    {
        return services.size();
    }

    static Name absolute(final String name)
    {
        try
        {
            return Name.fromString(name.endsWith(".") ? name : name + ".");
        }
        catch (final TextParseException ex)
        {
            throw new IllegalArgumentException("'" + name + "' is not a domain name: " + ex.getMessage(), ex);
        }
    }

    static Name serviceName(final Name domain, final NamespacedName service)
    {
        return child(service.name(), child(service.namespace(), child("svc", domain)));
    }

    static Name child(final String label, final Name parent)
    {
        try
        {
            return Name.concatenate(Name.fromString(label, null), parent);
        }
        catch (final TextParseException | NameTooLongException ex)
        {
            throw new IllegalArgumentException("'" + label + "." + parent + "' is not a domain name", ex);
        }
    }

    /** CoreDNS's host name of an endpoint without one: its address with dashes ({@code 10-0-0-1}, {@code fd00--1}). */
    static String dashed(final InetAddress address)
    {
        return IpAddresses.format(address).replace('.', '-').replace(':', '-');
    }
}
