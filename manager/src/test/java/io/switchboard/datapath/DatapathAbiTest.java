package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.testing.KernelTest;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.InetAddress;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class DatapathAbiTest
{
    @Test
    void everyJavaLayoutMatchesTheBtfOfTheShippedObject()
    {
        try (BpfObject datapath = BpfObject.openResource(DatapathAbi.OBJECT_RESOURCE))
        {
            DatapathAbi.verify(datapath);
        }
    }

    @Test
    @KernelTest
    void everyMapOfTheLoadedObjectHasTheTypeAndSizesTheAgentExpects()
    {
        try (BpfObject datapath = DatapathLoadOptions.open(DatapathAbi.OBJECT_RESOURCE).load())
        {
            for (final Map.Entry<String, io.switchboard.bpf.MapSpec> map : DatapathAbi.MAPS.entrySet())
            {
                try (BpfMap opened = datapath.map(map.getKey(), map.getValue()))
                {
                    assertThat(opened.info().name()).isEqualTo(map.getKey().substring(0, Math.min(15, map.getKey().length())));
                }
            }
        }
    }

    @Test
    void ipv4AddressesAreStoredV4MappedAndReadBackAsIpv4() throws Exception
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment segment = arena.allocate(16);
            DatapathAbi.writeAddress(segment, 0, InetAddress.getByName("10.96.0.10"));

            assertThat(segment.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsExactly(
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (byte)0xFF, (byte)0xFF, 10, 96, 0, 10);
            assertThat(DatapathAbi.readAddress(segment, 0)).isEqualTo(InetAddress.getByName("10.96.0.10"));

            DatapathAbi.writeAddress(segment, 0, InetAddress.getByName("fd00:96::a"));
            assertThat(DatapathAbi.readAddress(segment, 0)).isEqualTo(InetAddress.getByName("fd00:96::a"));
        }
    }
}
