package io.switchboard.testing;

import io.switchboard.netns.Host;
import io.switchboard.netns.Names;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A cgroup v2 directory for one test, so socket hooks apply to the test's processes only. Processes
 * started with {@link #start} run in it (and, if given, in a host's network namespace); they are
 * killed and the directory removed when the test ends.
 */
public final class TestCgroup implements AutoCloseable
{
    private final Path path;
    private final List<Process> processes = new ArrayList<>();
    private final List<TestCgroup> children = new ArrayList<>();

    private TestCgroup(final Path path)
    {
        this.path = path;
    }

    static TestCgroup create()
    {
        final Path mount = Cgroups.unifiedMount();
        if (null == mount)
        {
            throw new IllegalStateException("no cgroup v2 mount");
        }
        final Path path = mount.resolve("switchboard-test-" + Names.next());
        try
        {
            Files.createDirectory(path);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return new TestCgroup(path);
    }

    public Path path()
    {
        return path;
    }

    /**
     * A cgroup below this one (e.g. one per node of a {@link io.switchboard.netns.LabCluster}, so each
     * node's socket hooks apply only to its own processes), removed with this one.
     */
    public TestCgroup child(final String name)
    {
        final Path child = path.resolve(name);
        try
        {
            Files.createDirectory(child);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        final TestCgroup cgroup = new TestCgroup(child);
        children.add(cgroup);
        return cgroup;
    }

    /**
     * Starts {@code command} inside this cgroup and, when {@code host} is not null, inside its network
     * namespace. The process joins the cgroup before it executes the command.
     */
    public Process start(final Host host, final String... command)
    {
        final List<String> full = new ArrayList<>();
        if (null != host)
        {
            full.addAll(List.of("nsenter", "--net=/var/run/netns/" + host.namespace()));
        }
        full.addAll(List.of("sh", "-c", "echo $$ > \"$0\" && exec \"$@\"", path.resolve("cgroup.procs").toString()));
        full.addAll(List.of(command));
        try
        {
            final Process process = new ProcessBuilder(full).redirectErrorStream(true).start();
            processes.add(process);
            return process;
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
    }

    @Override
    public void close()
    {
        for (final TestCgroup child : children)
        {
            child.close();
        }
        for (final Process process : processes)
        {
            process.destroyForcibly();
            try
            {
                process.waitFor();
            }
            catch (final InterruptedException ex)
            {
                Thread.currentThread().interrupt();
            }
        }
        try
        {
            Files.deleteIfExists(path);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("removing cgroup " + path, ex);
        }
    }
}
