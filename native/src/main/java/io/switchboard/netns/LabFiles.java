package io.switchboard.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Removing what a test, the demo or a benchmark made on disk: directories, bpffs pins, Aeron directories. */
public final class LabFiles
{
    private LabFiles()
    {
    }

    /** Deletes {@code path} and everything below it; nothing happens when it does not exist. */
    public static void deleteTree(final Path path)
    {
        if (null == path || !Files.exists(path))
        {
            return;
        }
        try (Stream<Path> walk = Files.walk(path))
        {
            for (final Path entry : walk.sorted(Comparator.reverseOrder()).toList())
            {
                Files.deleteIfExists(entry);
            }
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("removing " + path, ex);
        }
    }
}
