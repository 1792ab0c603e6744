package io.switchboard.bpf;

import io.switchboard.libbpf.Libbpf;
import io.switchboard.libbpf.LibbpfLog;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A compiled BPF object (an ELF file built from {@code bpf/}): open, size its maps, load, then find its
 * programs and maps. Closing it closes every program and map descriptor libbpf holds for it; links
 * and pins made from it outlive it.
 */
public final class BpfObject implements AutoCloseable
{
    /** {@code struct bpf_object_open_opts} up to {@code object_name}: {@code size_t sz; const char *object_name}. */
    private static final long OPEN_OPTS_SIZE = 16;
    private static final int BTF_KIND_STRUCT = 4;

    private final String name;
    private final Arena arena;
    private final MemorySegment handle;
    private boolean loaded;
    private boolean closed;

    private BpfObject(final String name, final Arena arena, final MemorySegment handle)
    {
        this.name = name;
        this.arena = arena;
        this.handle = handle;
    }

    /**
     * Opens an object from ELF bytes (for example a resource of the agent's jar).
     *
     * @throws BpfException if libbpf cannot parse it.
     */
    public static BpfObject open(final String name, final byte[] elf)
    {
        Bpf.require();
        final Arena arena = Arena.ofShared();
        try (LibbpfLog.Capture log = LibbpfLog.capture(); Arena scratch = Arena.ofConfined())
        {
            // libbpf reads the ELF from this buffer until the object is closed: keep it in the object's arena.
            final MemorySegment buffer = arena.allocate(elf.length, 8);
            MemorySegment.copy(elf, 0, buffer, ValueLayout.JAVA_BYTE, 0, elf.length);
            final MemorySegment opts = arena.allocate(OPEN_OPTS_SIZE, 8);
            opts.set(ValueLayout.JAVA_LONG, 0, OPEN_OPTS_SIZE);
            opts.set(ValueLayout.ADDRESS, 8, arena.allocateFrom(objectName(name)));
            final MemorySegment errno = scratch.allocate(Linker.Option.captureStateLayout());
            final MemorySegment handle = Libbpf.bpf_object__open_mem(errno, buffer, elf.length, opts);
            if (handle.address() == 0)
            {
                final int code = (int)Linker.Option.captureStateLayout()
                    .varHandle(MemoryLayout.PathElement.groupElement("errno")).get(errno, 0L);
                throw new BpfException("bpf_object__open_mem", name, code, log.text());
            }
            return new BpfObject(name, arena, handle);
        }
        catch (final RuntimeException ex)
        {
            arena.close();
            throw ex;
        }
    }

    /** Opens an object file. */
    public static BpfObject open(final Path file)
    {
        try
        {
            return open(file.getFileName().toString(), Files.readAllBytes(file));
        }
        catch (final IOException ex)
        {
            throw new BpfException("read", file.toString(), 2, ex.toString());
        }
    }

    /** Opens an object shipped as a class-path resource, for example {@code bpf/probe.bpf.o}. */
    public static BpfObject openResource(final String resource)
    {
        try (InputStream in = BpfObject.class.getClassLoader().getResourceAsStream(resource))
        {
            if (null == in)
            {
                throw BpfException.of("open", resource, "no such resource on the class path (was bpf/ built?)");
            }
            final String fileName = resource.substring(resource.lastIndexOf('/') + 1);
            return open(fileName, in.readAllBytes());
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    private static String objectName(final String fileName)
    {
        final int dot = fileName.indexOf('.');
        return dot > 0 ? fileName.substring(0, dot) : fileName;
    }

    public String name()
    {
        return name;
    }

    /** Sets a map's capacity; only before {@link #load()}. */
    public BpfObject maxEntries(final String mapName, final int maxEntries)
    {
        checkNotLoaded("bpf_map__set_max_entries");
        final int rc = Libbpf.bpf_map__set_max_entries(findMap(mapName), maxEntries);
        if (rc < 0)
        {
            throw new BpfException("bpf_map__set_max_entries", name + "/" + mapName, rc);
        }
        return this;
    }

    /**
     * Sets the initial value of a global data map of this object (libbpf's internal map of a section such as
     * {@code .rodata.load}: {@code value} must be its whole size); only before {@link #load()}. Read-only
     * sections are frozen at load, so the verifier treats what programs read there as constants.
     */
    public BpfObject initialValue(final String mapName, final byte[] value)
    {
        checkNotLoaded("bpf_map__set_initial_value");
        final int rc;
        try (Arena scratch = Arena.ofConfined())
        {
            final MemorySegment data = scratch.allocate(Math.max(value.length, 1));
            MemorySegment.copy(value, 0, data, ValueLayout.JAVA_BYTE, 0, value.length);
            rc = Libbpf.bpf_map__set_initial_value(findMap(mapName), data, value.length);
        }
        if (rc < 0)
        {
            throw new BpfException("bpf_map__set_initial_value", name + "/" + mapName, rc);
        }
        return this;
    }

    /**
     * Makes a map of this object use an existing map (for example one adopted from a pin) instead of
     * creating a new one; only before {@link #load()}. libbpf checks that the two are compatible.
     */
    public BpfObject reuseMap(final String mapName, final BpfMap existing)
    {
        checkNotLoaded("bpf_map__reuse_fd");
        final int rc = Libbpf.bpf_map__reuse_fd(findMap(mapName), existing.fd());
        if (rc < 0)
        {
            throw new BpfException("bpf_map__reuse_fd", name + "/" + mapName, rc);
        }
        return this;
    }

    /**
     * Creates the maps and loads every program into the kernel.
     *
     * @throws BpfException with the verifier's log as its detail when a program is rejected.
     */
    public BpfObject load()
    {
        checkNotLoaded("bpf_object__load");
        try (LibbpfLog.Capture log = LibbpfLog.capture())
        {
            final int rc = Libbpf.bpf_object__load(handle);
            if (rc < 0)
            {
                throw new BpfException("bpf_object__load", name, rc, log.text());
            }
        }
        loaded = true;
        return this;
    }

    /** A loaded program by its C function name. */
    public BpfProgram program(final String programName)
    {
        checkLoaded("program");
        final MemorySegment program;
        try (Arena scratch = Arena.ofConfined())
        {
            program = Libbpf.bpf_object__find_program_by_name(handle, scratch.allocateFrom(programName));
        }
        if (program.address() == 0)
        {
            throw new BpfException("bpf_object__find_program_by_name", name + "/" + programName, 2);
        }
        return new BpfProgram(programName, Libbpf.bpf_program__fd(program), Libbpf.bpf_program__type(program));
    }

    /**
     * A map of the loaded object, checked against {@code spec}.
     *
     * @throws BpfException if there is no such map, or its type, key size or value size differ.
     */
    public BpfMap map(final String mapName, final MapSpec spec)
    {
        checkLoaded("map");
        final int fd = Libbpf.bpf_map__fd(findMap(mapName));
        if (fd < 0)
        {
            throw new BpfException("bpf_map__fd", name + "/" + mapName, fd);
        }
        return BpfMap.ofObject(mapName, fd, spec);
    }

    /**
     * The struct {@code structName} as this object's BTF describes it (objects are built with {@code -g}).
     *
     * @throws BpfException if the object has no BTF or no such struct.
     */
    public BtfStruct btfStruct(final String structName)
    {
        final MemorySegment btf = Libbpf.bpf_object__btf(handle);
        if (btf.address() == 0)
        {
            throw BpfException.of("bpf_object__btf", name, "the object carries no BTF (build it with -g)");
        }
        final int typeId;
        try (Arena scratch = Arena.ofConfined())
        {
            typeId = Libbpf.btf__find_by_name_kind(btf, scratch.allocateFrom(structName), BTF_KIND_STRUCT);
        }
        if (typeId < 0)
        {
            throw new BpfException("btf__find_by_name_kind", name + ": struct " + structName, typeId);
        }
        // struct btf_type { __u32 name_off; __u32 info; __u32 size; } then vlen x btf_member
        final MemorySegment type = Libbpf.btf__type_by_id(btf, typeId).reinterpret(12);
        final int info = type.get(ValueLayout.JAVA_INT, 4);
        final int memberCount = info & 0xFFFF;
        final boolean bitfields = (info >>> 31) != 0;
        final long size = Integer.toUnsignedLong(type.get(ValueLayout.JAVA_INT, 8));
        // struct btf_member { __u32 name_off; __u32 type; __u32 offset; }
        final MemorySegment members = type.reinterpret(12L + 12L * memberCount).asSlice(12);
        final List<BtfStruct.Member> result = new ArrayList<>(memberCount);
        for (int i = 0; i < memberCount; i++)
        {
            final int nameOffset = members.get(ValueLayout.JAVA_INT, i * 12L);
            final int memberType = members.get(ValueLayout.JAVA_INT, i * 12L + 4);
            final int rawOffset = members.get(ValueLayout.JAVA_INT, i * 12L + 8);
            final long bitOffset = bitfields ? rawOffset & 0xFFFFFF : Integer.toUnsignedLong(rawOffset);
            final String memberName = Libbpf.btf__name_by_offset(btf, nameOffset).reinterpret(Integer.MAX_VALUE)
                .getString(0);
            result.add(new BtfStruct.Member(memberName, bitOffset / 8, Libbpf.btf__resolve_size(btf, memberType)));
        }
        return new BtfStruct(structName, size, List.copyOf(result));
    }

    /** Names of the object's maps, including libbpf's internal ones ({@code .rodata}, …). */
    public List<String> mapNames()
    {
        final List<String> names = new ArrayList<>();
        MemorySegment map = MemorySegment.NULL;
        while ((map = Libbpf.bpf_object__next_map(handle, map)).address() != 0)
        {
            names.add(Libbpf.bpf_map__name(map).reinterpret(Integer.MAX_VALUE).getString(0));
        }
        return names;
    }

    /** Names of the object's programs. */
    public List<String> programNames()
    {
        final List<String> names = new ArrayList<>();
        MemorySegment program = MemorySegment.NULL;
        while ((program = Libbpf.bpf_object__next_program(handle, program)).address() != 0)
        {
            names.add(Libbpf.bpf_program__name(program).reinterpret(Integer.MAX_VALUE).getString(0));
        }
        return names;
    }

    private MemorySegment findMap(final String mapName)
    {
        final MemorySegment map;
        try (Arena scratch = Arena.ofConfined())
        {
            map = Libbpf.bpf_object__find_map_by_name(handle, scratch.allocateFrom(mapName));
        }
        if (map.address() == 0)
        {
            throw new BpfException("bpf_object__find_map_by_name", name + "/" + mapName, 2);
        }
        return map;
    }

    private void checkNotLoaded(final String operation)
    {
        if (closed || loaded)
        {
            throw BpfException.of(operation, name, closed ? "object is closed" : "object is already loaded");
        }
    }

    private void checkLoaded(final String operation)
    {
        if (closed || !loaded)
        {
            throw BpfException.of(operation, name, closed ? "object is closed" : "object is not loaded");
        }
    }

    @Override
    public void close()
    {
        if (!closed)
        {
            closed = true;
            Libbpf.bpf_object__close(handle);
            arena.close();
        }
    }
}
