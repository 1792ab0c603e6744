package io.switchboard.endpoints;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerPort;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodCondition;
import io.fabric8.kubernetes.api.model.PodIP;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPortBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.switchboard.model.NamespacedName;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Derives EndpointSlices from Pods and Service selectors where no Kubernetes API does it, following
 * the EndpointSlice controller: a pod matches when its labels contain the selector and it has an
 * address; {@code ready} is its Ready condition ({@code publishNotReadyAddresses} makes every pod
 * ready); a pod with a {@code deletionTimestamp} is terminating, still {@code serving} while Ready;
 * named {@code targetPort}s resolve per pod from its container ports, so pods resolving them alike
 * share a slice; a pod's {@code hostname} names its endpoint when its {@code subdomain} is the Service. One slice per address family and port mapping, named {@code <service>-sb-<n>}.
 */
public final class EndpointsController
{
    /** Label marking slices this controller owns; slices without it come from elsewhere. */
    public static final String MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
    public static final String MANAGED_BY = "switchboard";
    private static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private final Map<NamespacedName, Pod> pods = new HashMap<>();
    private final Map<NamespacedName, Service> services = new HashMap<>();
    private final Map<NamespacedName, List<EndpointSlice>> derived = new HashMap<>();

    /** What changed for one service: slices to upsert and names of slices to delete. */
    public record SliceChanges(List<EndpointSlice> upserts, List<NamespacedName> deletes)
    {
        public static final SliceChanges NONE = new SliceChanges(List.of(), List.of());

        public SliceChanges merge(final SliceChanges other)
        {
            final List<EndpointSlice> upserted = new ArrayList<>(upserts);
            upserted.addAll(other.upserts);
            final List<NamespacedName> deleted = new ArrayList<>(deletes);
            deleted.addAll(other.deletes);
            return new SliceChanges(upserted, deleted);
        }
    }

    /** Whether a slice is one this controller made. */
    public static boolean isDerived(final EndpointSlice slice)
    {
        final Map<String, String> labels = slice.getMetadata().getLabels();
        return null != labels && MANAGED_BY.equals(labels.get(MANAGED_BY_LABEL));
    }

    public SliceChanges upsertPod(final Pod pod)
    {
        pods.put(name(pod.getMetadata().getNamespace(), pod.getMetadata().getName()), pod);
        return reconcileNamespace(namespaceOf(pod.getMetadata().getNamespace()));
    }

    public SliceChanges deletePod(final NamespacedName pod)
    {
        return null == pods.remove(pod) ? SliceChanges.NONE : reconcileNamespace(pod.namespace());
    }

    public SliceChanges upsertService(final Service service)
    {
        final NamespacedName key = name(service.getMetadata().getNamespace(), service.getMetadata().getName());
        services.put(key, service);
        return reconcile(key);
    }

    public SliceChanges deleteService(final NamespacedName service)
    {
        services.remove(service);
        return reconcile(service);
    }

    private SliceChanges reconcileNamespace(final String namespace)
    {
        SliceChanges changes = SliceChanges.NONE;
        for (final NamespacedName service : List.copyOf(services.keySet()))
        {
            if (service.namespace().equals(namespace))
            {
                changes = changes.merge(reconcile(service));
            }
        }
        return changes;
    }

    private SliceChanges reconcile(final NamespacedName serviceName)
    {
        final Service service = services.get(serviceName);
        final List<EndpointSlice> next = null == service ? List.of() : slicesFor(serviceName, service);
        final List<EndpointSlice> previous = derived.getOrDefault(serviceName, List.of());
        if (next.isEmpty())
        {
            derived.remove(serviceName);
        }
        else
        {
            derived.put(serviceName, next);
        }
        final List<EndpointSlice> upserts = new ArrayList<>();
        for (final EndpointSlice slice : next)
        {
            if (!previous.contains(slice))
            {
                upserts.add(slice);
            }
        }
        final List<NamespacedName> deletes = new ArrayList<>();
        for (final EndpointSlice old : previous)
        {
            if (next.stream().noneMatch(slice -> slice.getMetadata().getName().equals(old.getMetadata().getName())))
            {
                deletes.add(name(old.getMetadata().getNamespace(), old.getMetadata().getName()));
            }
        }
        return upserts.isEmpty() && deletes.isEmpty() ? SliceChanges.NONE : new SliceChanges(upserts, deletes);
    }

    private List<EndpointSlice> slicesFor(final NamespacedName serviceName, final Service service)
    {
        final Map<String, String> selector = null == service.getSpec() ? null : service.getSpec().getSelector();
        if (null == selector || selector.isEmpty() || null == service.getSpec().getPorts())
        {
            return List.of(); // services without a selector get their endpoints from elsewhere
        }
        final boolean publishNotReady = Boolean.TRUE.equals(service.getSpec().getPublishNotReadyAddresses());
        // group the pods' endpoints by (family, resolved ports), as named ports may resolve differently
        final Map<String, List<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint>> groups = new TreeMap<>();
        final Map<String, List<EndpointPort>> groupPorts = new HashMap<>();
        final Map<String, String> groupFamily = new HashMap<>();
        for (final Pod pod : sortedPods(serviceName.namespace()))
        {
            if (!matches(pod, selector))
            {
                continue;
            }
            final List<EndpointPort> ports = resolvePorts(service.getSpec().getPorts(), pod);
            for (final String address : addresses(pod))
            {
                final String family = address.contains(":") ? "IPv6" : "IPv4";
                final String group = family + " " + ports;
                groups.computeIfAbsent(group, g -> new ArrayList<>())
                    .add(endpoint(pod, address, publishNotReady, serviceName.name()));
                groupPorts.put(group, ports);
                groupFamily.put(group, family);
            }
        }
        final List<EndpointSlice> slices = new ArrayList<>();
        int index = 0;
        for (final Map.Entry<String, List<io.fabric8.kubernetes.api.model.discovery.v1.Endpoint>> group :
            groups.entrySet())
        {
            slices.add(new EndpointSliceBuilder()
                .withNewMetadata().withNamespace(serviceName.namespace())
                .withName(serviceName.name() + "-sb-" + index++)
                .addToLabels(SERVICE_NAME_LABEL, serviceName.name())
                .addToLabels(MANAGED_BY_LABEL, MANAGED_BY).endMetadata()
                .withAddressType(groupFamily.get(group.getKey()))
                .withPorts(groupPorts.get(group.getKey()))
                .withEndpoints(group.getValue())
                .build());
        }
        return slices;
    }

    private List<Pod> sortedPods(final String namespace)
    {
        return pods.entrySet().stream()
            .filter(entry -> entry.getKey().namespace().equals(namespace))
            .sorted(Map.Entry.comparingByKey((a, b) -> a.name().compareTo(b.name())))
            .map(Map.Entry::getValue)
            .toList();
    }

    private static boolean matches(final Pod pod, final Map<String, String> selector)
    {
        final Map<String, String> labels = pod.getMetadata().getLabels();
        return null != labels && labels.entrySet().containsAll(selector.entrySet());
    }

    private static List<String> addresses(final Pod pod)
    {
        if (null == pod.getStatus())
        {
            return List.of();
        }
        final Set<String> addresses = new java.util.LinkedHashSet<>();
        if (null != pod.getStatus().getPodIP() && !pod.getStatus().getPodIP().isEmpty())
        {
            addresses.add(pod.getStatus().getPodIP());
        }
        if (null != pod.getStatus().getPodIPs())
        {
            for (final PodIP ip : pod.getStatus().getPodIPs())
            {
                if (null != ip.getIp() && !ip.getIp().isEmpty())
                {
                    addresses.add(ip.getIp());
                }
            }
        }
        return List.copyOf(addresses);
    }

    private static io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint(
        final Pod pod, final String address, final boolean publishNotReady, final String serviceName)
    {
        final boolean podReady = isReady(pod);
        final boolean terminating = null != pod.getMetadata().getDeletionTimestamp();
        // as the controller does: the pod's hostname names the endpoint when its subdomain is the Service
        final boolean named = null != pod.getSpec() && null != pod.getSpec().getHostname() &&
            !pod.getSpec().getHostname().isEmpty() && serviceName.equals(pod.getSpec().getSubdomain());
        return new EndpointBuilder()
            .withAddresses(address)
            .withHostname(named ? pod.getSpec().getHostname() : null)
            .withNodeName(null == pod.getSpec() ? null : pod.getSpec().getNodeName())
            .withNewTargetRef().withKind("Pod").withNamespace(pod.getMetadata().getNamespace())
            .withName(pod.getMetadata().getName()).endTargetRef()
            .withNewConditions()
            .withReady(publishNotReady || (podReady && !terminating))
            .withServing(publishNotReady || podReady)
            .withTerminating(terminating)
            .endConditions()
            .build();
    }

    private static boolean isReady(final Pod pod)
    {
        if (null == pod.getStatus() || null == pod.getStatus().getConditions())
        {
            return false;
        }
        for (final PodCondition condition : pod.getStatus().getConditions())
        {
            if ("Ready".equals(condition.getType()))
            {
                return "True".equals(condition.getStatus());
            }
        }
        return false;
    }

    /** The slice ports of one pod: each service port's targetPort, resolved by name from its containers. */
    private static List<EndpointPort> resolvePorts(final List<ServicePort> servicePorts, final Pod pod)
    {
        final List<EndpointPort> ports = new ArrayList<>();
        for (final ServicePort servicePort : servicePorts)
        {
            final String protocol = null == servicePort.getProtocol() ? "TCP" : servicePort.getProtocol();
            final Integer number = targetPort(servicePort, protocol, pod);
            if (null != number)
            {
                ports.add(new EndpointPortBuilder().withName(null == servicePort.getName() ? "" : servicePort.getName())
                    .withProtocol(protocol).withPort(number).build());
            }
        }
        return ports;
    }

    private static Integer targetPort(final ServicePort servicePort, final String protocol, final Pod pod)
    {
        final IntOrString target = servicePort.getTargetPort();
        if (null == target)
        {
            return servicePort.getPort();
        }
        if (null != target.getIntVal())
        {
            return target.getIntVal();
        }
        final String name = target.getStrVal();
        if (null == pod.getSpec() || null == pod.getSpec().getContainers())
        {
            return null;
        }
        for (final Container container : pod.getSpec().getContainers())
        {
            for (final ContainerPort port : Objects.requireNonNullElse(container.getPorts(), List.<ContainerPort>of()))
            {
                final String portProtocol = null == port.getProtocol() ? "TCP" : port.getProtocol();
                if (name.equals(port.getName()) && protocol.equals(portProtocol))
                {
                    return port.getContainerPort();
                }
            }
        }
        return null; // the pod does not define the named port: not an endpoint for this port
    }

    private static NamespacedName name(final String namespace, final String name)
    {
        return new NamespacedName(namespaceOf(namespace), name);
    }

    private static String namespaceOf(final String namespace)
    {
        return null == namespace || namespace.isEmpty() ? "default" : namespace;
    }

    /** The pods known, for explain. */
    public Map<NamespacedName, Pod> pods()
    {
        return new LinkedHashMap<>(pods);
    }
}
