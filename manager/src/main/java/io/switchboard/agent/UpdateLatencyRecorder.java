package io.switchboard.agent;

/**
 * Receives the update latency of each desired-state update an agent duty cycle applied: the time from
 * the publisher's intended send time (stamped into the message) to the moment the cycle's changes had
 * been written to the BPF maps. Called on the agent's thread, after the cycle's flush; an
 * implementation must not block and should not allocate.
 */
@FunctionalInterface
public interface UpdateLatencyRecorder
{
    /**
     * @param latencyNs        {@code System.nanoTime()} after the flush minus the message's intended send time.
     * @param intendedSendTimeNs the intended send time stamped by the publisher.
     */
    void record(long latencyNs, long intendedSendTimeNs);
}
