package io.switchboard.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Where cgroup v2 is mounted: {@code /sys/fs/cgroup} on unified hosts, {@code …/unified} on hybrid ones. */
final class Cgroups
{
    private Cgroups()
    {
    }

    static Path unifiedMount()
    {
        try
        {
            for (final String line : Files.readAllLines(Path.of("/proc/self/mounts")))
            {
                final String[] fields = line.split(" ");
                if (fields.length > 2 && "cgroup2".equals(fields[2]))
                {
                    return Path.of(fields[1]);
                }
            }
        }
        catch (final IOException ex)
        {
            return null;
        }
        return null;
    }
}
