package io.switchboard.model;

/**
 * The range nodePorts are allocated from: the apiserver's {@code --service-node-port-range}.
 *
 * @param first the lowest allowed nodePort
 * @param last  the highest allowed nodePort
 */
public record NodePortRange(int first, int last)
{
    /** Kubernetes' default range, 30000-32767. */
    public static final NodePortRange DEFAULT = new NodePortRange(30000, 32767);

    /** A range checked to be non-empty and within 1..65535. */
    public NodePortRange
    {
        if (first < 1 || last > 65535 || first > last)
        {
            throw new IllegalArgumentException("node port range " + first + "-" + last + " is not within 1-65535");
        }
    }

    /** Parses the apiserver's form, {@code first-last}. */
    public static NodePortRange parse(final String text)
    {
        final int dash = text.indexOf('-');
        if (dash < 0)
        {
            throw new IllegalArgumentException("node port range '" + text + "' is not first-last");
        }
        try
        {
            return new NodePortRange(Integer.parseInt(text.substring(0, dash).strip()), Integer.parseInt(text.substring(dash + 1).strip()));
        }
        catch (final NumberFormatException ex)
        {
            throw new IllegalArgumentException("node port range '" + text + "' is not first-last", ex);
        }
    }

    /** Whether a port lies in the range. */
    public boolean contains(final int port)
    {
        return port >= first && port <= last;
    }

    @Override
    public String toString()
    {
        return first + "-" + last;
    }
}
