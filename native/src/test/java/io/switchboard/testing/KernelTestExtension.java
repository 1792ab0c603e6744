package io.switchboard.testing;

import io.switchboard.netns.LabCluster;
import io.switchboard.netns.LabNetwork;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * The JUnit side of {@link KernelTest}: decides skip or fail when the kernel cannot be used, and makes
 * the per-test resources. Each resource is registered in the test's store as it is made, so JUnit
 * closes it when the test ends whatever the outcome, and an exception half-way through a build still
 * removes what was made.
 */
public final class KernelTestExtension
    implements ExecutionCondition, BeforeEachCallback, AfterEachCallback, ParameterResolver
{
    private static final ExtensionContext.Namespace STORE =
        ExtensionContext.Namespace.create(KernelTestExtension.class);

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(final ExtensionContext context)
    {
        final List<String> missing = KernelSupport.missing();
        if (missing.isEmpty())
        {
            return ConditionEvaluationResult.enabled("kernel tests can run here");
        }
        if (KernelSupport.required())
        {
            // fail in beforeEach instead of skipping: a green run must mean the kernel tests ran
            return ConditionEvaluationResult.enabled("kernel tests are required");
        }
        return ConditionEvaluationResult.disabled("kernel test skipped: " + String.join("; ", missing));
    }

    @Override
    public void beforeEach(final ExtensionContext context)
    {
        final List<String> missing = KernelSupport.missing();
        if (!missing.isEmpty())
        {
            throw new AssertionError("kernel tests are required here (switchboard.kernel.required=true) but " +
                "cannot run: " + String.join("; ", missing));
        }
    }

    /**
     * Records each kernel test that ran in {@code target/kernel-tests.txt}, so {@code bin/test} can
     * show that they ran rather than were skipped.
     */
    @Override
    public void afterEach(final ExtensionContext context) throws IOException
    {
        final String outcome = context.getExecutionException().isPresent() ? "failed" : "passed";
        Files.writeString(Path.of("target", "kernel-tests.txt"),
            outcome + " " + context.getUniqueId() + System.lineSeparator(), StandardCharsets.UTF_8,
            StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }

    @Override
    public boolean supportsParameter(final ParameterContext parameter, final ExtensionContext context)
    {
        final Class<?> type = parameter.getParameter().getType();
        return type == LabNetwork.class || type == LabCluster.class || type == PinDirectory.class || type == TestCgroup.class;
    }

    @Override
    public Object resolveParameter(final ParameterContext parameter, final ExtensionContext context)
    {
        final Class<?> type = parameter.getParameter().getType();
        final AutoCloseable resource;
        if (type == LabNetwork.class)
        {
            final Pods pods = parameter.findAnnotation(Pods.class).orElse(null);
            resource = LabNetwork.create(null == pods ? 3 : pods.value());
        }
        else if (type == LabCluster.class)
        {
            final Cluster cluster = parameter.findAnnotation(Cluster.class).orElse(null);
            resource = null == cluster ? LabCluster.create(2, 2) : LabCluster.create(cluster.nodes(), cluster.podsPerNode());
        }
        else if (type == PinDirectory.class)
        {
            resource = PinDirectory.create();
        }
        else if (type == TestCgroup.class)
        {
            resource = TestCgroup.create();
        }
        else
        {
            throw new ParameterResolutionException("unsupported parameter " + type);
        }
        // JUnit closes AutoCloseable values of the store when the test ends, pass or fail
        context.getStore(STORE).put(resource, resource);
        return resource;
    }
}
