package io.switchboard.testing;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.extension.ExtendWith;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a test that needs the real kernel: root, BPF, bpffs and network namespaces. Where these are
 * missing the test is skipped with the reason, unless {@code -Dswitchboard.kernel.required=true}
 * (set by {@code bin/test} as root): then it fails, so a green run always means kernel tests ran.
 * Parameters of type {@link io.switchboard.netns.LabNetwork}, {@link io.switchboard.netns.LabCluster}
 * ({@link Cluster} sets its shape), {@link PinDirectory} and {@link TestCgroup} are made for the test and
 * removed when it ends, pass or fail.
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Tag("kernel")
@ExtendWith(KernelTestExtension.class)
public @interface KernelTest
{
}
