package io.switchboard.libc;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * The few C library functions the native layer needs beside libbpf: file descriptors, namespaces,
 * interface indexes, errno text and {@code vsnprintf} for libbpf's log callback. Calls that report
 * failure through {@code errno} capture it and return {@code -errno}, like libbpf's own API.
 */
public final class Libc
{
    public static final int O_RDONLY = 0;
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int CLONE_NEWNET = 0x40000000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final StructLayout CAPTURE_LAYOUT = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE_LAYOUT.varHandle(
        java.lang.foreign.MemoryLayout.PathElement.groupElement("errno"));
    private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

    private static final MethodHandle CLOSE = downcall(
        "close", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle OPEN = downcall(
        "open",
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
        CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle SETNS = downcall(
        "setns", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
        CAPTURE_ERRNO);
    private static final MethodHandle IF_NAMETOINDEX = downcall(
        "if_nametoindex", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS), CAPTURE_ERRNO);
    private static final MethodHandle SOCKET = downcall(
        "socket", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT), CAPTURE_ERRNO);
    private static final MethodHandle IOCTL_POINTER = downcall(
        "ioctl", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
            ValueLayout.ADDRESS), CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
    private static final MethodHandle STRERROR = downcall(
        "strerror", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle STRERRORNAME_NP = optionalDowncall(
        "strerrorname_np", FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT));
    private static final MethodHandle VSNPRINTF = downcall(
        "vsnprintf",
        FunctionDescriptor.of(
            ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS));

    private Libc()
    {
    }

    private static MethodHandle downcall(final String name, final FunctionDescriptor desc, final Linker.Option... opts)
    {
        final MemorySegment address = LINKER.defaultLookup().find(name)
            .orElseThrow(() -> new UnsatisfiedLinkError("C library has no symbol " + name));
        return LINKER.downcallHandle(address, desc, opts);
    }

    private static MethodHandle optionalDowncall(final String name, final FunctionDescriptor desc)
    {
        final Optional<MemorySegment> address = LINKER.defaultLookup().find(name);
        return address.map(a -> LINKER.downcallHandle(a, desc)).orElse(null);
    }

    private static int errno(final MemorySegment state)
    {
        return (int)ERRNO.get(state, 0L);
    }

    /** {@code close(fd)}; returns 0 or {@code -errno}. */
    public static int close(final int fd)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int rc = (int)CLOSE.invokeExact(state, fd);
            return rc < 0 ? -errno(state) : rc;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** {@code open(path, flags)}; returns the descriptor or {@code -errno}. */
    public static int open(final String path, final int flags)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int rc = (int)OPEN.invokeExact(state, arena.allocateFrom(path), flags, 0);
            return rc < 0 ? -errno(state) : rc;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** {@code setns(fd, nstype)} for the calling thread; returns 0 or {@code -errno}. */
    public static int setns(final int fd, final int nstype)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int rc = (int)SETNS.invokeExact(state, fd, nstype);
            return rc < 0 ? -errno(state) : rc;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** {@code if_nametoindex(name)} in the calling thread's network namespace; returns the index or {@code -errno}. */
    public static int ifNameToIndex(final String name)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int index = (int)IF_NAMETOINDEX.invokeExact(state, arena.allocateFrom(name));
            return index == 0 ? -errno(state) : index;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** {@code socket(domain, type, protocol)}; returns the descriptor or {@code -errno}. */
    public static int socket(final int domain, final int type, final int protocol)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int rc = (int)SOCKET.invokeExact(state, domain, type, protocol);
            return rc < 0 ? -errno(state) : rc;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** {@code ioctl(fd, request, argument)} with a pointer argument; returns its result or {@code -errno}. */
    public static int ioctl(final int fd, final long request, final MemorySegment argument)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment state = arena.allocate(CAPTURE_LAYOUT);
            final int rc = (int)IOCTL_POINTER.invokeExact(state, fd, request, argument);
            return rc < 0 ? -errno(state) : rc;
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** The C library's text for an errno value, for example "No such file or directory". */
    public static String strerror(final int errno)
    {
        try
        {
            final MemorySegment text = (MemorySegment)STRERROR.invokeExact(errno);
            return text.reinterpret(Integer.MAX_VALUE).getString(0);
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }

    /** The symbolic name of an errno value, for example "ENOENT"; {@code "errno N"} where unknown. */
    public static String errnoName(final int errno)
    {
        if (null != STRERRORNAME_NP)
        {
            try
            {
                final MemorySegment name = (MemorySegment)STRERRORNAME_NP.invokeExact(errno);
                if (name.address() != 0)
                {
                    return name.reinterpret(Integer.MAX_VALUE).getString(0);
                }
            }
            catch (final Throwable ex)
            {
                throw new AssertionError("should not reach here", ex);
            }
        }
        return "errno " + errno;
    }

    /** {@code vsnprintf(buf, size, fmt, ap)}: returns the length the full text needs. */
    public static int vsnprintf(
        final MemorySegment buf, final long size, final MemorySegment format, final MemorySegment vaList)
    {
        try
        {
            return (int)VSNPRINTF.invokeExact(buf, size, format, vaList);
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }
}
