package io.switchboard.libbpf;

import io.switchboard.libc.Libc;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Receives libbpf's log through {@code libbpf_set_print}. libbpf logs synchronously on the thread
 * that called it, so messages are kept per thread while {@link #capture()} is open; that is how a
 * verifier log reaches the exception of the load that failed. Debug messages are dropped unless
 * {@code -Dswitchboard.libbpf.debug=true}; warnings outside a capture go to standard error.
 */
public final class LibbpfLog
{
    private static final int LIBBPF_WARN = 0;
    private static final int LIBBPF_DEBUG = 2;
    private static final boolean DEBUG = Boolean.getBoolean("switchboard.libbpf.debug");
    /** Longest log kept per capture: verifier logs can be megabytes, the tail says why. */
    private static final int MAX_CAPTURED = 64 * 1024;
    /** {@code va_list} is a 24-byte struct on x86-64 and 32 bytes on arm64; copying it is {@code va_copy}. */
    private static final long VA_LIST_SIZE = 32;
    private static final ThreadLocal<StringBuilder> CAPTURE = new ThreadLocal<>();
    private static volatile boolean installed;

    private LibbpfLog()
    {
    }

    /** Installs the callback once for the process. */
    public static void install()
    {
        if (installed)
        {
            return;
        }
        synchronized (LibbpfLog.class)
        {
            if (!installed)
            {
                try
                {
                    final var handle = MethodHandles.lookup().findStatic(LibbpfLog.class, "print",
                        MethodType.methodType(int.class, int.class, MemorySegment.class, MemorySegment.class));
                    final MemorySegment stub = java.lang.foreign.Linker.nativeLinker()
                        .upcallStub(handle, Libbpf.LIBBPF_PRINT_FN_DESC, Arena.global());
                    Libbpf.libbpf_set_print(stub);
                    installed = true;
                }
                catch (final ReflectiveOperationException ex)
                {
                    throw new IllegalStateException(ex);
                }
            }
        }
    }

    /** Collects what libbpf logs on this thread until the returned capture is closed. */
    public static Capture capture()
    {
        install();
        final StringBuilder previous = CAPTURE.get();
        final StringBuilder buffer = new StringBuilder();
        CAPTURE.set(buffer);
        return new Capture(buffer, previous);
    }

    /** What one {@link #capture()} collected. */
    public static final class Capture implements AutoCloseable
    {
        private final StringBuilder buffer;
        private final StringBuilder previous;

        private Capture(final StringBuilder buffer, final StringBuilder previous)
        {
            this.buffer = buffer;
            this.previous = previous;
        }

        /** The messages so far, trimmed to the last 64 KiB. */
        public String text()
        {
            return buffer.toString().strip();
        }

        @Override
        public void close()
        {
            if (null == previous)
            {
                CAPTURE.remove();
            }
            else
            {
                CAPTURE.set(previous);
            }
        }
    }

    // Called by libbpf. An exception escaping an upcall kills the JVM, so nothing may escape.
    @SuppressWarnings("unused")
    private static int print(final int level, final MemorySegment format, final MemorySegment vaList)
    {
        try
        {
            if (level == LIBBPF_DEBUG && !DEBUG)
            {
                return 0;
            }
            final String message = format(format, vaList);
            final StringBuilder buffer = CAPTURE.get();
            if (null != buffer)
            {
                buffer.append(message);
                if (buffer.length() > MAX_CAPTURED)
                {
                    buffer.delete(0, buffer.length() - MAX_CAPTURED);
                }
            }
            else if (level == LIBBPF_WARN || DEBUG)
            {
                System.err.print("libbpf: " + message);
            }
        }
        catch (final Throwable ignore)
        {
            // a lost log line must not take the process down
        }
        return 0;
    }

    private static String format(final MemorySegment format, final MemorySegment vaList)
    {
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment args = vaList.reinterpret(VA_LIST_SIZE);
            final MemorySegment argsCopy = arena.allocate(VA_LIST_SIZE, 16);
            argsCopy.copyFrom(args);
            MemorySegment text = arena.allocate(1024);
            final int needed = Libc.vsnprintf(text, text.byteSize(), format, vaList);
            if (needed >= text.byteSize())
            {
                text = arena.allocate(needed + 1L);
                Libc.vsnprintf(text, text.byteSize(), format, argsCopy);
            }
            return text.getString(0);
        }
    }
}
