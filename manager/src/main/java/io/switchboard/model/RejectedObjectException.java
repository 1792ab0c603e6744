package io.switchboard.model;

/**
 * Why an object was refused. It names the kind, the object ({@code namespace/name}), the field path (for example
 * {@code spec.ports[1].nodePort}) and the reason. The model raises it before changing anything, so a rejected
 * object leaves the previous state in force.
 */
public final class RejectedObjectException extends RuntimeException
{
    private static final long serialVersionUID = 1L;

    private final String kind;
    private final NamespacedName object;
    private final String field;
    private final String reason;

    /**
     * @param kind   the object's kind, such as {@code Service}
     * @param object the object's identity
     * @param field  the path of the offending field
     * @param reason why the value is refused
     */
    public RejectedObjectException(final String kind, final NamespacedName object, final String field, final String reason)
    {
        super(kind + " " + object + ": " + field + ": " + reason);
        this.kind = kind;
        this.object = object;
        this.field = field;
        this.reason = reason;
    }

    /** The kind of the refused object ({@code Service}, {@code EndpointSlice}, {@code Node}). */
    public String kind()
    {
        return kind;
    }

    /** The refused object. */
    public NamespacedName object()
    {
        return object;
    }

    /** The path of the field that is wrong, such as {@code spec.ports[1].nodePort}. */
    public String field()
    {
        return field;
    }

    /** Why the field's value is refused. */
    public String reason()
    {
        return reason;
    }
}
