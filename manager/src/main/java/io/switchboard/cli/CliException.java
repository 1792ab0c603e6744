package io.switchboard.cli;

/** A failure the CLI reports as one line on standard error, with a non-zero exit. */
public final class CliException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    public CliException(final String message)
    {
        super(message);
    }
}
