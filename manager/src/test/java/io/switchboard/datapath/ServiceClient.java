package io.switchboard.datapath;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.ConnectException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * Test-only client that a kernel test starts inside its {@link io.switchboard.testing.TestCgroup}, so the
 * socket hooks apply to it (the test JVM itself is not in the cgroup). One request per argument group,
 * one output line per request:
 * <pre>
 *   tcp ADDR PORT COUNT   ->  "tcp POD CALLER_SEEN_BY_POD PEER_BY_GETPEERNAME" per connection
 *   udp ADDR PORT COUNT   ->  "udp POD CALLER_SEEN_BY_POD SOURCE_OF_THE_REPLY" per datagram (sendto/recvfrom)
 *   refused ADDR PORT     ->  "refused" when connect() fails with ECONNREFUSED, else "connected"
 * </pre>
 * The TCP peer is read with getpeername(2) itself: Java's own remote address is the one connect() was
 * given, which would prove nothing about the getpeername hook.
 */
public final class ServiceClient
{
    private static final int TIMEOUT_MILLIS = 3000;
    private static final int AF_INET6 = 10;
    private static final MethodHandle GETPEERNAME = Linker.nativeLinker().downcallHandle(
        Linker.nativeLinker().defaultLookup().find("getpeername").orElseThrow(),
        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS));

    private ServiceClient()
    {
    }

    public static void main(final String[] args) throws Throwable
    {
        int i = 0;
        while (i < args.length)
        {
            final String kind = args[i];
            final InetSocketAddress target = new InetSocketAddress(InetAddress.getByName(args[i + 1]),
                Integer.parseInt(args[i + 2]));
            switch (kind)
            {
                case "tcp" -> tcp(target, Integer.parseInt(args[i + 3]));
                case "udp" -> udp(target, Integer.parseInt(args[i + 3]));
                case "refused" -> refused(target);
                default -> throw new IllegalArgumentException(kind);
            }
            i += "refused".equals(kind) ? 3 : 4;
        }
        System.out.flush();
    }

    private static void tcp(final InetSocketAddress target, final int count) throws Throwable
    {
        for (int n = 0; n < count; n++)
        {
            try (SocketChannel channel = SocketChannel.open())
            {
                channel.socket().connect(target, TIMEOUT_MILLIS);
                channel.socket().setSoTimeout(TIMEOUT_MILLIS);
                final String peer = peerName(channel);
                final BufferedReader reader = new BufferedReader(new InputStreamReader(
                    Channels.newInputStream(channel), StandardCharsets.US_ASCII));
                final String[] answer = reader.readLine().strip().split(" ");
                System.out.println("tcp " + answer[0] + " " + answer[1] + " " + peer);
            }
        }
    }

    private static void udp(final InetSocketAddress target, final int count) throws IOException
    {
        for (int n = 0; n < count; n++)
        {
            try (DatagramSocket socket = new DatagramSocket())
            {
                socket.setSoTimeout(TIMEOUT_MILLIS);
                final byte[] request = "hello\n".getBytes(StandardCharsets.US_ASCII);
                socket.send(new DatagramPacket(request, request.length, target));
                final DatagramPacket reply = new DatagramPacket(new byte[512], 512);
                socket.receive(reply);
                final String[] answer = new String(reply.getData(), 0, reply.getLength(), StandardCharsets.US_ASCII)
                    .strip().split(" ");
                final InetSocketAddress source = (InetSocketAddress)reply.getSocketAddress();
                System.out.println("udp " + answer[0] + " " + answer[1] + " " +
                    source.getAddress().getHostAddress() + ":" + source.getPort());
            }
        }
    }

    private static void refused(final InetSocketAddress target) throws IOException
    {
        try (SocketChannel channel = SocketChannel.open())
        {
            channel.socket().connect(target, TIMEOUT_MILLIS);
            System.out.println("connected");
        }
        catch (final ConnectException ex)
        {
            System.out.println("Connection refused".equals(ex.getMessage()) ? "refused" : "failed " + ex.getMessage());
        }
    }

    /** getpeername(2) on the channel's descriptor, as "address:port". */
    private static String peerName(final SocketChannel channel) throws Throwable
    {
        final var fdVal = channel.getClass().getMethod("getFDVal");
        fdVal.setAccessible(true);
        final int fd = (int)fdVal.invoke(channel);
        try (Arena arena = Arena.ofConfined())
        {
            final MemorySegment address = arena.allocate(128);
            final MemorySegment length = arena.allocateFrom(ValueLayout.JAVA_INT, 128);
            final int rc = (int)GETPEERNAME.invokeExact(fd, address, length);
            if (rc != 0)
            {
                return "getpeername-failed";
            }
            // sockaddr_in: family (2), port (2, network order), address (4); sockaddr_in6: family, port,
            // flow info (4), address (16). Java's sockets are IPv6 ones, so IPv4 peers come v4-mapped.
            final int family = address.get(ValueLayout.JAVA_SHORT, 0);
            final int port = Short.toUnsignedInt(address.get(
                ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(java.nio.ByteOrder.BIG_ENDIAN), 2));
            final byte[] raw = family == AF_INET6 ? address.asSlice(8, 16).toArray(ValueLayout.JAVA_BYTE) :
                address.asSlice(4, 4).toArray(ValueLayout.JAVA_BYTE);
            return InetAddress.getByAddress(raw).getHostAddress() + ":" + port;
        }
    }
}
