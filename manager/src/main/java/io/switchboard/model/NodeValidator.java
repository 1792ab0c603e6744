package io.switchboard.model;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeAddress;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Checks a Node and turns it into a {@link NodeDefinition}, or refuses it with the first wrong field. */
public final class NodeValidator
{
    /** The well-known label holding a node's zone, matched against endpoints' zone hints. */
    public static final String ZONE_LABEL = "topology.kubernetes.io/zone";

    private NodeValidator()
    {
    }

    /**
     * Validates a Node. Only InternalIP and ExternalIP addresses are read (NodePorts answer on them); host names
     * and DNS names are ignored.
     *
     * @throws RejectedObjectException naming the first wrong field
     */
    public static NodeDefinition validate(final Node node)
    {
        // Nodes are cluster-scoped: the namespace part of the name is meaningless and left empty.
        final String name = null == node.getMetadata() || null == node.getMetadata().getName() ? "" : node.getMetadata().getName();
        final Rejecter reject = new Rejecter("Node", new NamespacedName("", name));
        if (name.isEmpty())
        {
            throw reject.at("metadata.name", "is required");
        }
        final List<NodeAddress> nodeAddresses = null == node.getStatus() || null == node.getStatus().getAddresses()
            ? List.of() : node.getStatus().getAddresses();
        final List<InetAddress> addresses = new ArrayList<>(nodeAddresses.size());
        for (int i = 0; i < nodeAddresses.size(); i++)
        {
            final NodeAddress address = nodeAddresses.get(i);
            if ("InternalIP".equals(address.getType()) || "ExternalIP".equals(address.getType()))
            {
                final InetAddress parsed = reject.address("status.addresses[" + i + "].address", address.getAddress());
                if (!addresses.contains(parsed))
                {
                    addresses.add(parsed);
                }
            }
        }
        final Map<String, String> labels = null == node.getMetadata().getLabels() ? Map.of() : node.getMetadata().getLabels();
        return new NodeDefinition(name, addresses, labels.getOrDefault(ZONE_LABEL, ""));
    }
}
