package io.switchboard.agent;

import io.switchboard.netns.LabFiles;
import io.switchboard.netns.Names;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The directories of an agent under test, fresh for every test and removed after it, pass or fail: a
 * work directory (with an empty {@code manifests/}) for state and manifests, and an Aeron directory in
 * {@code /dev/shm} named with this run's prefix. Register with {@code @RegisterExtension}.
 */
public final class AgentDirectories implements BeforeEachCallback, AfterEachCallback
{
    private final String name;
    private Path work;
    private Path aeron;

    /** @param name the work directory's prefix, e.g. {@code switchboard-dns-test}. */
    public AgentDirectories(final String name)
    {
        this.name = name;
    }

    @Override
    public void beforeEach(final ExtensionContext context) throws IOException
    {
        work = Files.createTempDirectory(name);
        Files.createDirectories(manifests());
        aeron = Path.of("/dev/shm", "switchboard-" + Names.next());
    }

    @Override
    public void afterEach(final ExtensionContext context)
    {
        LabFiles.deleteTree(work);
        LabFiles.deleteTree(aeron);
    }

    /** The work directory: {@code --state-dir} and manifests go below it. */
    public Path work()
    {
        return work;
    }

    /** {@code <work>/manifests}, created empty. */
    public Path manifests()
    {
        return work.resolve("manifests");
    }

    /** The agent's {@code --aeron-dir}; the agent creates it. */
    public Path aeron()
    {
        return aeron;
    }
}
