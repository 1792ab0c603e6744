package io.switchboard.model;

/** The transport protocols the datapath serves. SCTP is rejected by validation until the datapath handles it. */
public enum Protocol
{
    TCP,
    UDP
}
