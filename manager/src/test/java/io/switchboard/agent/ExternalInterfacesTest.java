package io.switchboard.agent;

import io.switchboard.netns.LabNetwork;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code --xdp-iface=auto}: interfaces with a default route or a node address, as Cilium detects devices. */
class ExternalInterfacesTest
{
    @Test
    void ipv4DefaultRoutesAreRowsWithDestinationAndMaskZeroThatAreUp()
    {
        assertThat(ExternalInterfaces.defaultRouteInterfaces4(List.of(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
            "ens5\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0",
            "down0\t00000000\t0100A8C0\t0002\t0\t0\t100\t00000000\t0\t0\t0")))
            .containsExactly("eth0", "ens5");
    }

    @Test
    void ipv6DefaultRoutesAreUpNotRejectAndNotOnLoopback()
    {
        assertThat(ExternalInterfaces.defaultRouteInterfaces6(List.of(
            "fd000000000000000000000000000000 40 00000000000000000000000000000000 00 " +
                "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth0",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 " +
                "fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth1",
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 " +
                "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo")))
            .containsExactly("eth1");
    }

    @Test
    void aNodeAddressNamesTheInterfaceOfItsConnectedSubnet() throws Exception
    {
        final List<String> routes4 = List.of(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
            "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0",
            "eth1\t000012C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
            "eth2\t000013C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0");
        final List<String> routes6 = List.of(
            "fd000018000000000000000000000000 40 00000000000000000000000000000000 00 " +
                "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth3");
        assertThat(ExternalInterfaces.connectedInterfaces(routes4, routes6, List.of(
            InetAddress.getByName("198.18.0.1"), InetAddress.getByName("fd00:18::1"))))
            .containsExactly("eth1", "eth3");
    }

    @Test
    @KernelTest
    void inANodesNamespaceItFindsTheDefaultRouteInterfaceAndTheOneWithTheNodeAddress(final LabNetwork network)
        throws Exception
    {
        // an uplink of the node's own (a veth whose peer stays in the namespace: no dummy driver needed)
        network.node().exec("ip", "link", "add", "uplink0", "type", "veth", "peer", "name", "uplink0p");
        network.node().exec("ip", "addr", "add", "192.0.2.1/24", "dev", "uplink0");
        network.node().exec("ip", "link", "set", "uplink0p", "up");
        network.node().exec("ip", "link", "set", "uplink0", "up");
        network.node().exec("ip", "route", "add", "default", "via", "192.0.2.254", "dev", "uplink0");
        final InetAddress node = InetAddress.getByName("198.18.0.1"); // ext0's, as LabNetwork builds it

        assertThat(network.node().call(() -> ExternalInterfaces.detect(List.of(node))))
            .containsExactlyInAnyOrder("uplink0", "ext0");
        assertThat(network.node().call(() -> ExternalInterfaces.detect(List.of()))).containsExactly("uplink0");
    }
}
