package io.switchboard.bpf;

/** The cgroup socket hooks ({@code enum bpf_attach_type}) the socket-level datapath attaches to. */
public enum CgroupHook
{
    INET4_CONNECT(10),
    INET6_CONNECT(11),
    UDP4_SENDMSG(14),
    UDP6_SENDMSG(15),
    UDP4_RECVMSG(19),
    UDP6_RECVMSG(20),
    INET4_GETPEERNAME(29),
    INET6_GETPEERNAME(30);

    private final int attachType;

    CgroupHook(final int attachType)
    {
        this.attachType = attachType;
    }

    public int attachType()
    {
        return attachType;
    }
}
