package io.switchboard.netns;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** Requests from a host of a {@link LabNetwork} to a {@link PodServer}, directly or through a service. */
public final class Requests
{
    private Requests()
    {
    }

    /** What a pod server answered, and whom the client saw as its peer. */
    public record Answer(String pod, InetAddress callerSeenByPod, int callerPortSeenByPod, InetSocketAddress peer)
    {
        static Answer parse(final String line, final InetSocketAddress peer)
        {
            if (null == line)
            {
                throw new UncheckedIOException(new IOException("connection closed without an answer"));
            }
            final String[] fields = line.strip().split(" ");
            try
            {
                return new Answer(fields[0], InetAddress.getByName(fields[1]), Integer.parseInt(fields[2]), peer);
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        }
    }

    /**
     * Connects over TCP from {@code from} and reads the answer line.
     *
     * @throws UncheckedIOException wrapping {@link java.net.ConnectException} when refused, or
     *     {@link java.net.SocketTimeoutException} when nothing answers in time.
     */
    public static Answer tcp(final Host from, final InetSocketAddress to, final Duration timeout)
    {
        return from.call(() ->
        {
            try (Socket socket = new Socket())
            {
                socket.connect(to, (int)timeout.toMillis());
                socket.setSoTimeout((int)timeout.toMillis());
                final BufferedReader reader = new BufferedReader(
                    new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII));
                return Answer.parse(reader.readLine(), (InetSocketAddress)socket.getRemoteSocketAddress());
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        });
    }

    /** Sends one UDP datagram from {@code from} and waits for the answer. */
    public static Answer udp(final Host from, final InetSocketAddress to, final Duration timeout)
    {
        return from.call(() ->
        {
            try (DatagramSocket socket = new DatagramSocket())
            {
                socket.setSoTimeout((int)timeout.toMillis());
                final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(request, request.length, to));
                final byte[] buffer = new byte[512];
                final DatagramPacket reply = new DatagramPacket(buffer, buffer.length);
                socket.receive(reply);
                final String line = new String(buffer, 0, reply.getLength(), StandardCharsets.US_ASCII);
                return Answer.parse(line, (InetSocketAddress)reply.getSocketAddress());
            }
            catch (final IOException ex)
            {
                throw new UncheckedIOException(ex);
            }
        });
    }

    /**
     * {@link #udp} with up to {@code attempts} datagrams, each on a fresh socket, as a DNS client retries: a
     * single datagram lost on a loaded 2-core machine must not fail a test about where answers come from
     * (seen rarely in full-suite runs and not yet explained; a datapath that drops systematically still fails).
     */
    public static Answer udp(final Host from, final InetSocketAddress to, final Duration timeout, final int attempts)
    {
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return udp(from, to, timeout);
            }
            catch (final UncheckedIOException ex)
            {
                if (attempt >= attempts)
                {
                    throw ex;
                }
                // kept visible in the test output: a loss that keeps happening is a datapath fault to find
                System.err.println("udp " + to + " from " + from + ": no answer within " + timeout + " (" +
                    ex.getCause() + "), sending again");
            }
        }
    }

    /** Sends {@code count} UDP datagrams from {@code from} without waiting for answers. */
    public static void sendUdp(final Host from, final InetSocketAddress to, final int count)
    {
        from.run(() ->
        {
            try (DatagramSocket socket = new DatagramSocket())
            {
                final byte[] payload = "probe\n".getBytes(StandardCharsets.US_ASCII);
                for (int i = 0; i < count; i++)
                {
                    socket.send(new DatagramPacket(payload, payload.length, to));
                }
            }
        });
    }
}
