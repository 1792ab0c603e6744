package io.switchboard.agent;

import org.agrona.concurrent.BackoffIdleStrategy;
import org.agrona.concurrent.IdleStrategy;

import java.util.concurrent.locks.LockSupport;

/**
 * The agent's idle strategy: back off to long parks, and be woken when there is work. Aeron IPC cannot block a
 * subscriber, so an agent that only polls trades idle CPU for latency: parks of at most 1 ms set the update
 * latency's median at ~1 ms and still cost ~3 % of a core idle on the test machine (a wake-up there costs ~30 µs).
 * Instead the sources in the agent's process ({@code --manifests}, {@code --kubeconfig}) unpark the agent thread
 * after each update they offer ({@link #wake(Thread)}), so the agent answers them at once however long it parks,
 * and it parks up to {@value #MAX_PARK_NS} ns: ~100 wake-ups a second when idle. Publishers in other processes
 * (the CLI's {@code apply}) are seen within that park.
 */
public final class AdaptiveIdleStrategy implements IdleStrategy
{
    /** The longest park: what an update from another process may wait, and ~100 idle wake-ups a second. */
    static final long MAX_PARK_NS = 10_000_000L;

    private final BackoffIdleStrategy backoff = new BackoffIdleStrategy(100, 10, 1_000, MAX_PARK_NS);

    /** What an in-process publisher calls after each offer: the agent thread leaves its park now. */
    public static void wake(final Thread agentThread)
    {
        LockSupport.unpark(agentThread);
    }

    @Override
    public void idle(final int workCount)
    {
        if (workCount > 0)
        {
            backoff.reset();
            return;
        }
        backoff.idle();
    }

    @Override
    public void idle()
    {
        backoff.idle();
    }

    @Override
    public void reset()
    {
        backoff.reset();
    }

    @Override
    public String alias()
    {
        return "adaptive";
    }
}
