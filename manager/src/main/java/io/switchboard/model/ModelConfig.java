package io.switchboard.model;

import java.net.InetAddress;
import java.util.List;
import java.util.Objects;

/**
 * How the model sees this node.
 *
 * @param nodeName            this node's name: endpoints with this {@code nodeName} are local, and only the Node
 *                            of this name is read
 * @param nodeIps             the addresses NodePorts answer on ({@code --node-ip}); when empty, the Node's
 *                            InternalIP and ExternalIP addresses are used
 * @param nodePortRange       the apiserver's {@code --service-node-port-range}
 * @param preferSameNodeHints honour same-node topology hints (kube-proxy's PreferSameTrafficDistribution gate)
 */
public record ModelConfig(String nodeName, List<InetAddress> nodeIps, NodePortRange nodePortRange, boolean preferSameNodeHints)
{
    /** Checks the name and copies the list. */
    public ModelConfig
    {
        Objects.requireNonNull(nodeName, "nodeName");
        Objects.requireNonNull(nodePortRange, "nodePortRange");
        nodeIps = List.copyOf(nodeIps);
    }

    /** Defaults for a node: addresses from its Node object, the default nodePort range, same-node hints honoured. */
    public static ModelConfig forNode(final String nodeName)
    {
        return new ModelConfig(nodeName, List.of(), NodePortRange.DEFAULT, true);
    }

    /** The same configuration with fixed NodePort addresses. */
    public ModelConfig withNodeIps(final List<InetAddress> addresses)
    {
        return new ModelConfig(nodeName, addresses, nodePortRange, preferSameNodeHints);
    }

    /** The same configuration with another nodePort range. */
    public ModelConfig withNodePortRange(final NodePortRange range)
    {
        return new ModelConfig(nodeName, nodeIps, range, preferSameNodeHints);
    }
}
