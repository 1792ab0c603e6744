package io.switchboard.datapath;

import io.switchboard.bpf.BpfMap;
import io.switchboard.bpf.BpfObject;
import io.switchboard.bpf.MapSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiFunction;

/** The datapath's maps, opened from a loaded object or from their pins, each checked against the ABI. */
public final class DatapathMaps implements AutoCloseable
{
    private final Map<String, BpfMap> maps;

    private DatapathMaps(final Map<String, BpfMap> maps)
    {
        this.maps = maps;
    }

    /** The maps of a loaded datapath object. */
    public static DatapathMaps of(final BpfObject object)
    {
        return open((name, spec) -> object.map(name, spec));
    }

    /** The maps pinned under {@code directory} (what `switchboard get` reads while no agent runs). */
    public static DatapathMaps pinned(final Path directory)
    {
        return open((name, spec) -> BpfMap.openPinned(directory.resolve(name), spec));
    }

    /**
     * The ABI maps that are pinned under {@code directory}, each checked against the ABI; the others are
     * missing (a map a later ABI added, such as {@code sb_ifaces}: the agent creates it and pins it).
     */
    public static DatapathMaps pinnedPresent(final Path directory)
    {
        return open((name, spec) -> Files.exists(directory.resolve(name)) ?
            BpfMap.openPinned(directory.resolve(name), spec) : null);
    }

    /** The names of the maps held. */
    public java.util.Set<String> names()
    {
        return java.util.Collections.unmodifiableSet(maps.keySet());
    }

    private static DatapathMaps open(final BiFunction<String, MapSpec, BpfMap> opener)
    {
        final Map<String, BpfMap> opened = new LinkedHashMap<>();
        try
        {
            for (final Map.Entry<String, MapSpec> entry : DatapathAbi.MAPS.entrySet())
            {
                final BpfMap map = opener.apply(entry.getKey(), entry.getValue());
                if (null != map)
                {
                    opened.put(entry.getKey(), map);
                }
            }
        }
        catch (final RuntimeException ex)
        {
            opened.values().forEach(BpfMap::close);
            throw ex;
        }
        return new DatapathMaps(opened);
    }

    /** Pins every map under {@code directory} that is not pinned there yet. */
    public void pinMissing(final Path directory)
    {
        maps.forEach((name, map) ->
        {
            if (!Files.exists(directory.resolve(name)))
            {
                map.pin(directory.resolve(name));
            }
        });
    }

    public BpfMap get(final String name)
    {
        final BpfMap map = maps.get(name);
        if (null == map)
        {
            throw new IllegalArgumentException("no datapath map " + name);
        }
        return map;
    }

    public BpfMap services()
    {
        return get(DatapathAbi.SERVICES);
    }

    public BpfMap backends()
    {
        return get(DatapathAbi.BACKENDS);
    }

    public BpfMap maglev()
    {
        return get(DatapathAbi.MAGLEV);
    }

    public BpfMap conntrack()
    {
        return get(DatapathAbi.CONNTRACK);
    }

    public BpfMap affinity()
    {
        return get(DatapathAbi.AFFINITY);
    }

    public BpfMap sourceRanges()
    {
        return get(DatapathAbi.SOURCE_RANGES);
    }

    public BpfMap config()
    {
        return get(DatapathAbi.CONFIG);
    }

    public BpfMap serviceStats()
    {
        return get(DatapathAbi.SERVICE_STATS);
    }

    public BpfMap stats()
    {
        return get(DatapathAbi.STATS);
    }

    /** Announced addresses: (LB IP, ifindex) → the MAC that answers ARP / NDP for it. */
    public BpfMap neigh()
    {
        return get(DatapathAbi.NEIGH);
    }

    public BpfMap ifaces()
    {
        return get(DatapathAbi.IFACES);
    }

    public BpfMap snat()
    {
        return get(DatapathAbi.SNAT);
    }

    @Override
    public void close()
    {
        maps.values().forEach(BpfMap::close);
    }
}
