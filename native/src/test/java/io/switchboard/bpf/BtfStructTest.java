package io.switchboard.bpf;

import org.junit.jupiter.api.Test;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The Java mirror of a map struct is checked against the object's BTF, field by field. */
class BtfStructTest
{
    private static final StructLayout PROBE_COUNTER = MemoryLayout.structLayout(
        ValueLayout.JAVA_LONG.withName("packets"),
        ValueLayout.JAVA_LONG.withName("bytes"));

    @Test
    void theObjectsBtfDescribesTheStructAsTheHeaderDeclaresIt()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT))
        {
            final BtfStruct counter = probe.btfStruct("probe_counter");

            assertThat(counter.size()).isEqualTo(16);
            assertThat(counter.members()).containsExactly(
                new BtfStruct.Member("packets", 0, 8), new BtfStruct.Member("bytes", 8, 8));
            counter.verify(PROBE_COUNTER);
        }
    }

    @Test
    void aMirrorWithAFieldMovedNamesTheFieldAndBothOffsets()
    {
        final StructLayout swapped = MemoryLayout.structLayout(
            ValueLayout.JAVA_LONG.withName("bytes"), ValueLayout.JAVA_LONG.withName("packets"));
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT))
        {
            assertThatThrownBy(() -> probe.btfStruct("probe_counter").verify(swapped))
                .isInstanceOf(BpfException.class)
                .hasMessageContaining("struct probe_counter")
                .hasMessageContaining("field 'bytes' is 8 bytes at offset 8 in BTF, 8 bytes at offset 0");
        }
    }

    @Test
    void aMirrorOfTheWrongSizeOrWithAnUnknownFieldIsRejected()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT))
        {
            final BtfStruct counter = probe.btfStruct("probe_counter");
            assertThatThrownBy(() -> counter.verify(MemoryLayout.structLayout(ValueLayout.JAVA_LONG.withName("packets"))))
                .hasMessageContaining("size is 16 bytes in BTF, 8 in the Java layout");
            assertThatThrownBy(() -> counter.verify(MemoryLayout.structLayout(
                ValueLayout.JAVA_LONG.withName("packets"), ValueLayout.JAVA_LONG.withName("octets"))))
                .hasMessageContaining("field 'octets' of the Java layout is not in BTF");
            assertThatThrownBy(() -> probe.btfStruct("no_such_struct"))
                .hasMessageContaining("struct no_such_struct");
        }
    }
}
