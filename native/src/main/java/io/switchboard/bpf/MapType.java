package io.switchboard.bpf;

/** Kernel map types ({@code enum bpf_map_type}) that Switchboard uses or may meet when adopting pins. */
public enum MapType
{
    HASH(1),
    ARRAY(2),
    PROG_ARRAY(3),
    PERF_EVENT_ARRAY(4),
    PERCPU_HASH(5),
    PERCPU_ARRAY(6),
    LRU_HASH(9),
    LRU_PERCPU_HASH(10),
    LPM_TRIE(11),
    ARRAY_OF_MAPS(12),
    HASH_OF_MAPS(13),
    DEVMAP(14),
    DEVMAP_HASH(25),
    RINGBUF(27);

    private final int id;

    MapType(final int id)
    {
        this.id = id;
    }

    /** The kernel's number for this type. */
    public int id()
    {
        return id;
    }

    /** Whether lookups return one value per possible CPU. */
    public boolean perCpu()
    {
        return this == PERCPU_HASH || this == PERCPU_ARRAY || this == LRU_PERCPU_HASH;
    }

    /** The type with the kernel's number, or null when Switchboard does not know it. */
    public static MapType ofId(final int id)
    {
        for (final MapType type : values())
        {
            if (type.id == id)
            {
                return type;
            }
        }
        return null;
    }
}
