package io.switchboard.bpf;

import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Every native failure is one BpfException naming the operation, the object and the errno. */
@KernelTest
class NativeFailuresTest
{
    @Test
    void aProgramTheVerifierRejectsFailsWithTheVerifierLog()
    {
        try (BpfObject object = BpfObject.openResource("bpf/tests/unchecked_access.bpf.o"))
        {
            final BpfException failure = catchThrowableOfType(BpfException.class, object::load);

            assertThat(failure.operation()).isEqualTo("bpf_object__load");
            assertThat(failure.object()).isEqualTo("unchecked_access.bpf.o");
            assertThat(failure.errnoName()).isEqualTo("EACCES");
            assertThat(failure.detail()).as("the verifier's reason").contains("invalid access to packet");
            assertThat(failure.getMessage()).contains("Permission denied");
        }
    }

    @Test
    void aMapOpenedWithTheWrongKeySizeNamesTheMapAndBothSizes()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load())
        {
            final BpfException failure = catchThrowableOfType(BpfException.class,
                () -> probe.map(ProbeMaps.COUNTERS, new MapSpec(MapType.PERCPU_ARRAY, 8, 16)));

            assertThat(failure.object()).isEqualTo(ProbeMaps.COUNTERS);
            assertThat(failure.getMessage()).contains("key size is 4 bytes, expected 8");
        }
    }

    @Test
    void aMapOfAnotherTypeOrValueSizeIsRefused()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load())
        {
            assertThat(catchThrowableOfType(BpfException.class,
                () -> probe.map(ProbeMaps.COUNTERS, new MapSpec(MapType.ARRAY, 4, 16))))
                .hasMessageContaining("type is PERCPU_ARRAY, expected ARRAY");
            assertThat(catchThrowableOfType(BpfException.class,
                () -> probe.map(ProbeMaps.COUNTERS, new MapSpec(MapType.PERCPU_ARRAY, 4, 8))))
                .hasMessageContaining("value size is 16 bytes, expected 8");
        }
    }

    @Test
    void aMissingPinNamesThePathAndEnoent(final PinDirectory pins)
    {
        final BpfException failure = catchThrowableOfType(BpfException.class,
            () -> BpfMap.openPinned(pins.resolve("absent"), ProbeMaps.DROP_PORTS_SPEC));

        assertThat(failure.operation()).isEqualTo("bpf_obj_get");
        assertThat(failure.object()).endsWith("/absent");
        assertThat(failure.errnoName()).isEqualTo("ENOENT");
    }

    @Test
    void aKernelErrorOnUpdateCarriesTheMapAndErrno()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).load();
            BpfMap counters = probe.map(ProbeMaps.COUNTERS, ProbeMaps.COUNTERS_SPEC);
            Arena arena = Arena.ofConfined())
        {
            final var key = arena.allocateFrom(ValueLayout.JAVA_INT, 99); // past max_entries
            final var value = arena.allocate(counters.valueBufferSize(), 8);

            final BpfException failure = catchThrowableOfType(BpfException.class,
                () -> counters.update(key, value, BpfMap.BPF_ANY));

            assertThat(failure.operation()).isEqualTo("bpf_map_update_elem");
            assertThat(failure.object()).isEqualTo(ProbeMaps.COUNTERS);
            assertThat(failure.errnoName()).isEqualTo("E2BIG");
        }
    }

    @Test
    void mapSizesAreSetWhenTheObjectIsLoaded()
    {
        try (BpfObject probe = BpfObject.openResource(ProbeMaps.OBJECT).maxEntries(ProbeMaps.DROP_PORTS, 4096).load();
            BpfMap dropPorts = probe.map(ProbeMaps.DROP_PORTS, ProbeMaps.DROP_PORTS_SPEC))
        {
            assertThat(dropPorts.maxEntries()).isEqualTo(4096);
        }
    }
}
