package io.switchboard.agent;

import java.time.Duration;
import java.util.function.Predicate;
import java.util.function.Supplier;

/** Polling for tests that wait on an agent: every 100 ms, for at most 20 s (times the test time scale). */
final class Await
{
    private Await()
    {
    }

    /** The first result of {@code attempt} that {@code done} accepts; fails with the last one after 20 s. */
    static <T> T await(final Supplier<T> attempt, final Predicate<T> done)
    {
        final long deadline = System.nanoTime() + AgentProcess.scaled(Duration.ofSeconds(20)).toNanos();
        T last = null;
        while (System.nanoTime() < deadline)
        {
            last = attempt.get();
            if (done.test(last))
            {
                return last;
            }
            AgentProcess.sleep(100);
        }
        throw new AssertionError("gave up waiting; last: " + last);
    }
}
