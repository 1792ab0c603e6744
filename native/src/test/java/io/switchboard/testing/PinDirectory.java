package io.switchboard.testing;

import io.switchboard.netns.LabFiles;

import io.switchboard.netns.Names;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A directory on bpffs for one test's pins; removed with everything in it when the test ends. */
public final class PinDirectory implements AutoCloseable
{
    private final Path path;
    private final List<AutoCloseable> closeFirst = new ArrayList<>();

    private PinDirectory(final Path path)
    {
        this.path = path;
    }

    static PinDirectory create()
    {
        final Path path = KernelSupport.BPFFS.resolve("switchboard-test-" + Names.next());
        try
        {
            Files.createDirectory(path);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException(ex);
        }
        return new PinDirectory(path);
    }

    public Path path()
    {
        return path;
    }

    /** A pin path inside this directory. */
    public Path resolve(final String name)
    {
        return path.resolve(name);
    }

    /**
     * Closes {@code resource} before the pins are removed: processes that pin (agents) must be gone first,
     * or a pin they make meanwhile keeps its directory from being removed.
     */
    public <T extends AutoCloseable> T closeFirst(final T resource)
    {
        closeFirst.add(resource);
        return resource;
    }

    @Override
    public void close()
    {
        for (final AutoCloseable resource : closeFirst.reversed())
        {
            try
            {
                resource.close();
            }
            catch (final Exception ex)
            {
                throw new IllegalStateException("closing " + resource + " before removing " + path, ex);
            }
        }
        LabFiles.deleteTree(path);
    }
}
