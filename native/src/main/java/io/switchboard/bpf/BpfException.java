package io.switchboard.bpf;

import io.switchboard.libc.Libc;

/**
 * The one failure type of the native layer. It always names the operation (for example
 * {@code "bpf_map_update_elem"}), the object it was applied to (a map, program, file or interface)
 * and, where the kernel or libbpf gave one, the errno with its name and text. A verifier rejection
 * carries the verifier's log as {@link #detail()}.
 */
public final class BpfException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String operation;
    private final String object;
    private final int errno;
    private final String detail;

    public BpfException(final String operation, final String object, final int errno, final String detail)
    {
        super(describe(operation, object, errno, detail));
        this.operation = operation;
        this.object = object;
        this.errno = Math.abs(errno);
        this.detail = detail;
    }

    public BpfException(final String operation, final String object, final int errno)
    {
        this(operation, object, errno, null);
    }

    /** A failure with no errno, such as a layout mismatch found by checking. */
    public static BpfException of(final String operation, final String object, final String detail)
    {
        return new BpfException(operation, object, 0, detail);
    }

    private static String describe(final String operation, final String object, final int errno, final String detail)
    {
        final StringBuilder text = new StringBuilder().append(operation).append(" on ").append(object).append(" failed");
        final int code = Math.abs(errno);
        if (0 != code)
        {
            text.append(": ").append(errnoName(code)).append(" (").append(errnoText(code)).append(')');
        }
        if (null != detail && !detail.isEmpty())
        {
            text.append(": ").append(detail);
        }
        return text.toString();
    }

    private static String errnoName(final int errno)
    {
        try
        {
            return Libc.errnoName(errno);
        }
        catch (final Throwable ex)
        {
            return "errno " + errno;
        }
    }

    private static String errnoText(final int errno)
    {
        try
        {
            return Libc.strerror(errno);
        }
        catch (final Throwable ex)
        {
            return "unknown error";
        }
    }

    /** The libbpf or syscall operation that failed. */
    public String operation()
    {
        return operation;
    }

    /** The map, program, file, library or interface the operation was applied to. */
    public String object()
    {
        return object;
    }

    /** The positive errno, or 0 when the failure has none. */
    public int errno()
    {
        return errno;
    }

    /** The errno's symbolic name ("ENOENT"), or null when there is none. */
    public String errnoName()
    {
        return 0 == errno ? null : errnoName(errno);
    }

    /** Further detail: the verifier log of a rejected program, or what a check found; may be null. */
    public String detail()
    {
        return detail;
    }
}
