package io.switchboard.model;

import io.fabric8.kubernetes.api.model.ConditionBuilder;
import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.LoadBalancerIngressBuilder;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.ServicePort;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * What an apiserver fills in when a Service is created, for Services that arrive from manifests or the
 * CLI without one: a ClusterIP from the service CIDR, nodePorts for NodePort and LoadBalancer ports,
 * and a LoadBalancer ingress address from the pool (where bare metal has no cloud to give one).
 * Addresses and ports start at a hash of the Service's namespace and name and probe to the next free
 * one, so the same manifests give the same allocation on every node and after every restart unless
 * two Services collide. Values already set are kept (and claimed), as the apiserver keeps them.
 * A LoadBalancer that gets no address carries the condition {@value #ADDRESS_CONDITION} (status False)
 * whose reason and message say why.
 */
public final class ServiceAllocator
{
    /** The status condition a pending LoadBalancer carries: why it has no address. */
    public static final String ADDRESS_CONDITION = "switchboard.io/LoadBalancerAddress";
    private static final String METALLB_ADDRESSES = "metallb.io/loadBalancerIPs";
    private static final String METALLB_ADDRESSES_LEGACY = "metallb.universe.tf/loadBalancerIPs";

    private final Cidr serviceCidr;
    private final NodePortRange nodePorts;
    private final List<Cidr> loadBalancerPools;
    private final Map<InetAddress, NamespacedName> clusterIps = new HashMap<>();
    /** nodePort → "namespace/name#portIndex" */
    private final Map<Integer, String> nodePortOwners = new HashMap<>();
    private final Map<InetAddress, NamespacedName> loadBalancerIps = new HashMap<>();

    public ServiceAllocator(final Cidr serviceCidr, final NodePortRange nodePorts, final List<Cidr> loadBalancerPools)
    {
        this.serviceCidr = serviceCidr;
        this.nodePorts = nodePorts;
        this.loadBalancerPools = List.copyOf(loadBalancerPools);
    }

    /** 10.96.0.0/12 and 30000-32767, Kubernetes' defaults, and no LoadBalancer pool. */
    public static ServiceAllocator defaults()
    {
        return new ServiceAllocator(Cidr.parse("10.96.0.0/12"), NodePortRange.DEFAULT, List.of());
    }

    /** The Service with every missing allocation filled in; unchanged if nothing was missing. */
    public Service complete(final Service service)
    {
        if (null == service.getSpec() || null == service.getMetadata())
        {
            return service;
        }
        final NamespacedName name = new NamespacedName(
            null == service.getMetadata().getNamespace() ? "default" : service.getMetadata().getNamespace(),
            service.getMetadata().getName());
        final String type = null == service.getSpec().getType() ? "ClusterIP" : service.getSpec().getType();
        if ("ExternalName".equals(type))
        {
            return service;
        }
        final ServiceBuilder builder = new ServiceBuilder(service);
        final String clusterIp = service.getSpec().getClusterIP();
        if (null == clusterIp || clusterIp.isEmpty())
        {
            final String allocated = IpAddresses.format(allocate(serviceCidr, name, clusterIps));
            builder.editSpec().withClusterIP(allocated).withClusterIPs(allocated).endSpec();
        }
        else if (!"None".equals(clusterIp))
        {
            claim(clusterIps, IpAddresses.parse(clusterIp), name);
        }
        final boolean wantsNodePorts = "NodePort".equals(type) || ("LoadBalancer".equals(type) &&
            !Boolean.FALSE.equals(service.getSpec().getAllocateLoadBalancerNodePorts()));
        if (wantsNodePorts && null != service.getSpec().getPorts())
        {
            final List<ServicePort> ports = new ArrayList<>();
            int index = 0;
            for (final ServicePort port : service.getSpec().getPorts())
            {
                final ServicePort copy = new io.fabric8.kubernetes.api.model.ServicePortBuilder(port).build();
                if (null == copy.getNodePort() || copy.getNodePort() == 0)
                {
                    copy.setNodePort(allocateNodePort(name, index));
                }
                else
                {
                    nodePortOwners.putIfAbsent(copy.getNodePort(), name + "#" + index);
                }
                ports.add(copy);
                index++;
            }
            builder.editSpec().withPorts(ports).endSpec();
        }
        final boolean hasIngress = null != service.getStatus() && null != service.getStatus().getLoadBalancer() &&
            null != service.getStatus().getLoadBalancer().getIngress() &&
            !service.getStatus().getLoadBalancer().getIngress().isEmpty();
        if ("LoadBalancer".equals(type) && hasIngress)
        {
            // restored with its address: claim it, so a restart allocates as the first start did
            for (final LoadBalancerIngress ingress : service.getStatus().getLoadBalancer().getIngress())
            {
                if (null != ingress.getIp() && inPool(IpAddresses.parse(ingress.getIp())))
                {
                    claim(loadBalancerIps, IpAddresses.parse(ingress.getIp()), name);
                }
            }
        }
        else if ("LoadBalancer".equals(type) && !loadBalancerPools.isEmpty())
        {
            final Allocation allocation = allocateLoadBalancer(service, name, builder);
            if (allocation.addresses().isEmpty())
            {
                builder.editOrNewStatus().withConditions(new ConditionBuilder().withType(ADDRESS_CONDITION)
                    .withStatus("False").withReason(allocation.reason()).withMessage(allocation.message()).build())
                    .endStatus();
            }
            else
            {
                builder.editOrNewStatus().removeMatchingFromConditions(c -> ADDRESS_CONDITION.equals(c.getType()))
                    .editOrNewLoadBalancer()
                    .withIngress(allocation.addresses().stream().map(address -> new LoadBalancerIngressBuilder()
                        .withIp(IpAddresses.format(address)).withIpMode("VIP").build()).toList())
                    .endLoadBalancer().endStatus();
            }
        }
        return builder.build();
    }

    /** Why a LoadBalancer Service has no address ("reason: message"), or null when it has one or is no LoadBalancer. */
    public static String pendingReason(final Service service)
    {
        if (null == service.getStatus() || null == service.getStatus().getConditions())
        {
            return null;
        }
        return service.getStatus().getConditions().stream()
            .filter(condition -> ADDRESS_CONDITION.equals(condition.getType()) && "False".equals(condition.getStatus()))
            .map(condition -> condition.getReason() + ": " + condition.getMessage()).findFirst().orElse(null);
    }

    /** Releases what a deleted Service held. */
    public void release(final NamespacedName service)
    {
        clusterIps.values().removeIf(service::equals);
        nodePortOwners.values().removeIf(owner -> owner.startsWith(service + "#"));
        loadBalancerIps.values().removeIf(service::equals);
    }

    /** Addresses for a LoadBalancer, or none and why (a condition reason and an operator's message). */
    private record Allocation(List<InetAddress> addresses, String reason, String message)
    {
        static Allocation pending(final String reason, final String message)
        {
            return new Allocation(List.of(), reason, message);
        }
    }

    /**
     * Requested addresses (spec.loadBalancerIP, or MetalLB's loadBalancerIPs annotation) are taken when
     * each is in a pool and free, else the Service stays pending, as MetalLB does; without a request,
     * one address per IP family of the Service from the first pool of that family with room.
     */
    private Allocation allocateLoadBalancer(final Service service, final NamespacedName name,
        final ServiceBuilder completed)
    {
        final List<InetAddress> requested = requestedLoadBalancerIps(service, name);
        if (!requested.isEmpty())
        {
            for (final InetAddress address : requested)
            {
                final String shown = IpAddresses.format(address);
                if (!inPool(address))
                {
                    return Allocation.pending("AddressNotInPool", "requested address " + shown +
                        " is in no --lb-ip-pool (" + pools() + ")");
                }
                if (!free(loadBalancerIps, address, name))
                {
                    return Allocation.pending("AddressInUse", "requested address " + shown + " is used by " +
                        loadBalancerIps.get(address));
                }
            }
            requested.forEach(address -> claim(loadBalancerIps, address, name));
            return new Allocation(requested, "", "");
        }
        final List<InetAddress> addresses = new ArrayList<>();
        final List<String> full = new ArrayList<>();
        for (final IpFamily family : families(completed.buildSpec()))
        {
            boolean hasPool = false;
            InetAddress address = null;
            for (final Cidr pool : loadBalancerPools)
            {
                if (pool.family() == family && null == address)
                {
                    hasPool = true;
                    address = allocate(pool, name, loadBalancerIps);
                }
            }
            if (null != address)
            {
                addresses.add(address);
            }
            else if (hasPool)
            {
                full.add(familyName(family));
            }
        }
        if (!addresses.isEmpty())
        {
            return new Allocation(addresses, "", "");
        }
        return full.isEmpty() ?
            Allocation.pending("NoPoolForFamily", "no --lb-ip-pool of the Service's IP family " +
                String.join("/", families(completed.buildSpec()).stream().map(ServiceAllocator::familyName).toList())) :
            Allocation.pending("PoolExhausted", "every address of the " + String.join("/", full) +
                " --lb-ip-pool (" + pools() + ") is taken");
    }

    private List<InetAddress> requestedLoadBalancerIps(final Service service, final NamespacedName name)
    {
        final Map<String, String> annotations = service.getMetadata().getAnnotations();
        String text = null == annotations ? null : annotations.get(METALLB_ADDRESSES);
        if (null == text && null != annotations)
        {
            text = annotations.get(METALLB_ADDRESSES_LEGACY);
        }
        if (null == text || text.isBlank())
        {
            text = service.getSpec().getLoadBalancerIP();
        }
        final List<InetAddress> addresses = new ArrayList<>();
        if (null != text)
        {
            for (final String part : text.split(","))
            {
                if (!part.isBlank())
                {
                    try
                    {
                        addresses.add(IpAddresses.parse(part.trim()));
                    }
                    catch (final IllegalArgumentException ex)
                    {
                        throw new RejectedObjectException("Service", name, "spec.loadBalancerIP",
                            "not an IP address: " + part.trim());
                    }
                }
            }
        }
        return addresses;
    }

    /** spec.ipFamilies, else the family of the ClusterIP; IPv4 for a headless Service without either. */
    private static List<IpFamily> families(final io.fabric8.kubernetes.api.model.ServiceSpec spec)
    {
        final List<IpFamily> families = new ArrayList<>();
        if (null != spec.getIpFamilies())
        {
            for (final String family : spec.getIpFamilies())
            {
                families.add("IPv6".equals(family) ? IpFamily.IPV6 : IpFamily.IPV4);
            }
        }
        if (families.isEmpty() && null != spec.getClusterIP() && spec.getClusterIP().contains(":"))
        {
            families.add(IpFamily.IPV6);
        }
        if (families.isEmpty())
        {
            families.add(IpFamily.IPV4);
        }
        return families;
    }

    private static String familyName(final IpFamily family)
    {
        return family == IpFamily.IPV4 ? "IPv4" : "IPv6";
    }

    private boolean inPool(final InetAddress address)
    {
        return loadBalancerPools.stream().anyMatch(pool -> pool.contains(address));
    }

    private String pools()
    {
        return String.join(", ", loadBalancerPools.stream().map(Cidr::toString).toList());
    }

    private int allocateNodePort(final NamespacedName name, final int portIndex)
    {
        final int size = nodePorts.last() - nodePorts.first() + 1;
        final String port = name + "#" + portIndex;
        final int start = (int)Long.remainderUnsigned(hash(port), size);
        for (int i = 0; i < size; i++)
        {
            final int candidate = nodePorts.first() + (start + i) % size;
            final String owner = nodePortOwners.get(candidate);
            if (null == owner || owner.equals(port))
            {
                nodePortOwners.put(candidate, port);
                return candidate;
            }
        }
        throw new RejectedObjectException("Service", name, "spec.ports[" + portIndex + "].nodePort",
            "no free node port in " + nodePorts);
    }

    private static InetAddress allocate(final Cidr cidr, final NamespacedName name,
        final Map<InetAddress, NamespacedName> taken)
    {
        for (final Map.Entry<InetAddress, NamespacedName> entry : taken.entrySet())
        {
            if (entry.getValue().equals(name) && cidr.contains(entry.getKey()))
            {
                return entry.getKey();
            }
        }
        final int bits = cidr.network().getAddress().length * 8 - cidr.prefixLength();
        final long size = bits >= 62 ? Long.MAX_VALUE : 1L << bits;
        // skip the network address (and, for IPv4, the broadcast address)
        final long usable = Math.max(1, size - 2);
        final long start = Long.remainderUnsigned(hash(name.toString()), usable);
        final long attempts = Math.min(usable, 1 << 20);
        for (long i = 0; i < attempts; i++)
        {
            final InetAddress candidate = add(cidr.network(), 1 + (start + i) % usable);
            if (!taken.containsKey(candidate))
            {
                taken.put(candidate, name);
                return candidate;
            }
        }
        return null;
    }

    private static boolean free(final Map<InetAddress, NamespacedName> taken, final InetAddress address,
        final NamespacedName name)
    {
        final NamespacedName owner = taken.get(address);
        return null == owner || owner.equals(name);
    }

    private static InetAddress claim(final Map<InetAddress, NamespacedName> taken, final InetAddress address,
        final NamespacedName name)
    {
        taken.putIfAbsent(address, name);
        return address;
    }

    private static InetAddress add(final InetAddress base, final long offset)
    {
        final byte[] bytes = base.getAddress();
        final BigInteger value = new BigInteger(1, bytes).add(BigInteger.valueOf(offset));
        final byte[] raw = value.toByteArray();
        final byte[] result = new byte[bytes.length];
        final int copy = Math.min(raw.length, result.length);
        System.arraycopy(raw, raw.length - copy, result, result.length - copy, copy);
        try
        {
            return InetAddress.getByAddress(result);
        }
        catch (final UnknownHostException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static long hash(final String text)
    {
        final CRC32 crc = new CRC32();
        crc.update(text.getBytes(StandardCharsets.UTF_8));
        return crc.getValue();
    }
}
