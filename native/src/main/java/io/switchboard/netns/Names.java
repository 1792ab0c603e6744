package io.switchboard.netns;

import java.util.concurrent.atomic.AtomicInteger;

/** Unique names for what a test run makes: the process id and a counter, under one recognisable prefix. */
public final class Names
{
    public static final String PREFIX = "sbt";
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private Names()
    {
    }

    public static String next()
    {
        return PREFIX + ProcessHandle.current().pid() + "-" + SEQUENCE.incrementAndGet();
    }
}
