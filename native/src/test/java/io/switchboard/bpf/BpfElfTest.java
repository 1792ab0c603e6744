package io.switchboard.bpf;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** {@link BpfElf} on a fixture whose every program reaches a known set of helpers (bpf/tests/helper_calls.bpf.c). */
class BpfElfTest
{
    private static final int MAP_LOOKUP_ELEM = 1;
    private static final int KTIME_GET_NS = 5;
    private static final int GET_PRANDOM_U32 = 7;
    private static final int GET_SMP_PROCESSOR_ID = 8;
    private static final int CMPXCHG = 0xf1;

    @Test
    void eachProgramGetsTheHelpersItCallsAndThoseOfEverySubprogramItReaches() throws IOException
    {
        final Map<String, BpfElf.Program> programs = programs("bpf/tests/helper_calls.bpf.o");

        assertThat(programs).containsOnlyKeys("fixture_xdp", "fixture_tc", "fixture_connect4", "fixture_cas");
        // directly, through a relocated call into .text, and through a call within .text
        assertThat(programs.get("fixture_xdp").helpers()).containsExactly(KTIME_GET_NS, GET_PRANDOM_U32,
            GET_SMP_PROCESSOR_ID);
        // the leaf only: the middle subprogram (smp_processor_id) is not reached from tc
        assertThat(programs.get("fixture_tc").helpers()).containsExactly(GET_PRANDOM_U32);
        assertThat(programs.get("fixture_connect4").helpers()).isEmpty();
        assertThat(programs.get("fixture_cas").helpers()).containsExactly(MAP_LOOKUP_ELEM);
    }

    @Test
    void sectionsAndAtomicOperationsAreReported() throws IOException
    {
        final Map<String, BpfElf.Program> programs = programs("bpf/tests/helper_calls.bpf.o");

        assertThat(programs.get("fixture_xdp").section()).isEqualTo("xdp");
        assertThat(programs.get("fixture_tc").section()).isEqualTo("tc");
        assertThat(programs.get("fixture_connect4").section()).isEqualTo("cgroup/connect4");
        assertThat(programs.get("fixture_cas").atomicOps()).containsExactly(CMPXCHG);
        assertThat(programs.get("fixture_xdp").atomicOps()).isEmpty();
    }

    @Test
    void theDatapathObjectsProgramsAreAllFound() throws IOException
    {
        final Map<String, BpfElf.Program> programs = programs("bpf/switchboard.bpf.o");

        assertThat(programs.keySet()).contains("sb_xdp", "sb_tc_from_pod", "sb_tc_from_ext", "sb_tc_to_client",
            "sb_sock_connect4", "sb_sock_connect6", "sb_sock_sendmsg4", "sb_sock_sendmsg6", "sb_sock_recvmsg4",
            "sb_sock_recvmsg6", "sb_sock_getpeername4", "sb_sock_getpeername6").hasSize(12);
        // every program looks up a map
        assertThat(programs.values()).allSatisfy(program -> assertThat(program.helpers()).contains(MAP_LOOKUP_ELEM));
    }

    @Test
    void aFileThatIsNotElfIsOneClearError()
    {
        final BpfException failure = catchThrowableOfType(BpfException.class,
            () -> BpfElf.programs(new byte[100], "garbage.o"));

        assertThat(failure.object()).isEqualTo("garbage.o");
        assertThat(failure.getMessage()).contains("not a 64-bit little-endian ELF file");
    }

    static Map<String, BpfElf.Program> programs(final String resource) throws IOException
    {
        final List<BpfElf.Program> programs = BpfElf.programs(read(resource), resource);
        return programs.stream().collect(Collectors.toMap(BpfElf.Program::name, program -> program));
    }

    static byte[] read(final String resource) throws IOException
    {
        try (InputStream in = BpfElfTest.class.getClassLoader().getResourceAsStream(resource))
        {
            assertThat(in).as(resource).isNotNull();
            return in.readAllBytes();
        }
    }
}
