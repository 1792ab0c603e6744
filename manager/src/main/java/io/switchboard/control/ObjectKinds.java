package io.switchboard.control;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.switchboard.control.codecs.ObjectKind;

/** The Kubernetes kinds the wire carries, and their model classes. */
public final class ObjectKinds
{
    private ObjectKinds()
    {
    }

    /** The wire kind of {@code object}, or null when the control plane does not carry it. */
    public static ObjectKind of(final HasMetadata object)
    {
        return switch (object)
        {
            case Service ignored -> ObjectKind.SERVICE;
            case EndpointSlice ignored -> ObjectKind.ENDPOINT_SLICE;
            case Pod ignored -> ObjectKind.POD;
            case Node ignored -> ObjectKind.NODE;
            default -> null;
        };
    }

    /** The model class of a wire kind. */
    public static Class<? extends HasMetadata> modelClass(final ObjectKind kind)
    {
        return switch (kind)
        {
            case SERVICE -> Service.class;
            case ENDPOINT_SLICE -> EndpointSlice.class;
            case POD -> Pod.class;
            case NODE -> Node.class;
            default -> null;
        };
    }

    /** The Kubernetes kind of a wire kind: "Service", "EndpointSlice", "Pod", "Node". */
    public static String kindName(final ObjectKind kind)
    {
        return switch (kind)
        {
            case SERVICE -> "Service";
            case ENDPOINT_SLICE -> "EndpointSlice";
            case POD -> "Pod";
            case NODE -> "Node";
            default -> String.valueOf(kind);
        };
    }

    /** "Service default/web", the way errors name an object. */
    public static String describe(final ObjectKind kind, final String namespace, final String name)
    {
        final String kindName = kindName(kind);
        return kindName + " " + (null == namespace || namespace.isEmpty() ? name : namespace + "/" + name);
    }
}
