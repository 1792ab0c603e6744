package io.switchboard.bpf;

/** What the kernel reports of a map ({@code struct bpf_map_info}). */
public record MapInfo(int id, int typeId, String name, int keySize, int valueSize, int maxEntries, int flags)
{
    /** The type, or null when Switchboard does not know the kernel's number. */
    public MapType type()
    {
        return MapType.ofId(typeId);
    }
}
