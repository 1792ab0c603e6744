package io.switchboard.agent;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * SIGTERM / SIGINT for the agent: {@link #await()} returns when the JVM starts to shut down, and the JVM's
 * exit waits (at most {@link #CLOSE_LIMIT_SECONDS}) until the agent has closed what it opened and called
 * {@link #closed()}. A rolling update's SIGTERM then ends the agent as soon as its threads are stopped;
 * programs and pins stay for the next agent.
 * <p>
 * Agrona's {@code ShutdownSignalBarrier} does the same with a hook that waits, 10 s at a time and without
 * end, for every barrier ever made; seen here holding an agent past its whole grace period.
 */
final class ShutdownOnSignal
{
    static final int CLOSE_LIMIT_SECONDS = 5;

    private final CountDownLatch stopping = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);

    private ShutdownOnSignal()
    {
    }

    static ShutdownOnSignal install()
    {
        final ShutdownOnSignal shutdown = new ShutdownOnSignal();
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("agent-shutdown").unstarted(() ->
        {
            shutdown.stopping.countDown();
            try
            {
                shutdown.closed.await(CLOSE_LIMIT_SECONDS, TimeUnit.SECONDS);
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }));
        return shutdown;
    }

    /** Blocks until a signal (or {@code System.exit} elsewhere) starts the JVM's shutdown. */
    void await() throws InterruptedException
    {
        stopping.await();
    }

    /** Everything is closed: the JVM may exit now. */
    void closed()
    {
        closed.countDown();
    }
}
