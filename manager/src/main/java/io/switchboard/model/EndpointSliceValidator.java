package io.switchboard.model;

import io.fabric8.kubernetes.api.model.discovery.v1.Endpoint;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointConditions;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointHints;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointPort;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.ForNode;
import io.fabric8.kubernetes.api.model.discovery.v1.ForZone;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Checks an EndpointSlice completely and turns it into an {@link EndpointSliceDefinition}, or refuses it with
 * the first wrong field.
 */
public final class EndpointSliceValidator
{
    /** The label naming the Service a slice belongs to. */
    public static final String SERVICE_NAME_LABEL = "kubernetes.io/service-name";

    private static final String KIND = "EndpointSlice";

    private EndpointSliceValidator()
    {
    }

    /**
     * Validates a slice.
     *
     * @throws RejectedObjectException naming the first wrong field
     */
    public static EndpointSliceDefinition validate(final EndpointSlice slice)
    {
        final NamespacedName name = NamespacedName.of(slice);
        final Rejecter reject = new Rejecter(KIND, name);
        if (name.name().isEmpty())
        {
            throw reject.at("metadata.name", "is required");
        }
        final Map<String, String> labels = null == slice.getMetadata().getLabels() ? Map.of() : slice.getMetadata().getLabels();
        final String serviceName = labels.get(SERVICE_NAME_LABEL);
        // kube-proxy ignores slices that name no Service; they are kept so a later label can attach them.
        final NamespacedName service = null == serviceName || serviceName.isEmpty() ? null : new NamespacedName(name.namespace(), serviceName);
        final IpFamily family = family(reject, slice.getAddressType());
        if (null == family)
        {
            return new EndpointSliceDefinition(name, service, null, List.of(), List.of());
        }
        return new EndpointSliceDefinition(name, service, family, ports(reject, slice.getPorts()), endpoints(reject, family, slice.getEndpoints()));
    }

    private static IpFamily family(final Rejecter reject, final String addressType)
    {
        if ("IPv4".equals(addressType))
        {
            return IpFamily.IPV4;
        }
        if ("IPv6".equals(addressType))
        {
            return IpFamily.IPV6;
        }
        if ("FQDN".equals(addressType))
        {
            return null;
        }
        throw reject.at("addressType", null == addressType ? "is required" : "'" + addressType + "' is not IPv4, IPv6 or FQDN");
    }

    private static List<SlicePort> ports(final Rejecter reject, final List<EndpointPort> endpointPorts)
    {
        if (null == endpointPorts)
        {
            return List.of();
        }
        final List<SlicePort> ports = new ArrayList<>(endpointPorts.size());
        for (int i = 0; i < endpointPorts.size(); i++)
        {
            final EndpointPort port = endpointPorts.get(i);
            final String field = "ports[" + i + "]";
            // A nil port means "all ports" in the API; kube-proxy ignores it, and so do we. SCTP Services are
            // refused, so SCTP slice ports have nothing to serve.
            if (null == port.getPort() || "SCTP".equals(port.getProtocol()))
            {
                continue;
            }
            final Protocol protocol = ServiceValidator.protocol(reject, field + ".protocol", port.getProtocol());
            ports.add(new SlicePort(null == port.getName() ? "" : port.getName(), protocol, reject.port(field + ".port", port.getPort())));
        }
        return ports;
    }

    private static List<SliceEndpoint> endpoints(final Rejecter reject, final IpFamily family, final List<Endpoint> sliceEndpoints)
    {
        if (null == sliceEndpoints)
        {
            return List.of();
        }
        final List<SliceEndpoint> endpoints = new ArrayList<>(sliceEndpoints.size());
        for (int i = 0; i < sliceEndpoints.size(); i++)
        {
            final Endpoint endpoint = sliceEndpoints.get(i);
            final String field = "endpoints[" + i + "]";
            final List<String> addresses = null == endpoint.getAddresses() ? List.of() : endpoint.getAddresses();
            if (addresses.isEmpty())
            {
                throw reject.at(field + ".addresses", "needs at least one address");
            }
            InetAddress first = null;
            for (int j = 0; j < addresses.size(); j++)
            {
                final InetAddress address = reject.address(field + ".addresses[" + j + "]", addresses.get(j));
                if (IpFamily.of(address) != family)
                {
                    throw reject.at(field + ".addresses[" + j + "]", addresses.get(j) + " is not an address of the slice's type " + family);
                }
                first = null == first ? address : first;
            }
            final EndpointConditions conditions = null == endpoint.getConditions() ? new EndpointConditions() : endpoint.getConditions();
            final boolean ready = null == conditions.getReady() || conditions.getReady();
            // discovery/v1: "A nil value should be interpreted as true" (kube-proxy does the same).
            final boolean serving = null == conditions.getServing() || conditions.getServing();
            final boolean terminating = null != conditions.getTerminating() && conditions.getTerminating();
            final EndpointHints hints = endpoint.getHints();
            endpoints.add(new SliceEndpoint(
                first, null == endpoint.getNodeName() ? "" : endpoint.getNodeName(), ready, serving, terminating,
                null == hints || null == hints.getForZones() ? Set.of() : hints.getForZones().stream().map(ForZone::getName).filter(Objects::nonNull).collect(Collectors.toSet()),
                null == hints || null == hints.getForNodes() ? Set.of() : hints.getForNodes().stream().map(ForNode::getName).filter(Objects::nonNull).collect(Collectors.toSet())));
        }
        return endpoints;
    }
}
