package io.switchboard.bpf;

/**
 * What {@code BPF_PROG_TEST_RUN} returned: the program's return value (an XDP action or a tc verdict),
 * the packet as the program left it, and the kernel's average run time in nanoseconds.
 */
public record TestRunResult(int returnValue, byte[] packet, int durationNanos)
{
    public static final int XDP_ABORTED = 0;
    public static final int XDP_DROP = 1;
    public static final int XDP_PASS = 2;
    public static final int XDP_TX = 3;
    public static final int XDP_REDIRECT = 4;
}
