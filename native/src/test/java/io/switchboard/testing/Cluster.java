package io.switchboard.testing;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** The shape of a {@link io.switchboard.netns.LabCluster} parameter (default 2 nodes with 2 pods each). */
@Target(ElementType.PARAMETER)
@Retention(RetentionPolicy.RUNTIME)
public @interface Cluster
{
    int nodes() default 2;

    int podsPerNode() default 2;
}
