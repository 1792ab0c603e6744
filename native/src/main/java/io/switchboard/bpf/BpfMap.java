package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A BPF map, checked against a {@link MapSpec} when opened. Keys and values are passed as caller-owned
 * {@link MemorySegment}s so that a steady-state writer allocates nothing per operation.
 * <p>
 * Not thread-safe: the batch scratch is shared. Switchboard has one map writer (DESIGN invariant 7).
 */
public final class BpfMap implements AutoCloseable
{
    /** Create or replace. */
    public static final long BPF_ANY = 0;
    /** Create only; fail with EEXIST if present. */
    public static final long BPF_NOEXIST = 1;
    /** Replace only; fail with ENOENT if absent. */
    public static final long BPF_EXIST = 2;

    /** Creation flag: the map may be an inner map whose max_entries differs from the template's. */
    public static final int BPF_F_INNER_MAP = 1 << 12;
    /** Creation flag for hash maps: elements allocated on update, never reused while a reader holds one. */
    public static final int BPF_F_NO_PREALLOC = 1;

    private static final int ENOENT = 2;
    private static final long CREATE_OPTS_SIZE = 48;
    private static final int MAP_INFO_SIZE = 88;
    private static final long BATCH_OPTS_SIZE = 24;

    private final String name;
    private final int fd;
    private final boolean ownsFd;
    private final MapInfo info;
    /** Scratch for batch calls; GC-managed, because closing a shared arena costs a handshake with every thread. */
    private final Arena arena = Arena.ofAuto();
    private final MemorySegment batchCount;
    private final MemorySegment batchOpts;

    private BpfMap(final String name, final int fd, final boolean ownsFd)
    {
        this.name = name;
        this.fd = fd;
        this.ownsFd = ownsFd;
        this.info = readInfo(fd, name);
        this.batchCount = arena.allocate(ValueLayout.JAVA_INT);
        this.batchOpts = arena.allocate(BATCH_OPTS_SIZE, 8);
        batchOpts.set(ValueLayout.JAVA_LONG, 0, BATCH_OPTS_SIZE);
    }

    /** Wraps a map owned by a loaded object; the object closes the descriptor. */
    static BpfMap ofObject(final String name, final int fd, final MapSpec spec)
    {
        final BpfMap map = new BpfMap(name, fd, false);
        map.verify(spec);
        return map;
    }

    /**
     * Opens a map pinned on bpffs and checks it against {@code spec}.
     *
     * @throws BpfException if there is no such pin, it is not a map, or it does not match the spec.
     */
    public static BpfMap openPinned(final Path pin, final MapSpec spec)
    {
        Bpf.require();
        return adopt(pin.toString(), BpfFiles.objGet(pin), spec);
    }

    /**
     * Creates a map outside any object (for inner maps and benchmarks).
     *
     * @throws BpfException with the kernel's errno when the map cannot be created.
     */
    public static BpfMap create(final String name, final MapSpec spec, final int maxEntries)
    {
        return create(name, spec, maxEntries, 0);
    }

    /**
     * Creates a map with {@code BPF_F_*} creation flags, for example {@link #BPF_F_INNER_MAP} for an
     * inner table whose size may differ from the template's.
     */
    public static BpfMap create(final String name, final MapSpec spec, final int maxEntries, final int mapFlags)
    {
        Bpf.require();
        final int fd;
        try (Arena scratch = Arena.ofConfined())
        {
            // struct bpf_map_create_opts: sz, btf_fd, btf_key/value/vmlinux type ids, inner_map_fd, map_flags
            final MemorySegment opts = scratch.allocate(CREATE_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, CREATE_OPTS_SIZE);
            opts.set(ValueLayout.JAVA_INT, 28, mapFlags);
            fd = Libbpf.bpf_map_create(spec.type().id(), scratch.allocateFrom(name), spec.keySize(),
                spec.valueSize(), maxEntries, opts);
        }
        if (fd < 0)
        {
            throw new BpfException("bpf_map_create", name, fd);
        }
        return new BpfMap(name, fd, true);
    }

    /**
     * Opens the map with kernel id {@code id} (for example an inner map found in a map of maps) and
     * checks it against {@code spec}.
     */
    public static BpfMap openById(final int id, final MapSpec spec)
    {
        Bpf.require();
        final int fd = Libbpf.bpf_map_get_fd_by_id(id);
        if (fd < 0)
        {
            throw new BpfException("bpf_map_get_fd_by_id", "map id " + id, fd);
        }
        return adopt("map id " + id, fd, spec);
    }

    /** Wraps a descriptor this process now owns; closes it if the map does not match {@code spec}. */
    private static BpfMap adopt(final String name, final int fd, final MapSpec spec)
    {
        final BpfMap map;
        try
        {
            map = new BpfMap(name, fd, true);
        }
        catch (final RuntimeException ex)
        {
            Libc.close(fd);
            throw ex;
        }
        try
        {
            map.verify(spec);
        }
        catch (final RuntimeException ex)
        {
            map.close();
            throw ex;
        }
        return map;
    }

    private static MapInfo readInfo(final int fd, final String name)
    {
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment buffer = scratch.allocate(MAP_INFO_SIZE, 8);
            final MemorySegment length = scratch.allocateFrom(ValueLayout.JAVA_INT, MAP_INFO_SIZE);
            final int rc = Libbpf.bpf_obj_get_info_by_fd(fd, buffer, length);
            if (rc < 0)
            {
                throw new BpfException("bpf_obj_get_info_by_fd", name, rc);
            }
            // struct bpf_map_info: type, id, key_size, value_size, max_entries, map_flags, name[16]
            final String kernelName = buffer.asSlice(24, 16).getString(0);
            return new MapInfo(
                buffer.get(ValueLayout.JAVA_INT, 4),
                buffer.get(ValueLayout.JAVA_INT, 0),
                kernelName,
                buffer.get(ValueLayout.JAVA_INT, 8),
                buffer.get(ValueLayout.JAVA_INT, 12),
                buffer.get(ValueLayout.JAVA_INT, 16),
                buffer.get(ValueLayout.JAVA_INT, 20));
        }
    }

    private void verify(final MapSpec spec)
    {
        if (info.typeId() != spec.type().id())
        {
            final MapType actual = info.type();
            throw BpfException.of("open map", name, "type is " + (null == actual ? info.typeId() : actual) +
                ", expected " + spec.type());
        }
        if (info.keySize() != spec.keySize())
        {
            throw BpfException.of("open map", name,
                "key size is " + info.keySize() + " bytes, expected " + spec.keySize());
        }
        if (info.valueSize() != spec.valueSize())
        {
            throw BpfException.of("open map", name,
                "value size is " + info.valueSize() + " bytes, expected " + spec.valueSize());
        }
    }

    public String name()
    {
        return name;
    }

    public int fd()
    {
        return fd;
    }

    public MapInfo info()
    {
        return info;
    }

    public int maxEntries()
    {
        return info.maxEntries();
    }

    /**
     * Bytes a lookup writes: the value size, or for per-CPU maps the value rounded up to 8 bytes
     * once per possible CPU.
     */
    public long valueBufferSize()
    {
        if (null != info.type() && info.type().perCpu())
        {
            return perCpuStride() * Bpf.possibleCpus();
        }
        return info.valueSize();
    }

    /** Distance between two CPUs' values in a per-CPU lookup result. */
    public long perCpuStride()
    {
        return (info.valueSize() + 7L) & ~7L;
    }

    /**
     * Reads the value of {@code key} into {@code value}.
     *
     * @return false if there is no such key.
     */
    public boolean lookup(final MemorySegment key, final MemorySegment value)
    {
        final int rc = Libbpf.bpf_map_lookup_elem(fd, key, value);
        if (rc == -ENOENT)
        {
            return false;
        }
        if (rc < 0)
        {
            throw new BpfException("bpf_map_lookup_elem", name, rc);
        }
        return true;
    }

    /** Writes one element; {@code flags} is {@link #BPF_ANY}, {@link #BPF_NOEXIST} or {@link #BPF_EXIST}. */
    public void update(final MemorySegment key, final MemorySegment value, final long flags)
    {
        final int rc = Libbpf.bpf_map_update_elem(fd, key, value, flags);
        if (rc < 0)
        {
            throw new BpfException("bpf_map_update_elem", name, rc);
        }
    }

    /**
     * Deletes one element.
     *
     * @return false if there was no such key.
     */
    public boolean delete(final MemorySegment key)
    {
        final int rc = Libbpf.bpf_map_delete_elem(fd, key);
        if (rc == -ENOENT)
        {
            return false;
        }
        if (rc < 0)
        {
            throw new BpfException("bpf_map_delete_elem", name, rc);
        }
        return true;
    }

    /**
     * Iteration step: the key after {@code key} (or the first key when {@code key} is null) into {@code nextKey}.
     *
     * @return false when there is no further key.
     */
    public boolean nextKey(final MemorySegment key, final MemorySegment nextKey)
    {
        final int rc = Libbpf.bpf_map_get_next_key(fd, null == key ? MemorySegment.NULL : key, nextKey);
        if (rc == -ENOENT)
        {
            return false;
        }
        if (rc < 0)
        {
            throw new BpfException("bpf_map_get_next_key", name, rc);
        }
        return true;
    }

    /**
     * Writes {@code count} elements in one {@code BPF_MAP_UPDATE_BATCH} call; keys and values lie
     * back to back in their segments.
     *
     * @return the number of elements written (all of them unless an exception says otherwise).
     */
    public int updateBatch(final MemorySegment keys, final MemorySegment values, final int count, final long elemFlags)
    {
        if (0 == count)
        {
            return 0;
        }
        batchCount.set(ValueLayout.JAVA_INT, 0, count);
        batchOpts.set(ValueLayout.JAVA_LONG, 8, elemFlags);
        final int rc = Libbpf.bpf_map_update_batch(fd, keys, values, batchCount, batchOpts);
        if (rc < 0)
        {
            throw new BpfException("bpf_map_update_batch", name, rc,
                batchCount.get(ValueLayout.JAVA_INT, 0) + " of " + count + " elements written");
        }
        return batchCount.get(ValueLayout.JAVA_INT, 0);
    }

    /** Pins the map at {@code path} on bpffs. */
    public void pin(final Path path)
    {
        BpfFiles.objPin(fd, path, name);
    }

    @Override
    public void close()
    {
        if (ownsFd)
        {
            Libc.close(fd);
        }
    }

    @Override
    public String toString()
    {
        return "BpfMap[" + name + ", " + info + "]";
    }
}
