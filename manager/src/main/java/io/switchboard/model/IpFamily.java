package io.switchboard.model;

import java.net.Inet4Address;
import java.net.InetAddress;

/**
 * An IP family. kube-proxy runs one proxier per family, so endpoint choice (and its fallbacks) is made per
 * family: an IPv4 frontend is served only by IPv4 endpoints.
 */
public enum IpFamily
{
    IPV4,
    IPV6;

    /** The family of an address. */
    public static IpFamily of(final InetAddress address)
    {
        return address instanceof Inet4Address ? IPV4 : IPV6;
    }
}
