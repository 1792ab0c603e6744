package io.switchboard.model;

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
 */
public final class ServiceAllocator
{
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
        if ("LoadBalancer".equals(type) && !hasIngress && !loadBalancerPools.isEmpty())
        {
            final InetAddress requested = requestedLoadBalancerIp(service);
            final InetAddress address = null != requested && free(loadBalancerIps, requested, name) ?
                claim(loadBalancerIps, requested, name) : allocatePool(name);
            if (null != address)
            {
                builder.editOrNewStatus().editOrNewLoadBalancer()
                    .withIngress(new LoadBalancerIngressBuilder().withIp(IpAddresses.format(address))
                        .withIpMode("VIP").build())
                    .endLoadBalancer().endStatus();
            }
        }
        return builder.build();
    }

    /** Releases what a deleted Service held. */
    public void release(final NamespacedName service)
    {
        clusterIps.values().removeIf(service::equals);
        nodePortOwners.values().removeIf(owner -> owner.startsWith(service + "#"));
        loadBalancerIps.values().removeIf(service::equals);
    }

    private InetAddress requestedLoadBalancerIp(final Service service)
    {
        final String requested = service.getSpec().getLoadBalancerIP();
        if (null == requested || requested.isEmpty())
        {
            return null;
        }
        final InetAddress address = IpAddresses.parse(requested);
        return loadBalancerPools.stream().anyMatch(pool -> pool.contains(address)) ? address : null;
    }

    private InetAddress allocatePool(final NamespacedName name)
    {
        for (final Cidr pool : loadBalancerPools)
        {
            final InetAddress address = allocate(pool, name, loadBalancerIps);
            if (null != address)
            {
                return address;
            }
        }
        return null; // the pool is full: the Service stays pending
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
