package io.switchboard.testing;

import io.switchboard.bpf.Bpf;
import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.MapSpec;
import io.switchboard.bpf.MapType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Finds out once whether this machine can run kernel tests, and if not, why. */
final class KernelSupport
{
    static final Path BPFFS = Path.of("/sys/fs/bpf");
    private static List<String> missing;

    private KernelSupport()
    {
    }

    static boolean required()
    {
        return Boolean.getBoolean("switchboard.kernel.required");
    }

    static synchronized List<String> missing()
    {
        if (null == missing)
        {
            missing = probe();
        }
        return missing;
    }

    private static List<String> probe()
    {
        final List<String> reasons = new ArrayList<>();
        if (!System.getProperty("os.name", "").toLowerCase().contains("linux"))
        {
            reasons.add("not Linux");
            return reasons;
        }
        if (!isRoot())
        {
            reasons.add("not running as root");
        }
        if (!Files.isExecutable(Path.of("/usr/sbin/ip")) && !Files.isExecutable(Path.of("/sbin/ip")) &&
            !Files.isExecutable(Path.of("/usr/bin/ip")))
        {
            reasons.add("iproute2 ('ip') is not installed");
        }
        if (!isBpffs(BPFFS))
        {
            reasons.add(BPFFS + " is not a mounted bpffs (bin/prereqs mounts it)");
        }
        if (null == Cgroups.unifiedMount())
        {
            reasons.add("no cgroup v2 mount");
        }
        if (reasons.isEmpty())
        {
            try
            {
                Bpf.require();
                BpfMap.create("sb_probe", new MapSpec(MapType.ARRAY, 4, 8), 1).close();
            }
            catch (final RuntimeException | LinkageError ex)
            {
                reasons.add("BPF is not usable: " + ex.getMessage());
            }
        }
        return reasons;
    }

    private static boolean isRoot()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/status")))
            {
                if (line.startsWith("Uid:"))
                {
                    return "0".equals(line.split("\\s+")[2]);
                }
            }
        }
        catch (final IOException ex)
        {
            return false;
        }
        return false;
    }

    static boolean isBpffs(final Path path)
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/mounts")))
            {
                final String[] fields = line.split(" ");
                if (fields.length > 2 && "bpf".equals(fields[2]) && path.toString().equals(fields[1]))
                {
                    return true;
                }
            }
        }
        catch (final IOException ex)
        {
            return false;
        }
        return false;
    }
}
