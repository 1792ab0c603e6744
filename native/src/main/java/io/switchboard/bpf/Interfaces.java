package io.switchboard.bpf;

import io.switchboard.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;

/** Network interface look-ups in the calling thread's network namespace. */
public final class Interfaces
{
    private static final int AF_INET = 2;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final long SIOCETHTOOL = 0x8946;
    private static final int ETHTOOL_GDRVINFO = 3;
    /** {@code struct ifreq}: the name, then a union holding {@code ifr_data}. */
    private static final int IFREQ_SIZE = 40;
    private static final int IFNAMSIZ = 16;
    /** {@code struct ethtool_drvinfo}: cmd, then driver, version, fw_version, bus_info (32 bytes each), ... */
    private static final int DRVINFO_SIZE = 196;
    private static final int DRVINFO_DRIVER = 4;
    private static final int DRVINFO_BUS_INFO = 4 + 3 * 32;

    /** What the driver of an interface says of itself ({@code ETHTOOL_GDRVINFO}); bus is "" for virtual devices. */
    public record Driver(String name, String bus)
    {
    }

    private Interfaces()
    {
    }

    /** The index of interface {@code name}. */
    public static int index(final String name)
    {
        final int index = Libc.ifNameToIndex(name);
        if (index < 0)
        {
            throw new BpfException("if_nametoindex", name, index);
        }
        return index;
    }

    /**
     * The driver of interface {@code name} and the bus device it drives ({@code ethtool -i}: driver and
     * bus-info), asked through {@code SIOCETHTOOL} in the calling thread's network namespace (sysfs shows
     * the namespace it was mounted in).
     */
    public static Driver driver(final String name)
    {
        final byte[] raw = name.getBytes(StandardCharsets.UTF_8);
        if (raw.length >= IFNAMSIZ)
        {
            throw new IllegalArgumentException("interface name longer than " + (IFNAMSIZ - 1) + " bytes: " + name);
        }
        final int fd = Libc.socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
        {
            throw new BpfException("socket(AF_INET, SOCK_DGRAM)", name, fd);
        }
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment info = arena.allocate(DRVINFO_SIZE, 8);
            info.set(ValueLayout.JAVA_INT, 0, ETHTOOL_GDRVINFO);
            final MemorySegment request = arena.allocate(IFREQ_SIZE, 8);
            MemorySegment.copy(raw, 0, request, ValueLayout.JAVA_BYTE, 0, raw.length);
            request.set(ValueLayout.ADDRESS, IFNAMSIZ, info);
            final int rc = Libc.ioctl(fd, SIOCETHTOOL, request);
            if (rc < 0)
            {
                throw new BpfException("ioctl(SIOCETHTOOL, ETHTOOL_GDRVINFO)", name, rc);
            }
            return new Driver(info.getString(DRVINFO_DRIVER), info.getString(DRVINFO_BUS_INFO));
        }
        finally
        {
            Libc.close(fd);
        }
    }
}
