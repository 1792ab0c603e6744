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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The cluster zone: every Service's records, the namespaces that have Services, and the reverse (PTR) names of
 * service and endpoint addresses. The agent thread changes it per Service ({@link DnsCatalog#publish()}: what a
 * change costs does not grow with the cluster); the DNS server threads read it without locks. Each entry is
 * immutable and replaced whole, so a reader sees a Service's old records or its new ones, never a mix.
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
    private volatile long serial;
    private final ConcurrentHashMap<NamespacedName, ServiceRecords> services = new ConcurrentHashMap<>();
    /** Namespace → how many Services it has. */
    private final ConcurrentHashMap<String, Integer> namespaces = new ConcurrentHashMap<>();
    /** Address → its names; each list immutable, replaced whole. */
    private final ConcurrentHashMap<InetAddress, List<Name>> reverse = new ConcurrentHashMap<>();

    Zone(final Name domain, final long ttl, final long serial)
    {
        this.domain = domain;
        this.ttl = ttl;
        this.serial = serial;
    }

    /** Replaces (records non-null) or removes the records of one Service, with its namespace and pointers. */
    void put(final NamespacedName service, final ServiceRecords records)
    {
        final ServiceRecords previous = null == records ? services.remove(service) : services.put(service, records);
        if (null == previous && null != records)
        {
            namespaces.merge(service.namespace(), 1, Integer::sum);
        }
        else if (null != previous && null == records)
        {
            namespaces.computeIfPresent(service.namespace(), (namespace, count) -> count > 1 ? count - 1 : null);
        }
        // the new pointers first, then the old ones no longer named: an address in both never lacks its name
        final Map<InetAddress, List<Name>> added = null == records ? Map.of() : pointers(records);
        added.forEach((address, names) -> names.forEach(name -> pointer(address, name, true)));
        if (null != previous)
        {
            pointers(previous).forEach((address, names) -> names.forEach(name ->
            {
                if (!added.getOrDefault(address, List.of()).contains(name))
                {
                    pointer(address, name, false);
                }
            }));
        }
    }

    /** Marks the zone changed (the SOA serial). */
    void serial(final long value)
    {
        serial = value;
    }

    private static Map<InetAddress, List<Name>> pointers(final ServiceRecords records)
    {
        final Map<InetAddress, List<Name>> pointers = new HashMap<>();
        if (records.kind() == Kind.CLUSTER_IP)
        {
            records.addresses().forEach(address ->
                pointers.computeIfAbsent(address, a -> new ArrayList<>()).add(records.name()));
        }
        records.hosts().forEach((host, addresses) -> addresses.forEach(address ->
            pointers.computeIfAbsent(address, a -> new ArrayList<>()).add(child(host, records.name()))));
        return pointers;
    }

    private void pointer(final InetAddress address, final Name name, final boolean add)
    {
        reverse.compute(address, (a, names) ->
        {
            final List<Name> next = new ArrayList<>(null == names ? List.of() : names);
            if (add && !next.contains(name))
            {
                next.add(name);
            }
            else if (!add)
            {
                next.remove(name);
            }
            return next.isEmpty() ? null : List.copyOf(next);
        });
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
        return namespaces.containsKey(namespace);
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
