package io.switchboard.model;

import java.net.InetAddress;

/** Builds rejections for one object, so each check names only its field and reason. */
record Rejecter(String kind, NamespacedName object)
{
    RejectedObjectException at(final String field, final String reason)
    {
        return new RejectedObjectException(kind, object, field, reason);
    }

    InetAddress address(final String field, final String text)
    {
        try
        {
            return IpAddresses.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw at(field, ex.getMessage());
        }
    }

    Cidr cidr(final String field, final String text)
    {
        try
        {
            return Cidr.parse(text);
        }
        catch (final IllegalArgumentException ex)
        {
            throw at(field, ex.getMessage());
        }
    }

    int port(final String field, final Integer value)
    {
        if (null == value)
        {
            throw at(field, "is required");
        }
        if (value < 1 || value > 65535)
        {
            throw at(field, value + " is not a port number (1-65535)");
        }
        return value;
    }
}
