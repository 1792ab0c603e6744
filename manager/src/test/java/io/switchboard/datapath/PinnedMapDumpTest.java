package io.switchboard.datapath;

import io.switchboard.netns.Shell;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static io.switchboard.testing.Packet.address;
import static org.assertj.core.api.Assertions.assertThat;

/** The object carries BTF (DESIGN: map ABI), so operators' tools print the maps with field names. */
@KernelTest
class PinnedMapDumpTest
{
    @Test
    void bpftoolDumpsAPinnedServicesMapWithNamedFields(final PinDirectory pins)
    {
        final Path pin = pins.resolve(DatapathAbi.SERVICES);
        try (DatapathFixture datapath = DatapathFixture.load())
        {
            datapath.service(address("10.96.0.10"), 80, DatapathAbi.PROTO_TCP, 7, 0, 0);
            datapath.pin(DatapathAbi.SERVICES, DatapathAbi.SERVICES_SPEC, pin);
        }

        final String dump = Shell.run("bpftool", "map", "dump", "pinned", pin.toString());

        assertThat(dump).contains("\"svc_id\": 7", "\"addr\"", "\"port\"", "\"proto\": 6", "\"backend_count\"");
    }
}
