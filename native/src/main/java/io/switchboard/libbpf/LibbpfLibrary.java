package io.switchboard.libbpf;

import io.switchboard.bpf.BpfException;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Finds {@code libbpf.so.1} by name (the dynamic loader's search path, as for any C program) and
 * checks its version before any binding is used. A missing or too old library is one
 * {@link BpfException} that says what to install; nothing here ends the process.
 */
public final class LibbpfLibrary
{
    /** The soname bound by {@link Libbpf}; override with {@code -Dswitchboard.libbpf=...}. */
    public static final String LIBRARY_NAME = System.getProperty("switchboard.libbpf", "libbpf.so.1");
    public static final int REQUIRED_MAJOR = 1;
    public static final int REQUIRED_MINOR = 1;
    private static final String INSTALL_HINT =
        "install libbpf " + REQUIRED_MAJOR + "." + REQUIRED_MINOR + " or newer (Debian/Ubuntu: libbpf1, libbpf-dev)";

    private static volatile SymbolLookup lookup;
    private static volatile String version;

    private LibbpfLibrary()
    {
    }

    /**
     * Loads and checks libbpf once; later calls return at once.
     *
     * @return the version found, as "major.minor".
     * @throws BpfException if the library is missing or older than 1.1.
     */
    public static String require()
    {
        String found = version;
        if (null == found)
        {
            synchronized (LibbpfLibrary.class)
            {
                found = version;
                if (null == found)
                {
                    final SymbolLookup candidate = open(LIBRARY_NAME);
                    found = checkVersion(candidate, LIBRARY_NAME);
                    lookup = candidate;
                    version = found;
                }
            }
        }
        return found;
    }

    /** The lookup {@link Libbpf} binds against; loads the library if that has not happened yet. */
    static SymbolLookup lookup()
    {
        require();
        return lookup;
    }

    /**
     * Opens a shared library by name for the life of the process.
     *
     * @throws BpfException naming the library when the dynamic loader cannot find it.
     */
    public static SymbolLookup open(final String libraryName)
    {
        try
        {
            return SymbolLookup.libraryLookup(libraryName, Arena.global());
        }
        catch (final IllegalArgumentException ex)
        {
            throw new BpfException("dlopen", libraryName, 2 /* ENOENT */,
                "the dynamic loader cannot find it; " + INSTALL_HINT);
        }
    }

    private static String checkVersion(final SymbolLookup library, final String libraryName)
    {
        final int major = callVersion(library, libraryName, "libbpf_major_version");
        final int minor = callVersion(library, libraryName, "libbpf_minor_version");
        checkVersion(major, minor, libraryName);
        return major + "." + minor;
    }

    /**
     * Rejects a libbpf older than {@value #REQUIRED_MAJOR}.{@value #REQUIRED_MINOR}.
     *
     * @throws BpfException naming the library, the version found and the version needed.
     */
    public static void checkVersion(final int major, final int minor, final String libraryName)
    {
        if (major < REQUIRED_MAJOR || (major == REQUIRED_MAJOR && minor < REQUIRED_MINOR))
        {
            throw BpfException.of("version check", libraryName,
                "libbpf " + major + "." + minor + " is too old; " + INSTALL_HINT);
        }
    }

    private static int callVersion(final SymbolLookup library, final String libraryName, final String symbol)
    {
        final MemorySegment address = library.find(symbol).orElseThrow(() -> BpfException.of(
            "version check", libraryName, "it has no " + symbol + " (libbpf before 0.6); " + INSTALL_HINT));
        final MethodHandle handle = Linker.nativeLinker().downcallHandle(
            address, FunctionDescriptor.of(ValueLayout.JAVA_INT));
        try
        {
            return (int)handle.invokeExact();
        }
        catch (final Throwable ex)
        {
            throw new AssertionError("should not reach here", ex);
        }
    }
}
