package io.switchboard.datapath;

import io.switchboard.bpf.Interfaces;
import io.switchboard.netns.Host;
import io.switchboard.netns.LabNetwork;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Pods;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * How {@code --generated-replies} chooses per interface, asked in the node's namespace as the agent asks:
 * a veth (no bus device) and an interface whose driver says nothing get the tc path under {@code auto};
 * {@code xdp} and {@code tc} are taken as given.
 */
@KernelTest
class ReplyPathTest
{
    @Test
    void autoChoosesTheTcPathForAVethAndForAnInterfaceWithoutDriverInformation(@Pods(0) final LabNetwork network)
    {
        final Host node = network.node();

        final Interfaces.Driver ext = node.call(() -> Interfaces.driver(node.interfaceName()));
        final ReplyPath.Choice veth = node.call(() -> ReplyPath.AUTO.choose(node.interfaceName()));
        final ReplyPath.Choice loopback = node.call(() -> ReplyPath.AUTO.choose("lo"));

        assertThat(ext).isEqualTo(new Interfaces.Driver("veth", ""));
        assertThat(veth).isEqualTo(new ReplyPath.Choice(ReplyPath.TC, "driver veth has no bus device"));
        assertThat(loopback.path()).isEqualTo(ReplyPath.TC);
        assertThat(loopback.reason()).startsWith("driver unknown");
    }

    @Test
    void aPathGivenOnTheCommandLineIsTakenForEveryInterface(@Pods(0) final LabNetwork network)
    {
        final Host node = network.node();

        assertThat(node.call(() -> ReplyPath.XDP.choose(node.interfaceName())))
            .isEqualTo(new ReplyPath.Choice(ReplyPath.XDP, "--generated-replies=xdp"));
        assertThat(node.call(() -> ReplyPath.TC.choose(node.interfaceName())).path()).isEqualTo(ReplyPath.TC);
    }

    @Test
    void theFlagTakesAutoXdpOrTcAndNamesItselfOtherwise()
    {
        assertThat(ReplyPath.parse("auto")).isEqualTo(ReplyPath.AUTO);
        assertThat(ReplyPath.parse("xdp")).isEqualTo(ReplyPath.XDP);
        assertThat(ReplyPath.parse("tc")).isEqualTo(ReplyPath.TC);
        assertThatThrownBy(() -> ReplyPath.parse("XDP_TX")).isInstanceOf(IllegalArgumentException.class)
            .hasMessage("--generated-replies XDP_TX: want auto, xdp or tc");
    }
}
