package io.switchboard.netns;

import java.io.IOException;
import java.io.OutputStream;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP and UDP server in a pod's namespace that answers every connection or datagram with one line:
 * {@code "<pod role> <caller address> <caller port>"}, so a test sees which backend answered and whom
 * that backend believed it was talking to.
 */
public final class PodServer implements AutoCloseable
{
    private final Host pod;
    private final int port;
    private final ServerSocket tcp;
    private final DatagramSocket udp;
    private final AtomicInteger tcpRequests = new AtomicInteger();
    private final AtomicInteger udpRequests = new AtomicInteger();
    private volatile boolean running = true;

    private PodServer(final Host pod, final int port, final ServerSocket tcp, final DatagramSocket udp)
    {
        this.pod = pod;
        this.port = port;
        this.tcp = tcp;
        this.udp = udp;
    }

    public static PodServer start(final Host pod, final int port)
    {
        final ServerSocket tcp = pod.call(() ->
        {
            final ServerSocket socket = new ServerSocket();
            socket.setReuseAddress(true);
            socket.bind(new InetSocketAddress(port), 128);
            return socket;
        });
        final DatagramSocket udp = pod.call(() -> new DatagramSocket(new InetSocketAddress(port)));
        final PodServer server = new PodServer(pod, port, tcp, udp);
        Thread.ofPlatform().daemon().name("tcp-" + pod.role()).start(server::serveTcp);
        Thread.ofPlatform().daemon().name("udp-" + pod.role()).start(server::serveUdp);
        return server;
    }

    private void serveTcp()
    {
        while (running)
        {
            try (Socket connection = tcp.accept())
            {
                tcpRequests.incrementAndGet();
                final OutputStream out = connection.getOutputStream();
                out.write(answer((InetSocketAddress)connection.getRemoteSocketAddress()));
                out.flush();
            }
            catch (final IOException ex)
            {
                if (!running)
                {
                    return;
                }
            }
        }
    }

    private void serveUdp()
    {
        final byte[] buffer = new byte[2048];
        while (running)
        {
            try
            {
                final DatagramPacket request = new DatagramPacket(buffer, buffer.length);
                udp.receive(request);
                udpRequests.incrementAndGet();
                final byte[] reply = answer((InetSocketAddress)request.getSocketAddress());
                udp.send(new DatagramPacket(reply, reply.length, request.getSocketAddress()));
            }
            catch (final SocketException ex)
            {
                if (!running)
                {
                    return;
                }
            }
            catch (final IOException ex)
            {
                // a failed reply must not stop the server
            }
        }
    }

    private byte[] answer(final InetSocketAddress caller)
    {
        return (pod.role() + " " + caller.getAddress().getHostAddress() + " " + caller.getPort() + "\n")
            .getBytes(StandardCharsets.US_ASCII);
    }

    public Host pod()
    {
        return pod;
    }

    public int port()
    {
        return port;
    }

    /** Connections accepted so far. */
    public int tcpRequests()
    {
        return tcpRequests.get();
    }

    /** Datagrams received so far. */
    public int udpRequests()
    {
        return udpRequests.get();
    }

    @Override
    public void close()
    {
        running = false;
        try
        {
            tcp.close();
        }
        catch (final IOException ignore)
        {
            // closing is best effort; the namespace goes next
        }
        udp.close();
    }
}
