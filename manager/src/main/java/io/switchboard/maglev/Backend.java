package io.switchboard.maglev;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Arrays;

/**
 * One backend of a service port as Maglev sees it: the id written into the table's slots, the address and
 * port that decide where its slots fall, and a relative weight.
 * <p>
 * Slot positions derive only from the address and port (DESIGN invariant 5): ids are node-local handles into
 * the backend map and may differ between nodes; the address and port do not.
 */
public final class Backend
{
    private static final int PORT_BYTES = 2;

    private final int id;
    private final int port;
    private final int weight;
    // The address bytes followed by the port, big-endian: the exact message that MaglevHash hashes, built
    // once here so that hashing a backend on every rebuild allocates nothing.
    private final byte[] identity;

    /**
     * @param id      the value the backend's slots hold; greater than 0, since 0 marks a slot that routes nowhere
     * @param address the IPv4 (4 bytes) or IPv6 (16 bytes) address, network order; copied
     * @param port    the backend port, 1..65535
     * @param weight  relative share of the slots, 0 or more; 0 gives the backend no slots
     * @throws IllegalArgumentException naming the field that is out of range
     */
    public Backend(final int id, final byte[] address, final int port, final int weight)
    {
        if (id <= 0)
        {
            throw new IllegalArgumentException("backend id must be > 0 (0 marks an empty slot): " + id);
        }
        if (address.length != 4 && address.length != 16)
        {
            throw new IllegalArgumentException(
                "backend " + id + ": address must be 4 or 16 bytes, not " + address.length);
        }
        if (port < 1 || port > 0xffff)
        {
            throw new IllegalArgumentException("backend " + id + ": port must be 1..65535: " + port);
        }
        if (weight < 0)
        {
            throw new IllegalArgumentException("backend " + id + ": weight must be >= 0: " + weight);
        }
        this.id = id;
        this.port = port;
        this.weight = weight;
        this.identity = Arrays.copyOf(address, address.length + PORT_BYTES);
        identity[address.length] = (byte)(port >>> 8);
        identity[address.length + 1] = (byte)port;
    }

    /**
     * A backend at {@code address}. An IPv4-mapped IPv6 address is taken as the IPv4 address, as
     * {@link InetAddress} itself does.
     *
     * @see #Backend(int, byte[], int, int)
     */
    public static Backend of(final int id, final InetAddress address, final int port, final int weight)
    {
        return new Backend(id, address.getAddress(), port, weight);
    }

    /** The value written into this backend's slots. */
    public int id()
    {
        return id;
    }

    /** The backend address. */
    public InetAddress address()
    {
        try
        {
            return InetAddress.getByAddress(addressBytes());
        }
        catch (final UnknownHostException e)
        {
            // Only thrown for a length other than 4 or 16, which the constructor already refused.
            throw new IllegalStateException(e);
        }
    }

    /** A copy of the address bytes, network order (4 or 16 bytes). */
    public byte[] addressBytes()
    {
        return Arrays.copyOf(identity, identity.length - PORT_BYTES);
    }

    /** The backend port. */
    public int port()
    {
        return port;
    }

    /** The relative weight. */
    public int weight()
    {
        return weight;
    }

    /** The bytes the hash covers (address, then port big-endian); not a copy, so never handed out. */
    byte[] identity()
    {
        return identity;
    }

    /**
     * Orders backends by their identity bytes (address, then port), compared as unsigned bytes
     * lexicographically. This is the tie-break that keeps a table independent of input order when two
     * backends hash alike.
     */
    static int compareIdentity(final Backend a, final Backend b)
    {
        return Arrays.compareUnsigned(a.identity, b.identity);
    }

    @Override
    public boolean equals(final Object other)
    {
        return other instanceof final Backend that
            && id == that.id
            && weight == that.weight
            && Arrays.equals(identity, that.identity);
    }

    @Override
    public int hashCode()
    {
        return 31 * (31 * id + weight) + Arrays.hashCode(identity);
    }

    @Override
    public String toString()
    {
        final String host = address().getHostAddress();
        final String hostPort = identity.length == 4 + PORT_BYTES ? host + ":" + port : "[" + host + "]:" + port;
        return "Backend{id=" + id + ", " + hostPort + ", weight=" + weight + "}";
    }
}
