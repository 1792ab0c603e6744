package io.switchboard.netns;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Files a test, the demo or a benchmark makes on disk: manifests replaced whole, and the removal of
 * directories, bpffs pins and Aeron directories.
 */
public final class LabFiles
{
    private LabFiles()
    {
    }

    /**
     * Replaces {@code file} with {@code content} in one rename, so a reader (an agent following a manifests
     * directory) never sees half of it: written first to {@code <file>.tmp} beside it, which such a reader
     * ignores.
     */
    public static void replace(final Path file, final String content)
    {
        final Path temporary = file.resolveSibling(file.getFileName() + ".tmp");
        try
        {
            Files.writeString(temporary, content, StandardCharsets.UTF_8);
            Files.move(temporary, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("writing " + file, ex);
        }
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
