package io.switchboard.bpf;

/** A clsact hook point ({@code enum bpf_tc_attach_point}). */
public enum TcDirection
{
    INGRESS(1),
    EGRESS(2);

    private final int attachPoint;

    TcDirection(final int attachPoint)
    {
        this.attachPoint = attachPoint;
    }

    public int attachPoint()
    {
        return attachPoint;
    }
}
