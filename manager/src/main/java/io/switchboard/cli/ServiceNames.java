package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Service;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathReader;
import io.switchboard.model.NodePortRange;
import io.switchboard.model.RejectedObjectException;
import io.switchboard.model.ServiceAllocator;
import io.switchboard.model.ServiceDefinition;
import io.switchboard.model.ServicePortDefinition;
import io.switchboard.model.ServiceValidator;

import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The names of frontends: pinned maps hold addresses, ports and svc_ids only, so the Services the agent holds
 * (its live view, or {@code --state-dir} when no agent answers: {@link AgentObjects}) say which
 * {@code namespace/name:port} each one is. A frontend no known Service explains is shown by its address.
 */
final class ServiceNames
{
    private record Exact(InetAddress address, int port, int protocol)
    {
    }

    private record NodePort(int port, int protocol)
    {
    }

    /** A LoadBalancer port without an address, and why (the allocator's condition). */
    record Pending(String name, int port, int protocol, String reason)
    {
    }

    private final Map<Exact, String> exact = new HashMap<>();
    private final List<Pending> pending = new ArrayList<>();
    private final Map<NodePort, String> nodePorts = new HashMap<>();
    private final List<HasMetadata> objects;

    private ServiceNames(final List<HasMetadata> objects)
    {
        this.objects = objects;
        final ServiceValidator validator = new ServiceValidator(NodePortRange.DEFAULT);
        for (final HasMetadata object : objects)
        {
            if (!(object instanceof Service service))
            {
                continue;
            }
            final ServiceDefinition definition;
            try
            {
                definition = validator.validate(service);
            }
            catch (final RejectedObjectException ex)
            {
                continue;
            }
            for (final ServicePortDefinition port : definition.ports())
            {
                final String name = definition.name() + ":" + (port.name().isEmpty() ? port.port() : port.name());
                final int protocol = protocolNumber(port.protocol());
                final List<InetAddress> addresses = new ArrayList<>(definition.clusterIPs());
                addresses.addAll(definition.externalIPs());
                addresses.addAll(definition.loadBalancerVips());
                for (final InetAddress address : addresses)
                {
                    exact.put(new Exact(address, port.port(), protocol), name);
                }
                if (port.nodePort() > 0)
                {
                    nodePorts.put(new NodePort(port.nodePort(), protocol), name);
                }
                final String reason = ServiceAllocator.pendingReason(service);
                if (null != reason)
                {
                    pending.add(new Pending(name, port.port(), protocol, reason));
                }
            }
        }
    }

    /** The Services of {@code objects}: the agent's live view, or the state directory when no agent answers. */
    static ServiceNames of(final AgentObjects objects)
    {
        return new ServiceNames(objects.objects());
    }

    /** The LoadBalancer ports kept without an address. */
    List<Pending> pending()
    {
        return pending;
    }

    List<HasMetadata> objects()
    {
        return objects;
    }

    /** {@code namespace/name:port} of a frontend, or null when no kept Service has it. */
    String nameOf(final DatapathReader.ServiceEntry entry)
    {
        final String name = exact.get(new Exact(entry.address(), entry.port(), entry.protocol()));
        if (null != name || (entry.flags() & DatapathAbi.SVC_F_NODEPORT) == 0)
        {
            return name;
        }
        return nodePorts.get(new NodePort(entry.port(), entry.protocol()));
    }

    /** For each svc_id, the name of its first named frontend (else its first frontend's address). */
    Map<Integer, String> bySvcId(final List<DatapathReader.ServiceEntry> entries)
    {
        final Map<Integer, String> names = new HashMap<>();
        for (final DatapathReader.ServiceEntry entry : entries)
        {
            final String name = nameOf(entry);
            if (null != name)
            {
                names.put(entry.svcId(), name);
            }
            else
            {
                names.putIfAbsent(entry.svcId(), GetCommand.frontend(entry.address(), entry.port(), entry.protocol()));
            }
        }
        return names;
    }

    static int protocolNumber(final io.switchboard.model.Protocol protocol)
    {
        return protocol == io.switchboard.model.Protocol.TCP ? DatapathAbi.PROTO_TCP : DatapathAbi.PROTO_UDP;
    }
}
