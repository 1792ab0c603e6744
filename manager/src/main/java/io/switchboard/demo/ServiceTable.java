package io.switchboard.demo;

import io.switchboard.bpf.BpfMap;
import io.switchboard.datapath.DatapathAbi;
import io.switchboard.datapath.DatapathMaps;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.switchboard.datapath.DatapathAbi.SVC_KEY;
import static io.switchboard.datapath.DatapathAbi.SVC_VALUE;
import static io.switchboard.datapath.DatapathAbi.offset;

/** The frontends the datapath holds, read from the pinned {@code sb_services} map, as a small table. */
final class ServiceTable
{
    private ServiceTable()
    {
    }

    static List<String> render(final Path mapsDirectory)
    {
        final List<String> rows = new ArrayList<>();
        rows.add(String.format("%-26s %-6s %-8s %-9s %s", "FRONTEND", "SVC_ID", "BACKENDS", "TABLE", "FLAGS"));
        try (DatapathMaps maps = DatapathMaps.pinned(mapsDirectory); Arena arena = Arena.ofConfined())
        {
            final BpfMap services = maps.services();
            final MemorySegment key = arena.allocate(SVC_KEY);
            final MemorySegment next = arena.allocate(SVC_KEY);
            final MemorySegment value = arena.allocate(SVC_VALUE);
            final List<String> lines = new ArrayList<>();
            MemorySegment previous = null;
            while (services.nextKey(previous, next))
            {
                key.copyFrom(next);
                previous = key;
                if (!services.lookup(key, value))
                {
                    continue;
                }
                final InetAddress address = DatapathAbi.readAddress(key, offset(SVC_KEY, "addr"));
                final int port = Short.toUnsignedInt(key.get(DatapathAbi.NET_PORT, offset(SVC_KEY, "port")));
                final int proto = key.get(ValueLayout.JAVA_BYTE, offset(SVC_KEY, "proto"));
                final String frontend = (address instanceof Inet4Address ? address.getHostAddress() :
                    "[" + address.getHostAddress() + "]") + ":" + port + "/" + (proto == DatapathAbi.PROTO_TCP ? "TCP" : "UDP");
                lines.add(String.format("%-26s %-6d %-8d M=%-7d %s", frontend,
                    value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "svc_id")),
                    value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "backend_count")),
                    value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "table_size")),
                    flags(value.get(ValueLayout.JAVA_INT, offset(SVC_VALUE, "flags")))));
            }
            lines.sort(null);
            rows.addAll(lines);
        }
        return rows;
    }

    static String flags(final int flags)
    {
        final List<String> names = new ArrayList<>();
        if ((flags & DatapathAbi.SVC_F_EXTERNAL) != 0)
        {
            names.add("EXTERNAL");
        }
        if ((flags & DatapathAbi.SVC_F_LOCAL_ONLY) != 0)
        {
            names.add("LOCAL_ONLY");
        }
        if ((flags & DatapathAbi.SVC_F_ANY_ENDPOINTS) != 0)
        {
            names.add("ANY_ENDPOINTS");
        }
        if ((flags & DatapathAbi.SVC_F_AFFINITY) != 0)
        {
            names.add("AFFINITY");
        }
        if ((flags & DatapathAbi.SVC_F_SOURCE_RANGES) != 0)
        {
            names.add("SOURCE_RANGES");
        }
        if ((flags & DatapathAbi.SVC_F_NODEPORT) != 0)
        {
            names.add("NODEPORT");
        }
        if ((flags & DatapathAbi.SVC_F_LOADBALANCER) != 0)
        {
            names.add("LOADBALANCER");
        }
        return String.join(",", names);
    }
}
