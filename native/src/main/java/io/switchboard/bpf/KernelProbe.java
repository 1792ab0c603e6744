package io.switchboard.bpf;

/**
 * Asks the running kernel whether it has a {@link KernelFeature}. Probing loads only throw-away programs
 * and maps (closed at once) and attaches nothing, so it changes nothing on the machine.
 * {@link LibbpfKernelProbe} is the real one; tests give a kernel of their making.
 */
@FunctionalInterface
public interface KernelProbe
{
    /** What a probe found. */
    enum Outcome
    {
        PRESENT,
        MISSING,
        /** The probe could not tell (for example: not permitted, so not root). */
        UNKNOWN
    }

    /**
     * The answer for one feature.
     *
     * @param outcome present, missing or unknown.
     * @param detail  why, when unknown (an errno, "run as root"); empty otherwise.
     */
    record Result(Outcome outcome, String detail)
    {
        public static final Result PRESENT = new Result(Outcome.PRESENT, "");
        public static final Result MISSING = new Result(Outcome.MISSING, "");

        public static Result unknown(final String detail)
        {
            return new Result(Outcome.UNKNOWN, detail);
        }
    }

    Result probe(KernelFeature feature);
}
