package io.switchboard.bench;

/**
 * One dataplane programmed inside a {@link io.switchboard.netns.LabNetwork}'s node namespace, so that the
 * side-by-side harness treats kube-proxy's iptables and nftables modes and Switchboard alike.
 */
interface DataplaneUnderTest extends AutoCloseable
{
    /** "switchboard", "iptables" or "nftables": the key in the results. */
    String name();

    /** Programs {@code set} into an empty node; returns the wall time in nanoseconds. */
    long program(ServiceSet set);

    /**
     * Makes one-endpoint change number {@code change} (1, 2, …) to the last service: odd changes swap the
     * spare endpoint in for endpoint 0, even ones swap it back. Returns the wall time in nanoseconds.
     */
    long changeOneEndpoint(int change);

    /** What the numbers include, for the report. */
    String note();

    @Override
    void close();
}
