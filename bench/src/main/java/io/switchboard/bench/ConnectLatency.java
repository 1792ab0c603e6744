package io.switchboard.bench;

import io.switchboard.netns.Host;
import org.HdrHistogram.Histogram;

import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;

/**
 * Short TCP connections from the client namespace to a ClusterIP, one at a time: connect, read the pod's
 * one-line answer to its end, close. Each connection's wall time goes into an HdrHistogram (nanoseconds).
 */
final class ConnectLatency
{
    /** The latency distribution and the achieved rate (connections per second, closed loop). */
    record Result(Histogram histogram, double ratePerSecond, int failures)
    {
        double percentileMicros(final double percentile)
        {
            return histogram.getValueAtPercentile(percentile) / 1000.0;
        }
    }

    private ConnectLatency()
    {
    }

    static Result measure(final Host client, final String ip, final int port, final int warmup, final int count)
    {
        return client.call(() ->
        {
            final InetSocketAddress target = new InetSocketAddress(ip, port);
            final byte[] buffer = new byte[256];
            int failures = 0;
            for (int i = 0; i < warmup; i++)
            {
                failures += once(target, buffer) < 0 ? 1 : 0;
            }
            final Histogram histogram = new Histogram(3_600_000_000_000L, 3);
            final long start = System.nanoTime();
            for (int i = 0; i < count; i++)
            {
                final long elapsed = once(target, buffer);
                if (elapsed < 0)
                {
                    failures++;
                }
                else
                {
                    histogram.recordValue(elapsed);
                }
            }
            final double seconds = (System.nanoTime() - start) / 1e9;
            return new Result(histogram, count / seconds, failures);
        });
    }

    /** One connection; its wall time in ns, or -1 if it failed. */
    private static long once(final InetSocketAddress target, final byte[] buffer)
    {
        final long start = System.nanoTime();
        try (Socket socket = new Socket())
        {
            socket.setSoTimeout(2000);
            socket.connect(target, 2000);
            final InputStream in = socket.getInputStream();
            int total = 0;
            int read;
            while ((read = in.read(buffer)) > 0)
            {
                total += read;
            }
            if (total == 0)
            {
                return -1;
            }
        }
        catch (final java.io.IOException ex)
        {
            return -1;
        }
        return System.nanoTime() - start;
    }
}
