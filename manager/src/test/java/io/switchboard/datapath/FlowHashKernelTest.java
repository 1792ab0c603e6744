package io.switchboard.datapath;

import io.switchboard.bpf.TestRunResult;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.Packet;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Derives {@link FlowHashTest}'s vectors from the real program: a Maglev table whose every slot holds its
 * own backend, so the backend {@code sb_xdp} translates a SYN to names the slot, {@code hash % M}. The
 * vectors printed here are the ones the unit test keeps; this test also checks every one live.
 */
@KernelTest
class FlowHashKernelTest
{
    static final int M4 = 127;
    static final int M6 = 113;

    @Test
    void theJavaFlowHashPicksTheSlotTheDatapathPicks() throws Exception
    {
        try (DatapathFixture datapath = DatapathFixture.load())
        {
            final int[] slots4 = new int[M4];
            for (int i = 0; i < M4; i++)
            {
                slots4[i] = 1 + i;
                datapath.backend(1 + i, backend4(i), 8080, true);
            }
            final int[] slots6 = new int[M6];
            for (int i = 0; i < M6; i++)
            {
                slots6[i] = 1 + M4 + i;
                datapath.backend(1 + M4 + i, backend6(i), 8080, true);
            }
            datapath.maglevTable(1, slots4);
            datapath.maglevTable(2, slots6);
            for (final FlowHashTest.Vector vector : FlowHashTest.VECTORS)
            {
                final boolean v6 = vector.destination().getAddress().length == 16;
                datapath.service(vector.destination(), vector.destinationPort(), vector.protocol(), v6 ? 2 : 1, 0, 0);
                final Packet packet = vector.protocol() == Packet.PROTO_TCP ?
                    Packet.tcp(vector.source(), vector.sourcePort(), vector.destination(), vector.destinationPort()).syn() :
                    Packet.udp(vector.source(), vector.sourcePort(), vector.destination(), vector.destinationPort());
                final TestRunResult result = datapath.xdp().testRun(packet.build());
                final byte[] frame = result.packet();
                final byte[] destination = v6 ? Arrays.copyOfRange(frame, 38, 54) : Arrays.copyOfRange(frame, 30, 34);
                final int slot = slotOf(InetAddress.getByAddress(destination), v6);
                System.out.println("vector " + vector + " -> slot " + slot + " of " + (v6 ? M6 : M4));
                assertThat(slot).as("slot the datapath chose for %s", vector).isEqualTo(vector.slot());
                assertThat(FlowHash.slot(FlowHash.hash(DatapathFixture.MAGLEV_SEED, vector.source(),
                    vector.sourcePort(), vector.destination(), vector.destinationPort(), vector.protocol()),
                    v6 ? M6 : M4)).isEqualTo(slot);
            }
        }
    }

    static InetAddress backend4(final int index) throws Exception
    {
        return InetAddress.getByName("10.77.0." + (index + 1));
    }

    static InetAddress backend6(final int index) throws Exception
    {
        return InetAddress.getByName("fd77::" + Integer.toHexString(index + 1));
    }

    private static int slotOf(final InetAddress backend, final boolean v6) throws Exception
    {
        for (int i = 0; i < (v6 ? M6 : M4); i++)
        {
            if ((v6 ? backend6(i) : backend4(i)).equals(backend))
            {
                return i;
            }
        }
        return -1;
    }
}
