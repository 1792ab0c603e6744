package io.switchboard.control;

import io.aeron.CncFileDescriptor;
import io.aeron.CommonContext;
import io.aeron.driver.MediaDriver;
import io.aeron.driver.ThreadingMode;
import org.agrona.IoUtil;
import org.agrona.concurrent.BackoffIdleStrategy;

import java.io.File;
import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The Aeron media driver the agent embeds when no external one is named: shared threading with a
 * back-off idle strategy (a node is no place to busy-spin), and a directory only root can open, so
 * an unprivileged local user can neither publish updates nor read them.
 */
public final class EmbeddedMediaDriver implements AutoCloseable
{
    private final MediaDriver driver;
    private final Path directory;

    private EmbeddedMediaDriver(final MediaDriver driver, final Path directory)
    {
        this.driver = driver;
        this.directory = directory;
    }

    /** Starts a driver in {@code directory}, replacing what a crashed driver left there. */
    public static EmbeddedMediaDriver launch(final Path directory)
    {
        final MediaDriver.Context context = new MediaDriver.Context()
            .aeronDirectoryName(directory.toString())
            .threadingMode(ThreadingMode.SHARED)
            .sharedIdleStrategy(new BackoffIdleStrategy(1, 1, 1_000, 1_000_000))
            .dirDeleteOnStart(true)
            .dirDeleteOnShutdown(true)
            .ipcTermBufferLength(4 * 1024 * 1024)
            .termBufferSparseFile(true);
        final MediaDriver driver = MediaDriver.launch(context);
        restrictToOwner(directory);
        return new EmbeddedMediaDriver(driver, directory);
    }

    /**
     * Whether another process's media driver runs in {@code directory}: a fresh heartbeat and a live
     * process behind it. The driver embedded by an agent that was just killed leaves a heartbeat that
     * still looks fresh for a moment; its process is gone, so a restarted agent launches its own
     * instead of waiting on a dead one. (A driver outside this PID namespace looks gone, too.)
     */
    public static boolean otherDriverActive(final Path directory)
    {
        final File cnc = directory.resolve(CncFileDescriptor.CNC_FILE).toFile();
        if (!cnc.exists() || !CommonContext.isDriverActive(directory.toFile(), 2_000, message -> { }))
        {
            return false;
        }
        final MappedByteBuffer buffer = IoUtil.mapExistingFile(cnc, "cnc");
        try
        {
            final long pid = CncFileDescriptor.pid(CncFileDescriptor.createMetaDataBuffer(buffer));
            return pid != ProcessHandle.current().pid() &&
                ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
        finally
        {
            IoUtil.unmap(buffer);
        }
    }

    static void restrictToOwner(final Path directory)
    {
        try
        {
            Files.setPosixFilePermissions(directory, PosixFilePermissions.fromString("rwx------"));
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("restricting " + directory + " to its owner", ex);
        }
    }

    public Path directory()
    {
        return directory;
    }

    @Override
    public void close()
    {
        driver.close();
    }
}
