package io.switchboard.model;

import io.fabric8.kubernetes.api.model.HasMetadata;

/**
 * The identity of a namespaced object, printed as {@code namespace/name}.
 *
 * @param namespace the namespace ({@code default} when the object named none)
 * @param name      the object's name
 */
public record NamespacedName(String namespace, String name)
{
    /** The namespace an object without one lands in, as {@code kubectl apply} does. */
    public static final String DEFAULT_NAMESPACE = "default";

    /** The identity of an object; a missing namespace means {@code default}, a missing name is empty. */
    public static NamespacedName of(final HasMetadata object)
    {
        final var metadata = object.getMetadata();
        final String namespace = null == metadata || null == metadata.getNamespace() || metadata.getNamespace().isEmpty()
            ? DEFAULT_NAMESPACE : metadata.getNamespace();
        final String name = null == metadata || null == metadata.getName() ? "" : metadata.getName();
        return new NamespacedName(namespace, name);
    }

    @Override
    public String toString()
    {
        // Cluster-scoped objects (Nodes) have no namespace part.
        return namespace.isEmpty() ? name : namespace + "/" + name;
    }
}
