package io.switchboard.bench;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class KubeProxyRulesTest
{
    private final ServiceSet set = ServiceSet.onPods(3, 4, 5);

    private static long lines(final String text, final String prefix)
    {
        return Arrays.stream(text.split("\n")).filter(line -> line.startsWith(prefix)).count();
    }

    @Test
    void iptablesFullHasOneServiceRulePerServiceAndAStatisticChainPerEndpoint()
    {
        final String rules = KubeProxyRules.iptablesFull(set);
        assertThat(rules).startsWith("*nat\n").endsWith("COMMIT\n");
        assertThat(lines(rules, "-A KUBE-SERVICES")).as("3 services + the NODEPORTS jump").isEqualTo(4);
        assertThat(rules).contains("-d 10.96.0.3/32 -p tcp -m tcp --dport 80 -j " + KubeProxyRules.svcChain(2));
        assertThat(lines(rules, "-A " + KubeProxyRules.svcChain(0))).isEqualTo(4);
        assertThat(rules).contains("--probability 0.2500000000 -j", "--probability 0.3333333333 -j",
            "--probability 0.5000000000 -j");
        final String lastSep = KubeProxyRules.sepChain(0, set.endpoints().getLast());
        assertThat(rules).contains("-A " + KubeProxyRules.svcChain(0) + " -m comment --comment \"bench/svc-0:http -> "
            + set.endpoints().getLast() + "\" -j " + lastSep + "\n");
        assertThat(rules).contains("-A " + lastSep + " -s 198.19.0.13/32 -j KUBE-MARK-MASQ\n",
            "-A " + lastSep + " -p tcp -m tcp -j DNAT --to-destination 198.19.0.13:8080\n");
        assertThat(rules).contains("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES",
            "-A OUTPUT -m comment", "-j MASQUERADE --random-fully", "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000");
        assertThat(lines(rules, ":KUBE-SEP-")).isEqualTo(12);
        assertThat(KubeProxyRules.svcChain(0)).hasSize(25).isNotEqualTo(KubeProxyRules.svcChain(1));
    }

    @Test
    void largeClustersLoseTheirComments()
    {
        final String rules = KubeProxyRules.iptablesFull(ServiceSet.onPods(101, 10, 11));
        assertThat(rules).doesNotContain("cluster IP\"", " -> ");
    }

    @Test
    void iptablesPartialRewritesKubeServicesWholeAndOnlyTheChangedServiceChains()
    {
        final List<ServiceSet.Endpoint> before = set.endpointsAfterChanges(0);
        final List<ServiceSet.Endpoint> after = set.endpointsAfterChanges(1);
        final String rules = KubeProxyRules.iptablesPartial(set, before, after);
        assertThat(lines(rules, "-A KUBE-SERVICES")).isEqualTo(4);
        assertThat(rules).contains("-A " + KubeProxyRules.svcChain(2)).doesNotContain("-A " + KubeProxyRules.svcChain(0));
        final String gone = KubeProxyRules.sepChain(2, before.getFirst());
        assertThat(rules).contains(":" + gone + " - [0:0]\n", "-X " + gone + "\n",
            "--to-destination " + set.spare() + "\n");
        assertThat(rules).doesNotContain(":PREROUTING");
    }

    @Test
    void nftablesUsesOneVerdictMapAndNumgenPerService()
    {
        final String rules = KubeProxyRules.nftFull(set);
        assertThat(rules).contains("add map ip kube-proxy service-ips { type ipv4_addr . inet_proto . inet_service : verdict",
            "add rule ip kube-proxy services ip daddr . meta l4proto . th dport vmap @service-ips\n");
        assertThat(lines(rules, "add element ip kube-proxy service-ips")).isEqualTo(3);
        assertThat(rules).contains("add element ip kube-proxy service-ips { 10.96.0.1 . tcp . 80 : goto "
            + KubeProxyRules.nftServiceChain(0) + " }");
        assertThat(rules).contains(KubeProxyRules.nftServiceChain(1) + " numgen random mod 4 vmap { 0 : goto "
            + KubeProxyRules.nftEndpointChain(1, set.endpoints().getFirst()) + ", 1 : goto");
        assertThat(rules).contains("meta l4proto tcp dnat to 198.19.0.10:8080\n");
        assertThat(lines(rules, "add chain ip kube-proxy endpoint-")).isEqualTo(12);
    }

    @Test
    void nftablesChangeTouchesOnlyTheChangedServiceChainAndItsEndpoints()
    {
        final String rules = KubeProxyRules.nftChange(set, set.endpointsAfterChanges(0), set.endpointsAfterChanges(1));
        assertThat(rules.split("\n")).containsExactly(
            "add chain ip kube-proxy " + KubeProxyRules.nftEndpointChain(2, set.spare()),
            "add rule ip kube-proxy " + KubeProxyRules.nftEndpointChain(2, set.spare()) + " ip saddr "
                + set.spare().ip() + " jump mark-for-masquerade",
            "add rule ip kube-proxy " + KubeProxyRules.nftEndpointChain(2, set.spare()) + " meta l4proto tcp dnat to "
                + set.spare(),
            "flush chain ip kube-proxy " + KubeProxyRules.nftServiceChain(2),
            rules.split("\n")[4],
            "delete chain ip kube-proxy " + KubeProxyRules.nftEndpointChain(2, set.endpoints().getFirst()));
        assertThat(rules.split("\n")[4]).startsWith("add rule ip kube-proxy " + KubeProxyRules.nftServiceChain(2)
            + " numgen random mod 4 vmap { 0 : goto " + KubeProxyRules.nftEndpointChain(2, set.spare()));
    }

    @Test
    void serviceSetAddressesAndAlternatingChanges()
    {
        final ServiceSet big = ServiceSet.onPods(30_000, 10, 11);
        assertThat(big.clusterIp(0)).isEqualTo("10.96.0.1");
        assertThat(big.clusterIp(big.lastIndex())).isEqualTo("10.96.117.48");
        assertThat(big.singleTargetPort()).isTrue();
        assertThat(big.spare()).isEqualTo(new ServiceSet.Endpoint("198.19.0.20", 8080));
        assertThat(big.endpointsAfterChanges(2)).isEqualTo(big.endpoints());
        assertThat(big.endpointsAfterChanges(3).getFirst()).isEqualTo(big.spare());
        assertThat(ServiceSet.onPods(100_000, 10, 11).clusterIp(99_999)).isEqualTo("10.97.134.160");
        assertThat(ServiceSet.onPods(1, 10, 5).singleTargetPort()).isFalse();
    }
}
