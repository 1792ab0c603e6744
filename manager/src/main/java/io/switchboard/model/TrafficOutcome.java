package io.switchboard.model;

/** What happens to a new connection to a frontend. */
public enum TrafficOutcome
{
    /** Endpoints were chosen: forward to one of them. */
    FORWARD,
    /** Endpoints exist in the cluster but none may be used from this node (Local policy): drop, the client times out. */
    DROP,
    /** No usable endpoint anywhere: refuse at once (TCP RST, ICMP port unreachable). */
    REFUSE
}
