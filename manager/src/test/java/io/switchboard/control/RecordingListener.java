package io.switchboard.control;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.switchboard.control.codecs.ObjectKind;
import io.switchboard.control.codecs.SourceKind;

import java.util.ArrayList;
import java.util.List;

/** Records what the adapter delivered, in order, as readable lines. */
public final class RecordingListener implements DesiredStateListener
{
    public final List<String> events = new ArrayList<>();
    public final List<HasMetadata> objects = new ArrayList<>();

    /** What {@link #onRejected} was told: "REJECTION OBJECT: ERROR". */
    public final List<String> rejections = new ArrayList<>();

    /** Objects of this name are refused, as a model refuses a field it cannot take. */
    public static final String REFUSED = "refused";

    @Override
    public void onUpsert(final SourceKind source, final long snapshotId, final ObjectKind kind, final HasMetadata object)
    {
        if (REFUSED.equals(object.getMetadata().getName()))
        {
            throw new RejectedUpdateException(kind + " " + object.getMetadata().getNamespace() + "/" + REFUSED,
                "spec", "refused by the test's listener");
        }
        events.add("upsert " + source + " " + snapshotId + " " + kind + " " + object.getMetadata().getNamespace() +
            "/" + object.getMetadata().getName());
        objects.add(object);
    }

    @Override
    public void onDelete(final SourceKind source, final ObjectKind kind, final String namespace, final String name)
    {
        events.add("delete " + source + " " + kind + " " + namespace + "/" + name);
    }

    @Override
    public void onSnapshotBegin(final SourceKind source, final long snapshotId)
    {
        events.add("begin " + source + " " + snapshotId);
    }

    @Override
    public void onSnapshotEnd(final SourceKind source, final long snapshotId, final int objectCount)
    {
        events.add("end " + source + " " + snapshotId + " " + objectCount);
    }

    @Override
    public void onRejected(final Rejection rejection, final String object, final String error)
    {
        rejections.add(rejection + " " + object + ": " + error);
    }
}
