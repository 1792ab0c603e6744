package io.switchboard.control;

import io.switchboard.log.Log;
import io.aeron.Subscription;
import io.aeron.logbuffer.FragmentHandler;
import io.aeron.logbuffer.Header;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.codecs.MessageHeaderDecoder;
import io.switchboard.control.codecs.ObjectDeleteDecoder;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.ObjectUpsertDecoder;
import io.switchboard.control.codecs.SnapshotBeginDecoder;
import io.switchboard.control.codecs.SnapshotEndDecoder;
import io.switchboard.control.codecs.SourceKind;
import io.aeron.FragmentAssembler;
import org.agrona.DirectBuffer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Decodes the desired-state stream and dispatches each update to a {@link DesiredStateListener}.
 * A message that does not decode, carries another schema or a newer version than this agent knows,
 * or that the listener rejects is counted and logged once per distinct error; nothing is applied from
 * it and the agent keeps running on its last good state. Runs on the agent's thread only.
 */
public final class ControlPlaneAdapter implements FragmentHandler
{
    private final Subscription subscription;
    private final DesiredStateListener listener;
    private final KubernetesSerialization serialization;
    private final Consumer<String> errorLog;
    private final FragmentAssembler assembler = new FragmentAssembler(this);
    private final MessageHeaderDecoder headerDecoder = new MessageHeaderDecoder();
    private final ObjectUpsertDecoder upsertDecoder = new ObjectUpsertDecoder();
    private final ObjectDeleteDecoder deleteDecoder = new ObjectDeleteDecoder();
    private final SnapshotBeginDecoder snapshotBeginDecoder = new SnapshotBeginDecoder();
    private final SnapshotEndDecoder snapshotEndDecoder = new SnapshotEndDecoder();
    private final Map<String, Long> distinctErrors = new LinkedHashMap<>();
    private long applied;
    private long rejected;
    /** The update was decoded and is with the listener: what it throws is a refusal of the object, not of the bytes. */
    private boolean inListener;

    /**
     * @param errorLog receives each distinct error's text the first time it occurs.
     */
    public ControlPlaneAdapter(
        final Subscription subscription,
        final DesiredStateListener listener,
        final KubernetesSerialization serialization,
        final Consumer<String> errorLog)
    {
        this.subscription = Objects.requireNonNull(subscription, "subscription");
        this.listener = Objects.requireNonNull(listener, "listener");
        this.serialization = Objects.requireNonNull(serialization, "serialization");
        this.errorLog = Objects.requireNonNull(errorLog, "errorLog");
    }

    /** Reads up to {@link ControlPlaneConfiguration#FRAGMENT_LIMIT} fragments; returns how many. */
    public int poll()
    {
        return subscription.poll(assembler, ControlPlaneConfiguration.FRAGMENT_LIMIT);
    }

    @Override
    public void onFragment(final DirectBuffer buffer, final int offset, final int length, final Header header)
    {
        try
        {
            dispatch(buffer, offset, length);
            applied++;
        }
        catch (final RejectedUpdateException ex)
        {
            reject(ex.getMessage());
            listener.onRejected(inListener ? DesiredStateListener.Rejection.REFUSED :
                DesiredStateListener.Rejection.UNDECODABLE, ex.object(), ex.getMessage());
        }
        catch (final RuntimeException ex)
        {
            if (inListener)
            {
                reject("failed to apply an update: " + ex);
                listener.onRejected(DesiredStateListener.Rejection.FAILED, "update", "failed to apply: " + ex);
            }
            else
            {
                reject("malformed message: " + ex);
                listener.onRejected(DesiredStateListener.Rejection.UNDECODABLE, "message", "malformed message: " + ex);
            }
        }
        finally
        {
            inListener = false;
        }
    }

    private void dispatch(final DirectBuffer buffer, final int offset, final int length)
    {
        if (length < MessageHeaderDecoder.ENCODED_LENGTH)
        {
            throw new RejectedUpdateException("message", "", "truncated: " + length + " bytes");
        }
        headerDecoder.wrap(buffer, offset);
        if (headerDecoder.schemaId() != MessageHeaderDecoder.SCHEMA_ID)
        {
            throw new RejectedUpdateException("message", "", "unknown schema id " + headerDecoder.schemaId() +
                " (expected " + MessageHeaderDecoder.SCHEMA_ID + ")");
        }
        final int version = headerDecoder.version();
        if (version > MessageHeaderDecoder.SCHEMA_VERSION)
        {
            throw new RejectedUpdateException("message", "", "schema version " + version +
                " is newer than this agent's " + MessageHeaderDecoder.SCHEMA_VERSION);
        }
        final int bodyOffset = offset + MessageHeaderDecoder.ENCODED_LENGTH;
        final int blockLength = headerDecoder.blockLength();
        if (bodyOffset + blockLength > offset + length)
        {
            throw new RejectedUpdateException("message", "", "truncated: block of " + blockLength +
                " bytes does not fit in " + length);
        }
        switch (headerDecoder.templateId())
        {
            case ObjectUpsertDecoder.TEMPLATE_ID -> onUpsert(buffer, bodyOffset, blockLength, version);
            case ObjectDeleteDecoder.TEMPLATE_ID -> onDelete(buffer, bodyOffset, blockLength, version);
            case SnapshotBeginDecoder.TEMPLATE_ID ->
            {
                snapshotBeginDecoder.wrap(buffer, bodyOffset, blockLength, version);
                final SourceKind source = source(snapshotBeginDecoder.source());
                inListener = true;
                listener.onSnapshotBegin(source, snapshotBeginDecoder.snapshotId());
            }
            case SnapshotEndDecoder.TEMPLATE_ID ->
            {
                snapshotEndDecoder.wrap(buffer, bodyOffset, blockLength, version);
                final SourceKind source = source(snapshotEndDecoder.source());
                inListener = true;
                listener.onSnapshotEnd(source, snapshotEndDecoder.snapshotId(), snapshotEndDecoder.objectCount());
            }
            default -> throw new RejectedUpdateException("message", "", "unknown template id " +
                headerDecoder.templateId());
        }
    }

    private void onUpsert(final DirectBuffer buffer, final int offset, final int blockLength, final int version)
    {
        upsertDecoder.wrap(buffer, offset, blockLength, version);
        final ObjectKind kind = kind(upsertDecoder.kind());
        final SourceKind source = source(upsertDecoder.source());
        final long snapshotId = upsertDecoder.snapshotId();
        final long intendedSendTimeNs = upsertDecoder.intendedSendTimeNs();
        upsertDecoder.sequence();
        final String namespace = upsertDecoder.objectNamespace();
        final String name = upsertDecoder.objectName();
        final String body = upsertDecoder.body();
        final HasMetadata object;
        try
        {
            object = serialization.unmarshal(body, ObjectKinds.modelClass(kind));
        }
        catch (final RuntimeException ex)
        {
            throw new RejectedUpdateException(ObjectKinds.describe(kind, namespace, name), "",
                "body is not a valid " + kind + " in JSON: " + firstLine(ex.getMessage()));
        }
        if (null == object || null == object.getMetadata() || !name.equals(object.getMetadata().getName()))
        {
            throw new RejectedUpdateException(ObjectKinds.describe(kind, namespace, name), "metadata.name",
                "does not match the message's object name");
        }
        inListener = true;
        listener.onUpsert(source, snapshotId, kind, object);
        listener.onApplied(intendedSendTimeNs);
    }

    private void onDelete(final DirectBuffer buffer, final int offset, final int blockLength, final int version)
    {
        deleteDecoder.wrap(buffer, offset, blockLength, version);
        final ObjectKind kind = kind(deleteDecoder.kind());
        final SourceKind source = source(deleteDecoder.source());
        final long intendedSendTimeNs = deleteDecoder.intendedSendTimeNs();
        deleteDecoder.sequence();
        final String namespace = deleteDecoder.objectNamespace();
        final String name = deleteDecoder.objectName();
        inListener = true;
        listener.onDelete(source, kind, namespace, name);
        listener.onApplied(intendedSendTimeNs);
    }

    private static ObjectKind kind(final ObjectKind kind)
    {
        if (null == kind || kind == ObjectKind.NULL_VAL || kind == ObjectKind.SBE_UNKNOWN)
        {
            throw new RejectedUpdateException("message", "kind", "unknown object kind");
        }
        return kind;
    }

    private static SourceKind source(final SourceKind source)
    {
        if (null == source || source == SourceKind.NULL_VAL || source == SourceKind.SBE_UNKNOWN)
        {
            throw new RejectedUpdateException("message", "source", "unknown source");
        }
        return source;
    }

    private void reject(final String error)
    {
        rejected++;
        final Long previous = distinctErrors.merge(error, 1L, Long::sum);
        if (previous == 1L)
        {
            errorLog.accept(Log.warn(error));
        }
    }

    private static String firstLine(final String text)
    {
        if (null == text)
        {
            return "";
        }
        final int newline = text.indexOf('\n');
        return newline < 0 ? text : text.substring(0, newline);
    }

    /** Updates applied so far. */
    public long applied()
    {
        return applied;
    }

    /** Updates rejected so far. */
    public long rejected()
    {
        return rejected;
    }

    /** Each distinct rejection with how often it happened. */
    public Map<String, Long> distinctErrors()
    {
        return Collections.unmodifiableMap(distinctErrors);
    }
}
