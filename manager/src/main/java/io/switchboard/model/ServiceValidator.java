package io.switchboard.model;

import io.fabric8.kubernetes.api.model.LoadBalancerIngress;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.ServiceSpec;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Checks a Service completely and turns it into a {@link ServiceDefinition}, or refuses it with the first
 * wrong field. Nothing is changed by validation, so a refused Service leaves the previous state in force.
 */
public final class ServiceValidator
{
    /** A Service with this label (any value) belongs to another proxy. */
    public static final String SERVICE_PROXY_NAME_LABEL = "service.kubernetes.io/service-proxy-name";
    /** A Service with this label is handled as headless by every proxy. */
    public static final String HEADLESS_LABEL = "service.kubernetes.io/headless";
    /** {@code sessionAffinityConfig.clientIP.timeoutSeconds} when ClientIP affinity gives none: three hours. */
    public static final int DEFAULT_AFFINITY_TIMEOUT_SECONDS = 10800;
    /** The longest ClientIP affinity the API allows: one day. */
    public static final int MAX_AFFINITY_TIMEOUT_SECONDS = 86400;

    private static final String KIND = "Service";
    private static final String NONE = "None";
    private static final String CLIENT_IP = "ClientIP";
    private static final String LOCAL = "Local";
    private static final String CLUSTER = "Cluster";

    private final NodePortRange nodePortRange;

    /** A validator for nodePorts allocated from {@code nodePortRange}. */
    public ServiceValidator(final NodePortRange nodePortRange)
    {
        this.nodePortRange = Objects.requireNonNull(nodePortRange, "nodePortRange");
    }

    /** Validates a Service on its own, with no other Service holding anything. */
    public ServiceDefinition validate(final Service service)
    {
        return validate(service, ServiceClaims.NONE);
    }

    /**
     * Validates a Service against what other Services hold.
     *
     * @throws RejectedObjectException naming the first wrong field
     */
    public ServiceDefinition validate(final Service service, final ServiceClaims claims)
    {
        final NamespacedName name = NamespacedName.of(service);
        final Rejecter reject = new Rejecter(KIND, name);
        if (name.name().isEmpty())
        {
            throw reject.at("metadata.name", "is required");
        }
        final ServiceSpec spec = service.getSpec();
        if (null == spec)
        {
            throw reject.at("spec", "is required");
        }
        final ServiceType type = null == spec.getType() ? ServiceType.CLUSTER_IP : ServiceType.fromApiName(spec.getType());
        if (null == type)
        {
            throw reject.at("spec.type", "'" + spec.getType() + "' is not ClusterIP, NodePort, LoadBalancer or ExternalName");
        }

        final List<InetAddress> clusterIPs = clusterIPs(reject, spec, type);
        final String skipReason = skipReason(service, type, clusterIPs);
        final List<ServicePortDefinition> ports = ports(reject, spec, type, skipReason.isEmpty(), claims);
        final List<InetAddress> externalIPs = addresses(reject, "spec.externalIPs", spec.getExternalIPs());
        final List<InetAddress> loadBalancerVips = loadBalancerVips(reject, service);
        final List<Cidr> sourceRanges = sourceRanges(reject, spec.getLoadBalancerSourceRanges());
        final int affinityTimeoutSeconds = affinityTimeoutSeconds(reject, spec);
        final boolean internalPolicyLocal = isLocal(reject, "spec.internalTrafficPolicy", spec.getInternalTrafficPolicy());
        final boolean externalPolicyLocal = isLocal(reject, "spec.externalTrafficPolicy", spec.getExternalTrafficPolicy())
            && type.externallyAccessible(!externalIPs.isEmpty());
        final int healthCheckNodePort = healthCheckNodePort(reject, spec, type == ServiceType.LOAD_BALANCER && externalPolicyLocal, ports);

        final ServiceDefinition definition = new ServiceDefinition(
            name, type, skipReason, clusterIPs, externalIPs, loadBalancerVips, sourceRanges,
            affinityTimeoutSeconds, internalPolicyLocal, externalPolicyLocal, healthCheckNodePort, ports);
        checkClaims(reject, definition, claims);
        return definition;
    }

    /** Why kube-proxy would give the Service no rules ({@code ShouldSkipService} and the informer's label filter). */
    private static String skipReason(final Service service, final ServiceType type, final List<InetAddress> clusterIPs)
    {
        final Map<String, String> labels = null == service.getMetadata().getLabels() ? Map.of() : service.getMetadata().getLabels();
        if (type == ServiceType.EXTERNAL_NAME)
        {
            return "ExternalName (DNS only)";
        }
        if (clusterIPs.isEmpty())
        {
            return "headless (no cluster IP)";
        }
        if (labels.containsKey(SERVICE_PROXY_NAME_LABEL))
        {
            return "labelled " + SERVICE_PROXY_NAME_LABEL + " (another proxy's)";
        }
        if (labels.containsKey(HEADLESS_LABEL))
        {
            return "labelled " + HEADLESS_LABEL;
        }
        return "";
    }

    /** The ports; SCTP is refused on a programmed Service and left out of one that gets no entries anyway. */
    private List<ServicePortDefinition> ports(
        final Rejecter reject, final ServiceSpec spec, final ServiceType type, final boolean programmed, final ServiceClaims claims)
    {
        final List<ServicePort> servicePorts = null == spec.getPorts() ? List.of() : spec.getPorts();
        final List<ServicePortDefinition> ports = new ArrayList<>(servicePorts.size());
        final Set<String> names = new HashSet<>();
        final Map<String, Integer> nodePorts = new HashMap<>();
        for (int i = 0; i < servicePorts.size(); i++)
        {
            final ServicePort servicePort = servicePorts.get(i);
            final String field = "spec.ports[" + i + "]";
            final String portName = null == servicePort.getName() ? "" : servicePort.getName();
            if (!names.add(portName))
            {
                throw reject.at(field + ".name", portName.isEmpty()
                    ? "more than one port is unnamed; ports of a multi-port Service need names"
                    : "'" + portName + "' names more than one port");
            }
            if (!programmed && "SCTP".equals(servicePort.getProtocol()))
            {
                continue;
            }
            final Protocol protocol = protocol(reject, field + ".protocol", servicePort.getProtocol());
            final int port = reject.port(field + ".port", servicePort.getPort());
            for (final ServicePortDefinition earlier : ports)
            {
                if (earlier.port() == port && earlier.protocol() == protocol)
                {
                    throw reject.at(field + ".port", port + "/" + protocol + " is already port '" + earlier.name() + "'");
                }
            }
            if (null != servicePort.getTargetPort() && null != servicePort.getTargetPort().getIntVal())
            {
                reject.port(field + ".targetPort", servicePort.getTargetPort().getIntVal());
            }
            final int nodePort = nodePort(reject, field + ".nodePort", servicePort.getNodePort(), type);
            if (0 != nodePort && null != nodePorts.putIfAbsent(nodePort + "/" + protocol, i))
            {
                throw reject.at(field + ".nodePort", nodePort + "/" + protocol + " is already used by spec.ports["
                    + nodePorts.get(nodePort + "/" + protocol) + "]");
            }
            final NamespacedName nodePortOwner = 0 == nodePort ? null : claims.nodePortOwner(nodePort, protocol);
            if (null != nodePortOwner && !nodePortOwner.equals(reject.object()))
            {
                throw reject.at(field + ".nodePort",
                    "port is already allocated: " + nodePort + "/" + protocol + " belongs to Service " + nodePortOwner);
            }
            ports.add(new ServicePortDefinition(portName, protocol, port, nodePort));
        }
        return ports;
    }

    private int nodePort(final Rejecter reject, final String field, final Integer value, final ServiceType type)
    {
        if (null == value || 0 == value)
        {
            return 0;
        }
        if (type != ServiceType.NODE_PORT && type != ServiceType.LOAD_BALANCER)
        {
            throw reject.at(field, "may only be set when type is NodePort or LoadBalancer, not " + type.apiName());
        }
        return inNodePortRange(reject, field, value);
    }

    private int inNodePortRange(final Rejecter reject, final String field, final int value)
    {
        if (!nodePortRange.contains(value))
        {
            throw reject.at(field, value + " is not in the valid node port range " + nodePortRange);
        }
        return value;
    }

    static Protocol protocol(final Rejecter reject, final String field, final String value)
    {
        if (null == value || "TCP".equals(value))
        {
            return Protocol.TCP;
        }
        if ("UDP".equals(value))
        {
            return Protocol.UDP;
        }
        if ("SCTP".equals(value))
        {
            throw reject.at(field, "SCTP is not supported by Switchboard yet");
        }
        throw reject.at(field, "'" + value + "' is not TCP, UDP or SCTP");
    }

    private static List<InetAddress> clusterIPs(final Rejecter reject, final ServiceSpec spec, final ServiceType type)
    {
        if (type == ServiceType.EXTERNAL_NAME)
        {
            return List.of();
        }
        final String clusterIP = spec.getClusterIP();
        final List<String> listed = null == spec.getClusterIPs() ? List.of() : spec.getClusterIPs();
        if (!listed.isEmpty() && null != clusterIP && !clusterIP.isEmpty() && !clusterIP.equals(listed.get(0)))
        {
            throw reject.at("spec.clusterIP", "'" + clusterIP + "' differs from spec.clusterIPs[0] '" + listed.get(0) + "'");
        }
        final boolean useList = !listed.isEmpty();
        final List<String> texts = useList ? listed : (null == clusterIP || clusterIP.isEmpty() ? List.of() : List.of(clusterIP));
        final String field = useList ? "spec.clusterIPs" : "spec.clusterIP";
        if (texts.size() == 1 && NONE.equals(texts.get(0)))
        {
            return List.of();
        }
        if (texts.size() > 2)
        {
            throw reject.at(field, "has " + texts.size() + " addresses; at most one per IP family");
        }
        final List<InetAddress> addresses = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++)
        {
            final String indexed = useList ? field + "[" + i + "]" : field;
            final InetAddress address = reject.address(indexed, texts.get(i));
            if (!addresses.isEmpty() && IpFamily.of(addresses.get(0)) == IpFamily.of(address))
            {
                throw reject.at(indexed, "a dual-stack Service needs one address of each IP family");
            }
            addresses.add(address);
        }
        return addresses;
    }

    private static List<InetAddress> addresses(final Rejecter reject, final String field, final List<String> texts)
    {
        if (null == texts)
        {
            return List.of();
        }
        final List<InetAddress> addresses = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++)
        {
            addresses.add(reject.address(field + "[" + i + "]", texts.get(i)));
        }
        return addresses;
    }

    /** LB ingress IPs the proxy short-circuits: ipMode VIP or unset ({@code IsVIPMode}); Proxy mode is left to the LB. */
    private static List<InetAddress> loadBalancerVips(final Rejecter reject, final Service service)
    {
        if (null == service.getStatus() || null == service.getStatus().getLoadBalancer()
            || null == service.getStatus().getLoadBalancer().getIngress())
        {
            return List.of();
        }
        final List<LoadBalancerIngress> ingress = service.getStatus().getLoadBalancer().getIngress();
        final List<InetAddress> vips = new ArrayList<>(ingress.size());
        for (int i = 0; i < ingress.size(); i++)
        {
            final String field = "status.loadBalancer.ingress[" + i + "]";
            final String ipMode = ingress.get(i).getIpMode();
            if (null != ipMode && !"VIP".equals(ipMode) && !"Proxy".equals(ipMode))
            {
                throw reject.at(field + ".ipMode", "'" + ipMode + "' is not VIP or Proxy");
            }
            final String ip = ingress.get(i).getIp();
            if (null == ip || ip.isEmpty())
            {
                continue;
            }
            final InetAddress address = reject.address(field + ".ip", ip);
            if (null == ipMode || "VIP".equals(ipMode))
            {
                vips.add(address);
            }
        }
        return vips;
    }

    private static List<Cidr> sourceRanges(final Rejecter reject, final List<String> texts)
    {
        if (null == texts)
        {
            return List.of();
        }
        final List<Cidr> ranges = new ArrayList<>(texts.size());
        for (int i = 0; i < texts.size(); i++)
        {
            ranges.add(reject.cidr("spec.loadBalancerSourceRanges[" + i + "]", texts.get(i)));
        }
        return ranges;
    }

    /** {@code sessionAffinity}: None gives 0; ClientIP gives its timeout, 10800 s when unset, refused outside 1..86400. */
    private static int affinityTimeoutSeconds(final Rejecter reject, final ServiceSpec spec)
    {
        final String affinity = spec.getSessionAffinity();
        if (null == affinity || NONE.equals(affinity))
        {
            return 0;
        }
        if (!CLIENT_IP.equals(affinity))
        {
            throw reject.at("spec.sessionAffinity", "'" + affinity + "' is not None or ClientIP");
        }
        final var config = spec.getSessionAffinityConfig();
        if (null == config || null == config.getClientIP() || null == config.getClientIP().getTimeoutSeconds())
        {
            return DEFAULT_AFFINITY_TIMEOUT_SECONDS;
        }
        final int timeout = config.getClientIP().getTimeoutSeconds();
        if (timeout < 1 || timeout > MAX_AFFINITY_TIMEOUT_SECONDS)
        {
            throw reject.at("spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                timeout + " is not within 1.." + MAX_AFFINITY_TIMEOUT_SECONDS + " seconds");
        }
        return timeout;
    }

    private static boolean isLocal(final Rejecter reject, final String field, final String policy)
    {
        if (null == policy || CLUSTER.equals(policy))
        {
            return false;
        }
        if (LOCAL.equals(policy))
        {
            return true;
        }
        throw reject.at(field, "'" + policy + "' is not Cluster or Local");
    }

    private int healthCheckNodePort(
        final Rejecter reject, final ServiceSpec spec, final boolean needsHealthCheck, final List<ServicePortDefinition> ports)
    {
        final Integer value = spec.getHealthCheckNodePort();
        if (null == value || 0 == value)
        {
            return 0;
        }
        final String field = "spec.healthCheckNodePort";
        if (!needsHealthCheck)
        {
            throw reject.at(field, "may only be set for type LoadBalancer with externalTrafficPolicy Local");
        }
        inNodePortRange(reject, field, value);
        for (final ServicePortDefinition port : ports)
        {
            if (port.nodePort() == value && port.protocol() == Protocol.TCP)
            {
                throw reject.at(field, value + " is already the nodePort of port '" + port.name() + "'");
            }
        }
        return value;
    }

    /** Refuses frontends and a health check port that another Service already holds. */
    private static void checkClaims(final Rejecter reject, final ServiceDefinition definition, final ServiceClaims claims)
    {
        final NamespacedName self = definition.name();
        // Only programmed Services answer on their addresses; a skipped one holds none.
        for (final ServicePortDefinition port : definition.programmed() ? definition.ports() : List.<ServicePortDefinition>of())
        {
            checkFrontendClaims(reject, self, "spec.clusterIPs", definition.clusterIPs(), port, claims);
            checkFrontendClaims(reject, self, "spec.externalIPs", definition.externalIPs(), port, claims);
            checkFrontendClaims(reject, self, "status.loadBalancer.ingress", definition.loadBalancerVips(), port, claims);
        }
        final int healthCheckNodePort = definition.healthCheckNodePort();
        final NamespacedName healthCheckOwner = 0 == healthCheckNodePort ? null : claims.nodePortOwner(healthCheckNodePort, Protocol.TCP);
        if (null != healthCheckOwner && !healthCheckOwner.equals(self))
        {
            throw reject.at("spec.healthCheckNodePort", "port is already allocated: " + healthCheckNodePort + "/TCP belongs to Service " + healthCheckOwner);
        }
    }

    private static void checkFrontendClaims(
        final Rejecter reject,
        final NamespacedName self,
        final String field,
        final List<InetAddress> addresses,
        final ServicePortDefinition port,
        final ServiceClaims claims)
    {
        for (int j = 0; j < addresses.size(); j++)
        {
            final NamespacedName owner = claims.frontendOwner(addresses.get(j), port.port(), port.protocol());
            if (null != owner && !owner.equals(self))
            {
                // LB VIPs are a subset of the ingress list, so their index would mislead: the reason names the IP.
                throw reject.at(field.startsWith("status") ? field : field + "[" + j + "]", IpAddresses.format(addresses.get(j)) + ":" + port.port() + "/"
                    + port.protocol() + " is already a frontend of Service " + owner);
            }
        }
    }
}
