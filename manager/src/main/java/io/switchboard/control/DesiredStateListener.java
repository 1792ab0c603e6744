package io.switchboard.control;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;

/**
 * What the control-plane adapter hands to the agent, one decoded update at a time. Implementations
 * validate before they change anything and throw {@link RejectedUpdateException} to refuse an update;
 * the adapter counts and logs it and the agent keeps its last good state.
 */
public interface DesiredStateListener
{
    /** An object was created or replaced. {@code snapshotId} is 0 outside a snapshot. */
    void onUpsert(SourceKind source, long snapshotId, ObjectKind kind, HasMetadata object);

    /** An object was removed. */
    void onDelete(SourceKind source, ObjectKind kind, String namespace, String name);

    /** A full resync of {@code source} begins. */
    void onSnapshotBegin(SourceKind source, long snapshotId);

    /** The resync is complete: what it did not contain no longer exists. */
    void onSnapshotEnd(SourceKind source, long snapshotId, int objectCount);

    /** The publisher's intended send time of the update just applied, for latency measurement. */
    default void onApplied(final long intendedSendTimeNs)
    {
    }

    /** Why an update was not applied. */
    enum Rejection
    {
        /** It could not be read off the wire. */
        UNDECODABLE,
        /** It was read and the listener refused the object ({@link RejectedUpdateException}). */
        REFUSED,
        /** The listener failed on it otherwise (a bug, or the datapath failing underneath). */
        FAILED
    }

    /** An update was not applied: why, the object as well as it is known, and the error. */
    default void onRejected(final Rejection rejection, final String object, final String error)
    {
    }
}
