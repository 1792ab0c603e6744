package io.switchboard.testing;

import io.switchboard.netns.LabFiles;

import io.switchboard.netns.Names;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A directory on bpffs for one test's pins; removed with everything in it when the test ends. */
public final class PinDirectory implements AutoCloseable
{
    private final Path path;

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

    @Override
    public void close()
    {
        LabFiles.deleteTree(path);
    }
}
