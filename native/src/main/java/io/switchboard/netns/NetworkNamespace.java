package io.switchboard.netns;

import io.switchboard.libc.Libc;

import io.switchboard.bpf.BpfException;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;

/**
 * Runs code inside a named network namespace ({@code /var/run/netns/NAME}, as {@code ip netns add}
 * makes it). The work runs on a fresh platform thread that enters only the network namespace with
 * {@code setns}, so bpffs and the cgroup mounts stay visible (unlike {@code ip netns exec}) and the
 * caller's thread is never moved. Sockets made there belong to that namespace for their whole life.
 */
public final class NetworkNamespace
{
    private static final Path NETNS_DIR = Path.of("/var/run/netns");

    private NetworkNamespace()
    {
    }

    /** Runs {@code work} in namespace {@code name} and returns its result. */
    public static <T> T call(final String name, final Callable<T> work)
    {
        final Path path = NETNS_DIR.resolve(name);
        final FutureTask<T> task = new FutureTask<>(() ->
        {
            final int fd = Libc.open(path.toString(), Libc.O_RDONLY | Libc.O_CLOEXEC);
            if (fd < 0)
            {
                throw new BpfException("open", path.toString(), fd);
            }
            try
            {
                final int rc = Libc.setns(fd, Libc.CLONE_NEWNET);
                if (rc < 0)
                {
                    throw new BpfException("setns", path.toString(), rc);
                }
            }
            finally
            {
                Libc.close(fd);
            }
            return work.call();
        });
        final Thread thread = Thread.ofPlatform().name("netns-" + name).start(task);
        try
        {
            thread.join();
            return task.get();
        }
        catch (final InterruptedException ex)
        {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running in netns " + name, ex);
        }
        catch (final ExecutionException ex)
        {
            final Throwable cause = ex.getCause();
            if (cause instanceof RuntimeException runtime)
            {
                throw runtime;
            }
            if (cause instanceof Error error)
            {
                throw error;
            }
            throw new IllegalStateException("failed in netns " + name + ": " + cause, cause);
        }
    }

    /** Runs {@code work} in namespace {@code name}. */
    public static void run(final String name, final ThrowingRunnable work)
    {
        call(name, () ->
        {
            work.run();
            return null;
        });
    }

    /** A runnable that may throw. */
    @FunctionalInterface
    public interface ThrowingRunnable
    {
        void run() throws Exception;
    }
}
