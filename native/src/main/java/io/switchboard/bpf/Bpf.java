package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libbpf.LibbpfLibrary;
import io.switchboard.libbpf.LibbpfLog;

/** Entry point of the native layer: loads and checks libbpf once, before any other call. */
public final class Bpf
{
    private static volatile int possibleCpus;

    private Bpf()
    {
    }

    /**
     * Loads libbpf, checks it is 1.1 or newer and routes its log.
     *
     * @return the libbpf version, "major.minor".
     * @throws BpfException if libbpf is missing or too old.
     */
    public static String require()
    {
        final String version = LibbpfLibrary.require();
        LibbpfLog.install();
        return version;
    }

    /** Number of possible CPUs: per-CPU maps hold this many values per key. */
    public static int possibleCpus()
    {
        int cpus = possibleCpus;
        if (0 == cpus)
        {
            require();
            cpus = Libbpf.libbpf_num_possible_cpus();
            if (cpus <= 0)
            {
                throw new BpfException("libbpf_num_possible_cpus", "/sys/devices/system/cpu/possible", cpus);
            }
            possibleCpus = cpus;
        }
        return cpus;
    }
}
