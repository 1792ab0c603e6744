package io.switchboard.bpf;

import io.switchboard.libc.Libc;

/** Network interface look-ups in the calling thread's network namespace. */
public final class Interfaces
{
    private Interfaces()
    {
    }

    /** The index of interface {@code name}. */
    public static int index(final String name)
    {
        final int index = Libc.ifNameToIndex(name);
        if (index < 0)
        {
            throw new BpfException("if_nametoindex", name, index);
        }
        return index;
    }
}
