package io.switchboard.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * The services every dataplane is programmed with: {@code count} ClusterIP services on TCP port
 * {@value #SERVICE_PORT}, each with the same {@code endpointsPerService} endpoints. Service {@code i} has
 * ClusterIP 10.96.0.0 + i + 1 (in 10.96.0.0/12), so the last one is the end of kube-proxy's KUBE-SERVICES chain.
 *
 * @param count               number of service ports
 * @param endpointsPerService endpoints of each
 * @param endpoints           the endpoint addresses and ports, {@code endpointsPerService} of them
 * @param spare               the endpoint a one-endpoint change swaps in for endpoint 0 of the last service
 */
record ServiceSet(int count, int endpointsPerService, List<Endpoint> endpoints, Endpoint spare)
{
    static final int SERVICE_PORT = 80;
    static final int TARGET_PORT = 8080;
    static final String CLUSTER_CIDR = "10.96.0.0/12";
    static final int MAX_COUNT = (1 << 20) - 2;

    /** An endpoint: IPv4 address (dotted) and port. */
    record Endpoint(String ip, int port)
    {
        @Override
        public String toString()
        {
            return ip + ":" + port;
        }
    }

    ServiceSet
    {
        if (count < 1 || count > MAX_COUNT)
        {
            throw new IllegalArgumentException("service count must be 1.." + MAX_COUNT + ": " + count);
        }
        if (endpoints.size() != endpointsPerService)
        {
            throw new IllegalArgumentException(endpoints.size() + " endpoints given for " + endpointsPerService);
        }
        endpoints = List.copyOf(endpoints);
    }

    /**
     * {@code endpointsPerService} endpoints spread over {@code pods} pod addresses 198.19.0.(10+p):
     * endpoint j is pod {@code j % pods} on port {@code 8080 + j / pods}. With more pods than endpoints every
     * endpoint is on port 8080 and the spare is the next pod on 8080; otherwise the spare is pod 0 on 8079.
     */
    static ServiceSet onPods(final int count, final int endpointsPerService, final int pods)
    {
        final List<Endpoint> endpoints = new ArrayList<>();
        for (int j = 0; j < endpointsPerService; j++)
        {
            endpoints.add(new Endpoint(podIp(j % pods), TARGET_PORT + j / pods));
        }
        final Endpoint spare = pods > endpointsPerService
            ? new Endpoint(podIp(endpointsPerService), TARGET_PORT) : new Endpoint(podIp(0), TARGET_PORT - 1);
        return new ServiceSet(count, endpointsPerService, endpoints, spare);
    }

    /** Whether every endpoint, the spare included, listens on {@link #TARGET_PORT} (one EndpointSlice port). */
    boolean singleTargetPort()
    {
        return spare.port() == TARGET_PORT && endpoints.stream().allMatch(e -> e.port() == TARGET_PORT);
    }

    static String podIp(final int pod)
    {
        return "198.19.0." + (10 + pod);
    }

    /** ClusterIP of service {@code index} (0-based). */
    String clusterIp(final int index)
    {
        final int host = index + 1;
        return "10." + (96 + (host >>> 16)) + "." + ((host >>> 8) & 0xff) + "." + (host & 0xff);
    }

    /** The service a one-endpoint change and the connection test use: the last one. */
    int lastIndex()
    {
        return count - 1;
    }

    /** The namespace/name:port kube-proxy would know service {@code index} by. */
    static String serviceName(final int index)
    {
        return "bench/svc-" + index + ":http";
    }

    /** The endpoints of the last service after {@code changes} one-endpoint changes (they alternate). */
    List<Endpoint> endpointsAfterChanges(final int changes)
    {
        if (changes % 2 == 0)
        {
            return endpoints;
        }
        final List<Endpoint> changed = new ArrayList<>(endpoints);
        changed.set(0, spare);
        return changed;
    }
}
