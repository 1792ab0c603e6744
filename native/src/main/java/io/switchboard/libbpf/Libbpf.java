package io.switchboard.libbpf;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Downcalls to libbpf, in the shape jextract generates: one holder class per function with its
 * {@code DESC}, {@code ADDR} and {@code HANDLE}, and a static method that calls {@code invokeExact}.
 * The functions are exactly those listed in {@code native/jextract/libbpf.symbols}.
 * <p>
 * jextract cannot capture {@code errno}; as its guide advises, that is added by hand: functions that
 * report failure by returning {@code NULL} take a leading {@code errnoState} segment of
 * {@link Linker.Option#captureStateLayout()}. Functions returning {@code int} report {@code -errno}.
 * <p>
 * Touch this class only after {@link LibbpfLibrary#require()} succeeded: its holders resolve symbols
 * from {@code libbpf.so.1} when first used.
 */
@SuppressWarnings("checkstyle:MethodName")
public final class Libbpf
{
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    public static final ValueLayout.OfLong C_LONG = ValueLayout.JAVA_LONG;
    public static final ValueLayout.OfLong C_SIZE_T = ValueLayout.JAVA_LONG;
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup SYMBOL_LOOKUP = LibbpfLibrary.lookup();
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private Libbpf()
    {
    }

    static MemorySegment findOrThrow(final String symbol)
    {
        return SYMBOL_LOOKUP.find(symbol)
            .orElseThrow(() -> new UnsatisfiedLinkError("libbpf.so.1 has no symbol " + symbol));
    }

    private static AssertionError unreachable(final Throwable ex)
    {
        return new AssertionError("should not reach here", ex);
    }

    // ---------------------------------------------------------------------------------------- library

    private static final class libbpf_major_version
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT);
        static final MemorySegment ADDR = findOrThrow("libbpf_major_version");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int libbpf_major_version()
    {
        try
        {
            return (int)libbpf_major_version.HANDLE.invokeExact();
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class libbpf_minor_version
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT);
        static final MemorySegment ADDR = findOrThrow("libbpf_minor_version");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int libbpf_minor_version()
    {
        try
        {
            return (int)libbpf_minor_version.HANDLE.invokeExact();
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class libbpf_set_print
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("libbpf_set_print");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code libbpf_print_fn_t libbpf_set_print(libbpf_print_fn_t fn)}. */
    public static MemorySegment libbpf_set_print(final MemorySegment fn)
    {
        try
        {
            return (MemorySegment)libbpf_set_print.HANDLE.invokeExact(fn);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    /** Descriptor of {@code int (*libbpf_print_fn_t)(enum libbpf_print_level, const char *, va_list)}. */
    public static final FunctionDescriptor LIBBPF_PRINT_FN_DESC =
        FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER);

    private static final class libbpf_num_possible_cpus
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT);
        static final MemorySegment ADDR = findOrThrow("libbpf_num_possible_cpus");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int libbpf_num_possible_cpus()
    {
        try
        {
            return (int)libbpf_num_possible_cpus.HANDLE.invokeExact();
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ----------------------------------------------------------------------------------------- object

    private static final class bpf_object__open_mem
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_SIZE_T, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__open_mem");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC, CAPTURE_ERRNO);
    }

    /** {@code struct bpf_object *bpf_object__open_mem(const void *buf, size_t sz, const struct bpf_object_open_opts *)}. */
    public static MemorySegment bpf_object__open_mem(
        final MemorySegment errnoState, final MemorySegment buf, final long size, final MemorySegment opts)
    {
        try
        {
            return (MemorySegment)bpf_object__open_mem.HANDLE.invokeExact(errnoState, buf, size, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__load
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__load");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_object__load(final MemorySegment obj)
    {
        try
        {
            return (int)bpf_object__load.HANDLE.invokeExact(obj);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__close
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.ofVoid(C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__close");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static void bpf_object__close(final MemorySegment obj)
    {
        try
        {
            bpf_object__close.HANDLE.invokeExact(obj);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__find_program_by_name
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__find_program_by_name");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_object__find_program_by_name(final MemorySegment obj, final MemorySegment name)
    {
        try
        {
            return (MemorySegment)bpf_object__find_program_by_name.HANDLE.invokeExact(obj, name);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__find_map_by_name
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__find_map_by_name");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_object__find_map_by_name(final MemorySegment obj, final MemorySegment name)
    {
        try
        {
            return (MemorySegment)bpf_object__find_map_by_name.HANDLE.invokeExact(obj, name);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__next_map
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__next_map");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_object__next_map(final MemorySegment obj, final MemorySegment prev)
    {
        try
        {
            return (MemorySegment)bpf_object__next_map.HANDLE.invokeExact(obj, prev);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_object__next_program
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__next_program");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_object__next_program(final MemorySegment obj, final MemorySegment prev)
    {
        try
        {
            return (MemorySegment)bpf_object__next_program.HANDLE.invokeExact(obj, prev);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ---------------------------------------------------------------------------------------- program

    private static final class bpf_program__fd
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_program__fd");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_program__fd(final MemorySegment prog)
    {
        try
        {
            return (int)bpf_program__fd.HANDLE.invokeExact(prog);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_program__name
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_program__name");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_program__name(final MemorySegment prog)
    {
        try
        {
            return (MemorySegment)bpf_program__name.HANDLE.invokeExact(prog);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_program__type
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_program__type");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_program__type(final MemorySegment prog)
    {
        try
        {
            return (int)bpf_program__type.HANDLE.invokeExact(prog);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // -------------------------------------------------------------------------------- map (in object)

    private static final class bpf_map__fd
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map__fd");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map__fd(final MemorySegment map)
    {
        try
        {
            return (int)bpf_map__fd.HANDLE.invokeExact(map);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map__name
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map__name");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment bpf_map__name(final MemorySegment map)
    {
        try
        {
            return (MemorySegment)bpf_map__name.HANDLE.invokeExact(map);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map__set_max_entries
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("bpf_map__set_max_entries");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map__set_max_entries(final MemorySegment map, final int maxEntries)
    {
        try
        {
            return (int)bpf_map__set_max_entries.HANDLE.invokeExact(map, maxEntries);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map__set_initial_value
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_SIZE_T);
        static final MemorySegment ADDR = findOrThrow("bpf_map__set_initial_value");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map__set_initial_value(final MemorySegment map, final MemorySegment data, final long size)
    {
        try
        {
            return (int)bpf_map__set_initial_value.HANDLE.invokeExact(map, data, size);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map__max_entries
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map__max_entries");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map__max_entries(final MemorySegment map)
    {
        try
        {
            return (int)bpf_map__max_entries.HANDLE.invokeExact(map);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map__reuse_fd
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("bpf_map__reuse_fd");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map__reuse_fd(final MemorySegment map, final int fd)
    {
        try
        {
            return (int)bpf_map__reuse_fd.HANDLE.invokeExact(map, fd);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ------------------------------------------------------------------------------- map (by fd, raw)

    private static final class bpf_map_create
    {
        static final FunctionDescriptor DESC =
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_INT, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map_create");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map_create(
        final int mapType,
        final MemorySegment name,
        final int keySize,
        final int valueSize,
        final int maxEntries,
        final MemorySegment opts)
    {
        try
        {
            return (int)bpf_map_create.HANDLE.invokeExact(mapType, name, keySize, valueSize, maxEntries, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map_lookup_elem
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map_lookup_elem");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map_lookup_elem(final int fd, final MemorySegment key, final MemorySegment value)
    {
        try
        {
            return (int)bpf_map_lookup_elem.HANDLE.invokeExact(fd, key, value);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map_update_elem
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_LONG);
        static final MemorySegment ADDR = findOrThrow("bpf_map_update_elem");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map_update_elem(
        final int fd, final MemorySegment key, final MemorySegment value, final long flags)
    {
        try
        {
            return (int)bpf_map_update_elem.HANDLE.invokeExact(fd, key, value, flags);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map_delete_elem
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map_delete_elem");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map_delete_elem(final int fd, final MemorySegment key)
    {
        try
        {
            return (int)bpf_map_delete_elem.HANDLE.invokeExact(fd, key);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map_get_next_key
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map_get_next_key");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_map_get_next_key(final int fd, final MemorySegment key, final MemorySegment nextKey)
    {
        try
        {
            return (int)bpf_map_get_next_key.HANDLE.invokeExact(fd, key, nextKey);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_map_update_batch
    {
        static final FunctionDescriptor DESC =
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_map_update_batch");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int bpf_map_update_batch(int fd, const void *keys, const void *values, __u32 *count, opts)}. */
    public static int bpf_map_update_batch(
        final int fd,
        final MemorySegment keys,
        final MemorySegment values,
        final MemorySegment count,
        final MemorySegment opts)
    {
        try
        {
            return (int)bpf_map_update_batch.HANDLE.invokeExact(fd, keys, values, count, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ---------------------------------------------------------------------------------- bpffs and info

    private static final class bpf_map_get_fd_by_id
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT);
        static final MemorySegment ADDR = findOrThrow("bpf_map_get_fd_by_id");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int bpf_map_get_fd_by_id(__u32 id)}: a new descriptor of the map with that kernel id. */
    public static int bpf_map_get_fd_by_id(final int id)
    {
        try
        {
            return (int)bpf_map_get_fd_by_id.HANDLE.invokeExact(id);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }


    private static final class bpf_obj_pin
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_obj_pin");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_obj_pin(final int fd, final MemorySegment path)
    {
        try
        {
            return (int)bpf_obj_pin.HANDLE.invokeExact(fd, path);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_obj_get
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_obj_get");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_obj_get(final MemorySegment path)
    {
        try
        {
            return (int)bpf_obj_get.HANDLE.invokeExact(path);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_obj_get_info_by_fd
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_obj_get_info_by_fd");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_obj_get_info_by_fd(final int fd, final MemorySegment info, final MemorySegment infoLen)
    {
        try
        {
            return (int)bpf_obj_get_info_by_fd.HANDLE.invokeExact(fd, info, infoLen);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_prog_test_run_opts
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_prog_test_run_opts");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_prog_test_run_opts(final int progFd, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_prog_test_run_opts.HANDLE.invokeExact(progFd, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ------------------------------------------------------------------------------------ attachments

    private static final class bpf_xdp_attach
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_xdp_attach");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_xdp_attach(final int ifindex, final int progFd, final int flags, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_xdp_attach.HANDLE.invokeExact(ifindex, progFd, flags, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_xdp_detach
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_xdp_detach");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_xdp_detach(final int ifindex, final int flags, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_xdp_detach.HANDLE.invokeExact(ifindex, flags, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_link_create
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_link_create");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_link_create(
        final int progFd, final int targetFd, final int attachType, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_link_create.HANDLE.invokeExact(progFd, targetFd, attachType, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_link_update
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_link_update");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int bpf_link_update(int link_fd, int new_prog_fd, const struct bpf_link_update_opts *opts)}. */
    public static int bpf_link_update(final int linkFd, final int newProgFd, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_link_update.HANDLE.invokeExact(linkFd, newProgFd, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_link_detach
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT);
        static final MemorySegment ADDR = findOrThrow("bpf_link_detach");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_link_detach(final int linkFd)
    {
        try
        {
            return (int)bpf_link_detach.HANDLE.invokeExact(linkFd);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_tc_hook_create
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_tc_hook_create");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_tc_hook_create(final MemorySegment hook)
    {
        try
        {
            return (int)bpf_tc_hook_create.HANDLE.invokeExact(hook);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_tc_hook_destroy
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_tc_hook_destroy");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_tc_hook_destroy(final MemorySegment hook)
    {
        try
        {
            return (int)bpf_tc_hook_destroy.HANDLE.invokeExact(hook);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_tc_attach
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_tc_attach");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_tc_attach(final MemorySegment hook, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_tc_attach.HANDLE.invokeExact(hook, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_tc_detach
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_tc_detach");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int bpf_tc_detach(final MemorySegment hook, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_tc_detach.HANDLE.invokeExact(hook, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // -------------------------------------------------------------------------------------------- BTF

    private static final class bpf_object__btf
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_object__btf");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code struct btf *bpf_object__btf(const struct bpf_object *obj)}: NULL when the object has no BTF. */
    public static MemorySegment bpf_object__btf(final MemorySegment obj)
    {
        try
        {
            return (MemorySegment)bpf_object__btf.HANDLE.invokeExact(obj);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class btf__find_by_name_kind
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("btf__find_by_name_kind");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static int btf__find_by_name_kind(final MemorySegment btf, final MemorySegment name, final int kind)
    {
        try
        {
            return (int)btf__find_by_name_kind.HANDLE.invokeExact(btf, name, kind);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class btf__type_by_id
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("btf__type_by_id");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment btf__type_by_id(final MemorySegment btf, final int typeId)
    {
        try
        {
            return (MemorySegment)btf__type_by_id.HANDLE.invokeExact(btf, typeId);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class btf__name_by_offset
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_POINTER, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("btf__name_by_offset");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static MemorySegment btf__name_by_offset(final MemorySegment btf, final int offset)
    {
        try
        {
            return (MemorySegment)btf__name_by_offset.HANDLE.invokeExact(btf, offset);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class btf__resolve_size
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_LONG, C_POINTER, C_INT);
        static final MemorySegment ADDR = findOrThrow("btf__resolve_size");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    public static long btf__resolve_size(final MemorySegment btf, final int typeId)
    {
        try
        {
            return (long)btf__resolve_size.HANDLE.invokeExact(btf, typeId);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    // ------------------------------------------------------------------------------- feature probes

    private static final class libbpf_probe_bpf_prog_type
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("libbpf_probe_bpf_prog_type");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int libbpf_probe_bpf_prog_type(enum bpf_prog_type, const void *opts)}: 1 yes, 0 no, -errno. */
    public static int libbpf_probe_bpf_prog_type(final int progType, final MemorySegment opts)
    {
        try
        {
            return (int)libbpf_probe_bpf_prog_type.HANDLE.invokeExact(progType, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class libbpf_probe_bpf_map_type
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_INT, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("libbpf_probe_bpf_map_type");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int libbpf_probe_bpf_map_type(enum bpf_map_type, const void *opts)}: 1 yes, 0 no, -errno. */
    public static int libbpf_probe_bpf_map_type(final int mapType, final MemorySegment opts)
    {
        try
        {
            return (int)libbpf_probe_bpf_map_type.HANDLE.invokeExact(mapType, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_prog_load
    {
        static final FunctionDescriptor DESC =
            FunctionDescriptor.of(C_INT, C_INT, C_POINTER, C_POINTER, C_POINTER, C_SIZE_T, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_prog_load");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /**
     * {@code int bpf_prog_load(enum bpf_prog_type, const char *name, const char *license,
     * const struct bpf_insn *insns, size_t insn_cnt, const struct bpf_prog_load_opts *)}: fd or -errno.
     */
    public static int bpf_prog_load(
        final int progType,
        final MemorySegment name,
        final MemorySegment license,
        final MemorySegment insns,
        final long insnCount,
        final MemorySegment opts)
    {
        try
        {
            return (int)bpf_prog_load.HANDLE.invokeExact(progType, name, license, insns, insnCount, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }

    private static final class bpf_btf_load
    {
        static final FunctionDescriptor DESC = FunctionDescriptor.of(C_INT, C_POINTER, C_SIZE_T, C_POINTER);
        static final MemorySegment ADDR = findOrThrow("bpf_btf_load");
        static final MethodHandle HANDLE = LINKER.downcallHandle(ADDR, DESC);
    }

    /** {@code int bpf_btf_load(const void *btf_data, size_t btf_size, const struct bpf_btf_load_opts *)}: fd or -errno. */
    public static int bpf_btf_load(final MemorySegment data, final long size, final MemorySegment opts)
    {
        try
        {
            return (int)bpf_btf_load.HANDLE.invokeExact(data, size, opts);
        }
        catch (final Throwable ex)
        {
            throw unreachable(ex);
        }
    }
}
