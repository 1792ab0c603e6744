package io.switchboard.datapath;

import io.switchboard.bpf.Interfaces;
import io.switchboard.netns.LabNetwork;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code XDP_TX} itself, on a veth: with {@code SB_IFACE_F_XDP_TX} on the node's interface (what
 * {@code --generated-replies=xdp} writes) {@code sb_xdp} sends its refusals back out with {@code XDP_TX},
 * and a veth delivers those to its peer only when the peer runs an XDP program. So this test, and only
 * this one, gives the client's end a pass-all program ({@link LabNetwork#passAllXdpOnClient()}); every test
 * of what a client sees runs with a plain client, where the agent chooses the tc path for a veth.
 */
@KernelTest
class XdpTxOnVethPeerTest
{
    @Test
    void withXdpTxChosenRefusalsLeaveFromXdpAndReachAPeerThatRunsAnXdpProgram(final LabNetwork network)
        throws Exception
    {
        network.passAllXdpOnClient();
        try (DatapathTrafficTest.Attached attached = DatapathTrafficTest.attach(network, null))
        {
            final int ext = network.node().call(() -> Interfaces.index(network.node().interfaceName()));
            attached.datapath.replies(ext, true);

            for (final InetAddress empty : List.of(DatapathTrafficTest.EMPTY_CLUSTER_IP,
                DatapathTrafficTest.EMPTY_CLUSTER_IP6))
            {
                DatapathTrafficTest.assertRefusedWithin(network.client(), new InetSocketAddress(empty, 80),
                    DatapathTrafficTest.REFUSAL_DEADLINE);
            }
            assertThat(attached.datapath.svcCounter(DatapathTrafficTest.SVC_EMPTY, "refused")).isEqualTo(4);
            assertThat(attached.datapath.stat("reply_tc")).as("all by XDP_TX").isZero();
        }
    }
}
