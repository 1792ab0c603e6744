package io.switchboard.bench;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;

/**
 * The rules kube-proxy installs for a {@link ServiceSet}, as the input of {@code iptables-restore} (iptables
 * mode) and {@code nft -f} (nftables mode), following pkg/proxy/iptables/proxier.go and
 * pkg/proxy/nftables/proxier.go: ClusterIP services only, no cluster CIDR configured (so no "masquerade
 * off-cluster traffic" rule in the service chains), hairpin masquerade rule per endpoint, comments left out
 * above 1000 endpoints as kube-proxy's "large cluster mode" does.
 */
final class KubeProxyRules
{
    static final String MASQ_MARK = "0x4000";
    /** kube-proxy's largeClusterEndpointsThreshold. */
    static final int LARGE_CLUSTER_ENDPOINTS = 1000;
    static final String NFT_TABLE = "kube-proxy";

    private KubeProxyRules()
    {
    }

    // ---------------------------------------------------------------- iptables

    /** kube-proxy's chain name: prefix + first 16 chars of base32(sha256(servicePortName + protocol [+ endpoint])). */
    static String chainName(final String prefix, final String... parts)
    {
        try
        {
            final MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (final String part : parts)
            {
                sha.update(part.getBytes(StandardCharsets.UTF_8));
            }
            return prefix + base32(sha.digest()).substring(0, 16);
        }
        catch (final NoSuchAlgorithmException ex)
        {
            throw new IllegalStateException(ex);
        }
    }

    private static String base32(final byte[] bytes)
    {
        final String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        final StringBuilder out = new StringBuilder();
        int buffer = 0;
        int bits = 0;
        for (final byte b : bytes)
        {
            buffer = (buffer << 8) | (b & 0xff);
            bits += 8;
            while (bits >= 5)
            {
                out.append(alphabet.charAt((buffer >>> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        return out.toString();
    }

    static String svcChain(final int index)
    {
        return chainName("KUBE-SVC-", ServiceSet.serviceName(index), "tcp");
    }

    static String sepChain(final int index, final ServiceSet.Endpoint endpoint)
    {
        return chainName("KUBE-SEP-", ServiceSet.serviceName(index), "tcp", endpoint.toString());
    }

    private static boolean comments(final ServiceSet set)
    {
        return (long)set.count() * set.endpointsPerService() <= LARGE_CLUSTER_ENDPOINTS;
    }

    /** The whole nat table from nothing: what one full sync writes (hooks included). */
    static String iptablesFull(final ServiceSet set)
    {
        final StringBuilder out = new StringBuilder(set.count() * set.endpointsPerService() * 200);
        out.append("*nat\n");
        for (final String builtin : List.of("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"))
        {
            out.append(':').append(builtin).append(" ACCEPT [0:0]\n");
        }
        declareFixedChains(out);
        for (int i = 0; i < set.count(); i++)
        {
            out.append(':').append(svcChain(i)).append(" - [0:0]\n");
            for (final ServiceSet.Endpoint endpoint : set.endpoints())
            {
                out.append(':').append(sepChain(i, endpoint)).append(" - [0:0]\n");
            }
        }
        out.append("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        out.append("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n");
        fixedRules(out);
        servicesChain(out, set);
        for (int i = 0; i < set.count(); i++)
        {
            serviceRules(out, set, i, set.endpoints());
        }
        out.append("COMMIT\n");
        return out.toString();
    }

    /**
     * A partial sync after endpoint {@code 0} of the last service changed from {@code before} to {@code after}
     * (KEP-3453, kube-proxy ≥ 1.28 default): the always-whole chains (KUBE-SERVICES, KUBE-NODEPORTS,
     * KUBE-POSTROUTING, KUBE-MARK-MASQ), the changed service's KUBE-SVC chain and its endpoint chains
     * rewritten, the removed endpoint's chain deleted. Loaded with {@code iptables-restore --noflush}.
     */
    static String iptablesPartial(final ServiceSet set, final List<ServiceSet.Endpoint> before,
        final List<ServiceSet.Endpoint> after)
    {
        final int changed = set.lastIndex();
        final StringBuilder out = new StringBuilder(set.count() * 120);
        out.append("*nat\n");
        declareFixedChains(out);
        out.append(':').append(svcChain(changed)).append(" - [0:0]\n");
        for (final ServiceSet.Endpoint endpoint : after)
        {
            out.append(':').append(sepChain(changed, endpoint)).append(" - [0:0]\n");
        }
        // as kube-proxy does: a chain to delete is declared (so flushed) first, then deleted with -X
        for (final ServiceSet.Endpoint gone : before)
        {
            if (!after.contains(gone))
            {
                out.append(':').append(sepChain(changed, gone)).append(" - [0:0]\n");
            }
        }
        fixedRules(out);
        servicesChain(out, set);
        serviceRules(out, set, changed, after);
        for (final ServiceSet.Endpoint gone : before)
        {
            if (!after.contains(gone))
            {
                out.append("-X ").append(sepChain(changed, gone)).append('\n');
            }
        }
        out.append("COMMIT\n");
        return out.toString();
    }

    private static void declareFixedChains(final StringBuilder out)
    {
        for (final String chain : List.of("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"))
        {
            out.append(':').append(chain).append(" - [0:0]\n");
        }
    }

    private static void fixedRules(final StringBuilder out)
    {
        out.append("-A KUBE-POSTROUTING -m mark ! --mark ").append(MASQ_MARK).append('/').append(MASQ_MARK)
            .append(" -j RETURN\n");
        out.append("-A KUBE-POSTROUTING -j MARK --xor-mark ").append(MASQ_MARK).append('\n');
        out.append("-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\"")
            .append(" -j MASQUERADE --random-fully\n");
        out.append("-A KUBE-MARK-MASQ -j MARK --or-mark ").append(MASQ_MARK).append('\n');
    }

    private static void servicesChain(final StringBuilder out, final ServiceSet set)
    {
        final boolean comments = comments(set);
        for (int i = 0; i < set.count(); i++)
        {
            out.append("-A KUBE-SERVICES");
            if (comments)
            {
                out.append(" -m comment --comment \"").append(ServiceSet.serviceName(i)).append(" cluster IP\"");
            }
            out.append(" -d ").append(set.clusterIp(i)).append("/32 -p tcp -m tcp --dport ")
                .append(ServiceSet.SERVICE_PORT).append(" -j ").append(svcChain(i)).append('\n');
        }
        out.append("-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the")
            .append(" last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS\n");
    }

    private static void serviceRules(final StringBuilder out, final ServiceSet set, final int index,
        final List<ServiceSet.Endpoint> endpoints)
    {
        final boolean comments = comments(set);
        final String svc = svcChain(index);
        final int count = endpoints.size();
        for (int i = 0; i < count; i++)
        {
            final ServiceSet.Endpoint endpoint = endpoints.get(i);
            out.append("-A ").append(svc);
            if (comments)
            {
                out.append(" -m comment --comment \"").append(ServiceSet.serviceName(index)).append(" -> ")
                    .append(endpoint).append('"');
            }
            if (i < count - 1)
            {
                out.append(" -m statistic --mode random --probability ").append(probability(count - i));
            }
            out.append(" -j ").append(sepChain(index, endpoint)).append('\n');
        }
        for (final ServiceSet.Endpoint endpoint : endpoints)
        {
            final String sep = sepChain(index, endpoint);
            out.append("-A ").append(sep).append(" -s ").append(endpoint.ip()).append("/32 -j KUBE-MARK-MASQ\n");
            out.append("-A ").append(sep).append(" -p tcp -m tcp -j DNAT --to-destination ").append(endpoint)
                .append('\n');
        }
    }

    /** 1/n with kube-proxy's ten decimals. */
    static String probability(final int n)
    {
        return String.format(Locale.ROOT, "%.10f", 1.0 / n);
    }

    // ---------------------------------------------------------------- nftables

    static String nftServiceChain(final int index)
    {
        return "service-" + chainName("", ServiceSet.serviceName(index), "tcp").substring(0, 8) + "-bench/svc-"
            + index + "/tcp/http";
    }

    static String nftEndpointChain(final int index, final ServiceSet.Endpoint endpoint)
    {
        return "endpoint-" + chainName("", ServiceSet.serviceName(index), "tcp", endpoint.toString()).substring(0, 8)
            + "-bench/svc-" + index + "/tcp/http__" + endpoint.ip() + "/" + endpoint.port();
    }

    /** The kube-proxy table from nothing, for {@code nft -f}. */
    static String nftFull(final ServiceSet set)
    {
        final StringBuilder out = new StringBuilder(set.count() * set.endpointsPerService() * 200);
        final String t = "ip " + NFT_TABLE;
        out.append("add table ").append(t).append(" { comment \"rules for kube-proxy\" ; }\n");
        out.append("add chain ").append(t).append(" nat-prerouting { type nat hook prerouting priority -100 ; }\n");
        out.append("add chain ").append(t).append(" nat-output { type nat hook output priority -100 ; }\n");
        out.append("add chain ").append(t).append(" nat-postrouting { type nat hook postrouting priority 100 ; }\n");
        for (final String chain : List.of("services", "masquerading", "mark-for-masquerade"))
        {
            out.append("add chain ").append(t).append(' ').append(chain).append('\n');
        }
        out.append("add map ").append(t).append(" service-ips { type ipv4_addr . inet_proto . inet_service : verdict ;")
            .append(" comment \"ClusterIP, ExternalIP and LoadBalancer IP traffic\" ; }\n");
        out.append("add map ").append(t).append(" service-nodeports { type inet_proto . inet_service : verdict ;")
            .append(" comment \"NodePort traffic\" ; }\n");
        out.append("add rule ").append(t).append(" nat-prerouting jump services\n");
        out.append("add rule ").append(t).append(" nat-output jump services\n");
        out.append("add rule ").append(t).append(" nat-postrouting jump masquerading\n");
        out.append("add rule ").append(t).append(" masquerading meta mark & ").append(MASQ_MARK)
            .append(" == 0 return\n");
        out.append("add rule ").append(t).append(" masquerading meta mark set meta mark ^ ").append(MASQ_MARK)
            .append('\n');
        out.append("add rule ").append(t).append(" masquerading masquerade fully-random\n");
        out.append("add rule ").append(t).append(" mark-for-masquerade meta mark set meta mark | ")
            .append(MASQ_MARK).append('\n');
        out.append("add rule ").append(t).append(" services ip daddr . meta l4proto . th dport vmap @service-ips\n");
        out.append("add rule ").append(t).append(" services fib daddr type local ip daddr != 127.0.0.0/8")
            .append(" meta l4proto . th dport vmap @service-nodeports\n");
        for (int i = 0; i < set.count(); i++)
        {
            nftService(out, set.endpoints(), i);
        }
        for (int i = 0; i < set.count(); i++)
        {
            out.append("add element ").append(t).append(" service-ips { ").append(set.clusterIp(i))
                .append(" . tcp . ").append(ServiceSet.SERVICE_PORT).append(" : goto ").append(nftServiceChain(i))
                .append(" }\n");
        }
        return out.toString();
    }

    /**
     * The incremental transaction kube-proxy's nftables mode writes when endpoint 0 of the last service
     * changes: the new endpoint chain added, the service chain flushed and rewritten, the old endpoint chain
     * deleted. The service-ips element is unchanged (it points at the service chain).
     */
    static String nftChange(final ServiceSet set, final List<ServiceSet.Endpoint> before,
        final List<ServiceSet.Endpoint> after)
    {
        final StringBuilder out = new StringBuilder();
        final int index = set.lastIndex();
        final String t = "ip " + NFT_TABLE;
        for (final ServiceSet.Endpoint endpoint : after)
        {
            if (!before.contains(endpoint))
            {
                nftEndpoint(out, index, endpoint);
            }
        }
        out.append("flush chain ").append(t).append(' ').append(nftServiceChain(index)).append('\n');
        nftServiceRule(out, after, index);
        for (final ServiceSet.Endpoint endpoint : before)
        {
            if (!after.contains(endpoint))
            {
                out.append("delete chain ").append(t).append(' ').append(nftEndpointChain(index, endpoint))
                    .append('\n');
            }
        }
        return out.toString();
    }

    private static void nftService(final StringBuilder out, final List<ServiceSet.Endpoint> endpoints, final int index)
    {
        for (final ServiceSet.Endpoint endpoint : endpoints)
        {
            nftEndpoint(out, index, endpoint);
        }
        out.append("add chain ip ").append(NFT_TABLE).append(' ').append(nftServiceChain(index)).append('\n');
        nftServiceRule(out, endpoints, index);
    }

    private static void nftEndpoint(final StringBuilder out, final int index, final ServiceSet.Endpoint endpoint)
    {
        final String chain = "ip " + NFT_TABLE + ' ' + nftEndpointChain(index, endpoint);
        out.append("add chain ").append(chain).append('\n');
        out.append("add rule ").append(chain).append(" ip saddr ").append(endpoint.ip())
            .append(" jump mark-for-masquerade\n");
        out.append("add rule ").append(chain).append(" meta l4proto tcp dnat to ").append(endpoint).append('\n');
    }

    private static void nftServiceRule(final StringBuilder out, final List<ServiceSet.Endpoint> endpoints,
        final int index)
    {
        out.append("add rule ip ").append(NFT_TABLE).append(' ').append(nftServiceChain(index))
            .append(" numgen random mod ").append(endpoints.size()).append(" vmap { ");
        for (int j = 0; j < endpoints.size(); j++)
        {
            out.append(j == 0 ? "" : ", ").append(j).append(" : goto ")
                .append(nftEndpointChain(index, endpoints.get(j)));
        }
        out.append(" }\n");
    }
}
