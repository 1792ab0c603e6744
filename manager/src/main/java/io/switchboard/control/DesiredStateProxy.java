package io.switchboard.control;

import io.aeron.Publication;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.codecs.MessageHeaderEncoder;
import io.switchboard.control.codecs.ObjectDeleteEncoder;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.ObjectUpsertEncoder;
import io.switchboard.control.codecs.SnapshotBeginEncoder;
import io.switchboard.control.codecs.SnapshotEndEncoder;
import io.switchboard.control.codecs.SourceKind;
import org.agrona.ExpandableArrayBuffer;
import org.agrona.concurrent.IdleStrategy;
import org.agrona.concurrent.SleepingMillisIdleStrategy;

import java.util.Objects;
import java.util.concurrent.TimeUnit;

/**
 * Encodes desired-state updates and offers them to the agent's stream. Back pressure and admin
 * actions are retried until a deadline; an agent that is not subscribed is waited for as long; a closed
 * publication is fatal. Every failure is a {@link PublishException} that says which.
 */
public final class DesiredStateProxy
{
    private static final long DEFAULT_TIMEOUT_NS = TimeUnit.SECONDS.toNanos(5);

    private final Publication publication;
    private final KubernetesSerialization serialization;
    private final long timeoutNs;
    private final IdleStrategy idleStrategy = new SleepingMillisIdleStrategy(1);
    private final ExpandableArrayBuffer buffer = new ExpandableArrayBuffer(4096);
    private final MessageHeaderEncoder headerEncoder = new MessageHeaderEncoder();
    private final ObjectUpsertEncoder upsertEncoder = new ObjectUpsertEncoder();
    private final ObjectDeleteEncoder deleteEncoder = new ObjectDeleteEncoder();
    private final SnapshotBeginEncoder snapshotBeginEncoder = new SnapshotBeginEncoder();
    private final SnapshotEndEncoder snapshotEndEncoder = new SnapshotEndEncoder();
    private long sequence;
    private Runnable afterOffer = () -> { };

    public DesiredStateProxy(final Publication publication, final KubernetesSerialization serialization)
    {
        this(publication, serialization, DEFAULT_TIMEOUT_NS);
    }

    public DesiredStateProxy(
        final Publication publication, final KubernetesSerialization serialization, final long timeoutNs)
    {
        this.publication = Objects.requireNonNull(publication, "publication");
        this.serialization = Objects.requireNonNull(serialization, "serialization");
        this.timeoutNs = timeoutNs;
    }

    /**
     * Runs {@code wake} after each message offered: an in-process publisher wakes the agent thread from its park
     * ({@code AdaptiveIdleStrategy.wake}), so it need not poll often to answer fast. Set before publishing.
     */
    public DesiredStateProxy wakeAfterEachOffer(final Runnable wake)
    {
        this.afterOffer = Objects.requireNonNull(wake, "wake");
        return this;
    }

    /** Publishes a create-or-replace of {@code object}, stamped with the current time as its intended send time. */
    public void upsert(final SourceKind source, final long snapshotId, final HasMetadata object)
    {
        upsert(source, snapshotId, object, System.nanoTime());
    }

    /** Publishes a create-or-replace of {@code object} with the time it was meant to be sent. */
    public void upsert(
        final SourceKind source, final long snapshotId, final HasMetadata object, final long intendedSendTimeNs)
    {
        final ObjectKind kind = ObjectKinds.of(object);
        if (null == kind)
        {
            throw new IllegalArgumentException("the control plane does not carry " + object.getKind());
        }
        upsertEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .kind(kind)
            .source(source)
            .snapshotId(snapshotId)
            .intendedSendTimeNs(intendedSendTimeNs)
            .sequence(++sequence)
            .objectNamespace(nullToEmpty(object.getMetadata().getNamespace()))
            .objectName(object.getMetadata().getName())
            .body(serialization.asJson(object));
        offer(MessageHeaderEncoder.ENCODED_LENGTH + upsertEncoder.encodedLength());
    }

    /** Publishes the removal of one object. */
    public void delete(final SourceKind source, final ObjectKind kind, final String namespace, final String name)
    {
        deleteEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .kind(kind)
            .source(source)
            .intendedSendTimeNs(System.nanoTime())
            .sequence(++sequence)
            .objectNamespace(nullToEmpty(namespace))
            .objectName(name);
        offer(MessageHeaderEncoder.ENCODED_LENGTH + deleteEncoder.encodedLength());
    }

    /** Opens a full resync of {@code source}. */
    public void snapshotBegin(final SourceKind source, final long snapshotId)
    {
        snapshotBeginEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder).source(source).snapshotId(snapshotId);
        offer(MessageHeaderEncoder.ENCODED_LENGTH + snapshotBeginEncoder.encodedLength());
    }

    /** Closes a full resync: the agent removes what it did not contain. */
    public void snapshotEnd(final SourceKind source, final long snapshotId, final int objectCount)
    {
        snapshotEndEncoder.wrapAndApplyHeader(buffer, 0, headerEncoder)
            .source(source).snapshotId(snapshotId).objectCount(objectCount);
        offer(MessageHeaderEncoder.ENCODED_LENGTH + snapshotEndEncoder.encodedLength());
    }

    /** Offers raw bytes as they are (tests use it to send what no encoder would). */
    public void offerRaw(final byte[] bytes)
    {
        buffer.putBytes(0, bytes);
        offer(bytes.length);
    }

    private void offer(final int length)
    {
        if (length > publication.maxMessageLength())
        {
            throw new PublishException("message of " + length + " bytes exceeds the stream's maximum of " +
                publication.maxMessageLength());
        }
        final long deadline = System.nanoTime() + timeoutNs;
        idleStrategy.reset();
        while (true)
        {
            final long result = publication.offer(buffer, 0, length);
            if (result > 0)
            {
                afterOffer.run();
                return;
            }
            if (result == Publication.CLOSED)
            {
                throw new PublishException("the publication is closed");
            }
            if (result == Publication.MAX_POSITION_EXCEEDED)
            {
                throw new PublishException("the stream reached its maximum position");
            }
            if (System.nanoTime() - deadline > 0)
            {
                throw new PublishException(result == Publication.NOT_CONNECTED ?
                    "no agent is subscribed to stream " + publication.streamId() + " (is the agent running?)" :
                    "the agent did not take the update within " + TimeUnit.NANOSECONDS.toMillis(timeoutNs) +
                    " ms (back pressure)");
            }
            idleStrategy.idle(); // BACK_PRESSURED, ADMIN_ACTION and NOT_CONNECTED are worth retrying
        }
    }

    private static String nullToEmpty(final String text)
    {
        return null == text ? "" : text;
    }

    /** An update could not be handed to the agent. */
    public static final class PublishException extends RuntimeException
    {
        private static final long serialVersionUID = 1L;

        public PublishException(final String message)
        {
            super(message);
        }
    }
}
