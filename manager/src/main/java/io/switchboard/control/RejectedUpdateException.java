package io.switchboard.control;

/**
 * An update refused before it changed anything: it names the object ("Service default/web") and the
 * field ("spec.ports[0].port") and says why.
 */
public final class RejectedUpdateException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String object;
    private final String field;

    public RejectedUpdateException(final String object, final String field, final String reason)
    {
        super(object + ": " + field + ": " + reason);
        this.object = object;
        this.field = field;
    }

    /** The object, as "Kind namespace/name". */
    public String object()
    {
        return object;
    }

    /** The field path within the object, or "" for the whole message. */
    public String field()
    {
        return field;
    }
}
