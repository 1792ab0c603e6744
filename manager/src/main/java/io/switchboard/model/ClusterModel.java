package io.switchboard.model;

import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The current Services, EndpointSlices and this node, resolved into one {@link ServicePortState} per service
 * port. Every update validates its object fully first: a refused object throws
 * {@link RejectedObjectException} and leaves the model as it was. An accepted update re-resolves only the
 * Services it touches and reports which service ports were added, changed or removed, so the caller rewrites
 * only those.
 *
 * <p>Not thread-safe: one agent thread owns it (invariant 7).
 */
public final class ClusterModel
{
    private final ModelConfig config;
    private final ServiceValidator serviceValidator;
    private final ServiceClaims claims = new Claims();

    private final Map<NamespacedName, ServiceDefinition> services = new HashMap<>();
    private final Map<NamespacedName, EndpointSliceDefinition> slices = new HashMap<>();
    private final Map<NamespacedName, Set<NamespacedName>> slicesByService = new HashMap<>();
    private final Map<NamespacedName, Map<ServicePortKey, ServicePortState>> statesByService = new HashMap<>();
    private final Map<NodePortClaim, NamespacedName> nodePortOwners = new HashMap<>();
    private final Map<FrontendClaim, NamespacedName> frontendOwners = new HashMap<>();
    private NodeContext nodeContext;

    /** An empty model for the node {@code config} describes. */
    public ClusterModel(final ModelConfig config)
    {
        this.config = Objects.requireNonNull(config, "config");
        this.serviceValidator = new ServiceValidator(config.nodePortRange());
        this.nodeContext = contextFor(null);
    }

    /**
     * Adds or replaces a Service.
     *
     * @throws RejectedObjectException when the Service is invalid or collides with another; nothing changed
     */
    public ModelChanges upsert(final Service service)
    {
        final ServiceDefinition definition = serviceValidator.validate(service, claims);
        final ServiceDefinition previous = services.put(definition.name(), definition);
        if (definition.equals(previous))
        {
            return ModelChanges.NONE;
        }
        releaseClaims(previous);
        claim(definition);
        return resolve(definition.name());
    }

    /**
     * Adds or replaces an EndpointSlice.
     *
     * @throws RejectedObjectException when the slice is invalid; nothing changed
     */
    public ModelChanges upsert(final EndpointSlice slice)
    {
        final EndpointSliceDefinition definition = EndpointSliceValidator.validate(slice);
        final EndpointSliceDefinition previous = slices.put(definition.name(), definition);
        if (definition.equals(previous))
        {
            return ModelChanges.NONE;
        }
        final NamespacedName previousService = null == previous ? null : previous.service();
        unlinkSlice(definition.name(), previousService);
        if (null != definition.service())
        {
            slicesByService.computeIfAbsent(definition.service(), ignored -> new HashSet<>()).add(definition.name());
        }
        final ModelChanges changes = resolve(definition.service());
        return Objects.equals(previousService, definition.service()) ? changes : changes.and(resolve(previousService));
    }

    /**
     * Adds or replaces a Node. Only this node's Node matters (its addresses and zone); others are validated and
     * otherwise ignored.
     *
     * @throws RejectedObjectException when the Node is invalid; nothing changed
     */
    public ModelChanges upsert(final Node node)
    {
        final NodeDefinition definition = NodeValidator.validate(node);
        if (!config.nodeName().equals(definition.name()))
        {
            return ModelChanges.NONE;
        }
        return replaceNode(definition);
    }

    /** Removes a Service (identified by its namespace and name). */
    public ModelChanges delete(final Service service)
    {
        return deleteService(NamespacedName.of(service));
    }

    /** Removes an EndpointSlice (identified by its namespace and name). */
    public ModelChanges delete(final EndpointSlice slice)
    {
        return deleteEndpointSlice(NamespacedName.of(slice));
    }

    /** Removes a Node; removing this node's Node forgets its addresses and zone. */
    public ModelChanges delete(final Node node)
    {
        final String name = null == node.getMetadata() ? null : node.getMetadata().getName();
        return config.nodeName().equals(name) ? replaceNode(null) : ModelChanges.NONE;
    }

    /** Removes a Service by name; its service ports are reported removed. */
    public ModelChanges deleteService(final NamespacedName name)
    {
        final ServiceDefinition previous = services.remove(name);
        if (null == previous)
        {
            return ModelChanges.NONE;
        }
        releaseClaims(previous);
        return resolve(name);
    }

    /** Removes an EndpointSlice by name. */
    public ModelChanges deleteEndpointSlice(final NamespacedName name)
    {
        final EndpointSliceDefinition previous = slices.remove(name);
        if (null == previous)
        {
            return ModelChanges.NONE;
        }
        unlinkSlice(name, previous.service());
        return resolve(previous.service());
    }

    /** The resolved state of a service port, or null when it gets no dataplane entries. */
    public ServicePortState state(final ServicePortKey key)
    {
        final Map<ServicePortKey, ServicePortState> states = statesByService.get(key.service());
        return null == states ? null : states.get(key);
    }

    /** The resolved states of all service ports. */
    public List<ServicePortState> states()
    {
        final List<ServicePortState> all = new ArrayList<>();
        statesByService.values().forEach(states -> all.addAll(states.values()));
        return all;
    }

    /** The validated Service of a name, or null; it says why a Service is skipped. */
    public ServiceDefinition service(final NamespacedName name)
    {
        return services.get(name);
    }

    /** This node as the model currently sees it. */
    public NodeContext nodeContext()
    {
        return nodeContext;
    }

    private ModelChanges replaceNode(final NodeDefinition definition)
    {
        final NodeContext context = contextFor(definition);
        if (context.equals(nodeContext))
        {
            return ModelChanges.NONE;
        }
        nodeContext = context;
        // Node addresses and zone reach every Service; this is rare, so re-resolve all and report real changes.
        ModelChanges changes = ModelChanges.NONE;
        for (final NamespacedName name : List.copyOf(services.keySet()))
        {
            changes = changes.and(resolve(name));
        }
        return changes;
    }

    private NodeContext contextFor(final NodeDefinition definition)
    {
        final List<InetAddress> addresses = !config.nodeIps().isEmpty() || null == definition ? config.nodeIps() : definition.addresses();
        return new NodeContext(config.nodeName(), addresses, null == definition ? "" : definition.zone(), config.preferSameNodeHints());
    }

    /** Re-resolves one Service (null: none) and records its new states. */
    private ModelChanges resolve(final NamespacedName name)
    {
        if (null == name)
        {
            return ModelChanges.NONE;
        }
        final ServiceDefinition service = services.get(name);
        final Map<ServicePortKey, ServicePortState> after = null == service
            ? Map.of()
            : ServicePortResolver.resolve(service, slicesOf(name), nodeContext);
        final Map<ServicePortKey, ServicePortState> before = statesByService.getOrDefault(name, Map.of());
        if (after.isEmpty())
        {
            statesByService.remove(name);
        }
        else
        {
            statesByService.put(name, after);
        }
        return ModelChanges.between(before, after);
    }

    private Collection<EndpointSliceDefinition> slicesOf(final NamespacedName service)
    {
        final Set<NamespacedName> names = slicesByService.getOrDefault(service, Set.of());
        final List<EndpointSliceDefinition> owned = new ArrayList<>(names.size());
        names.forEach(name -> owned.add(slices.get(name)));
        return owned;
    }

    private void unlinkSlice(final NamespacedName slice, final NamespacedName service)
    {
        final Set<NamespacedName> names = null == service ? null : slicesByService.get(service);
        if (null != names && names.remove(slice) && names.isEmpty())
        {
            slicesByService.remove(service);
        }
    }

    private void claim(final ServiceDefinition service)
    {
        forEachClaim(service, nodePortClaim -> nodePortOwners.put(nodePortClaim, service.name()),
            frontendClaim -> frontendOwners.put(frontendClaim, service.name()));
    }

    private void releaseClaims(final ServiceDefinition service)
    {
        if (null != service)
        {
            forEachClaim(service, nodePortOwners::remove, frontendOwners::remove);
        }
    }

    /** NodePorts are held by every Service (another proxy may serve a labelled one); addresses only by programmed ones. */
    private static void forEachClaim(
        final ServiceDefinition service,
        final Consumer<NodePortClaim> nodePortClaims,
        final Consumer<FrontendClaim> frontendClaims)
    {
        for (final ServicePortDefinition port : service.ports())
        {
            if (0 != port.nodePort())
            {
                nodePortClaims.accept(new NodePortClaim(port.nodePort(), port.protocol()));
            }
            if (service.programmed())
            {
                final List<InetAddress> addresses = new ArrayList<>(service.clusterIPs());
                addresses.addAll(service.externalIPs());
                addresses.addAll(service.loadBalancerVips());
                addresses.forEach(address -> frontendClaims.accept(new FrontendClaim(address, port.port(), port.protocol())));
            }
        }
        if (0 != service.healthCheckNodePort())
        {
            nodePortClaims.accept(new NodePortClaim(service.healthCheckNodePort(), Protocol.TCP));
        }
    }

    private record NodePortClaim(int nodePort, Protocol protocol)
    {
    }

    private record FrontendClaim(InetAddress address, int port, Protocol protocol)
    {
    }

    /** The collision view validation reads. */
    private final class Claims implements ServiceClaims
    {
        @Override
        public NamespacedName nodePortOwner(final int nodePort, final Protocol protocol)
        {
            return nodePortOwners.get(new NodePortClaim(nodePort, protocol));
        }

        @Override
        public NamespacedName frontendOwner(final InetAddress address, final int port, final Protocol protocol)
        {
            return frontendOwners.get(new FrontendClaim(address, port, protocol));
        }
    }
}
