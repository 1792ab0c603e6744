package io.switchboard.bpf;

/**
 * What the code expects of a map: its type and the sizes of key and value. A map is checked against
 * its spec when it is opened, so a drift between the C header and its Java mirror is an error at
 * start-up, not corrupted entries.
 */
public record MapSpec(MapType type, int keySize, int valueSize)
{
    public MapSpec
    {
        if (null == type)
        {
            throw new IllegalArgumentException("type is required");
        }
        if (keySize < 0 || valueSize <= 0)
        {
            throw new IllegalArgumentException("key size must be >= 0 and value size > 0");
        }
    }
}
