package io.switchboard.dns;

import io.switchboard.log.Log;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.DatagramChannel;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Serves DNS on one address over UDP (one thread) and TCP (a virtual thread per connection), answering from
 * the latest published {@link Zone}. Names outside the zone go to the upstream server asynchronously, or get
 * REFUSED when there is none. Whatever arrives, the server answers or drops and counts; nothing a client
 * sends stops it.
 */
public final class DnsServer implements AutoCloseable
{
    private static final int MAX_TCP_CONNECTIONS = 256;
    private static final int MAX_FORWARDS_IN_FLIGHT = 1024;
    private static final int TCP_IDLE_MS = 10_000;
    private static final Duration UPSTREAM_TIMEOUT = Duration.ofSeconds(2);
    private static final int MAX_LOGGED_ERRORS = 100;

    /** Where one query's reply goes: a datagram back to its sender, or a frame on its TCP connection. */
    private interface Replier
    {
        void send(byte[] reply) throws IOException;
    }

    private final Supplier<Zone> zone;
    private final DnsAnswers answers;
    private final SimpleResolver upstream;
    private final DnsMetrics metrics;
    private final Consumer<String> log;
    private final DatagramChannel udp;
    private final ServerSocket tcp;
    private final Semaphore tcpConnections = new Semaphore(MAX_TCP_CONNECTIONS);
    private final AtomicInteger forwardsInFlight = new AtomicInteger();
    private final Set<String> loggedErrors = ConcurrentHashMap.newKeySet();
    private volatile boolean running = true;

    private DnsServer(final InetSocketAddress listen, final Supplier<Zone> zone, final InetSocketAddress upstream,
        final DnsMetrics metrics, final Consumer<String> log) throws IOException
    {
        this.zone = zone;
        this.answers = new DnsAnswers(null != upstream);
        this.metrics = metrics;
        this.log = log;
        if (null != upstream)
        {
            this.upstream = new SimpleResolver(upstream);
            this.upstream.setTimeout(UPSTREAM_TIMEOUT);
        }
        else
        {
            this.upstream = null;
        }
        udp = DatagramChannel.open();
        try
        {
            udp.bind(listen);
            tcp = new ServerSocket();
            tcp.setReuseAddress(true);
            tcp.bind(listen, 128);
        }
        catch (final IOException ex)
        {
            udp.close();
            throw ex;
        }
        Thread.ofPlatform().daemon().name("switchboard-dns-udp").start(this::serveUdp);
        Thread.ofPlatform().daemon().name("switchboard-dns-tcp").start(this::acceptTcp);
    }

    /**
     * Serves DNS on {@code listen} (UDP and TCP) from whatever zone {@code zone} gives at each query.
     *
     * @param upstream where names outside the zone go; null: they get REFUSED
     */
    public static DnsServer start(final InetSocketAddress listen, final Supplier<Zone> zone,
        final InetSocketAddress upstream, final DnsMetrics metrics, final Consumer<String> log)
    {
        try
        {
            return new DnsServer(listen, zone, upstream, metrics, log);
        }
        catch (final IOException ex)
        {
            throw new UncheckedIOException("serving DNS on " + listen, ex);
        }
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress address()
    {
        return (InetSocketAddress) tcp.getLocalSocketAddress();
    }

    private void serveUdp()
    {
        final ByteBuffer buffer = ByteBuffer.allocate(65_535);
        while (running)
        {
            try
            {
                buffer.clear();
                final SocketAddress from = udp.receive(buffer);
                final byte[] packet = new byte[buffer.position()];
                buffer.flip().get(packet);
                handle(packet, true, reply -> udp.send(ByteBuffer.wrap(reply), from));
            }
            catch (final IOException ex)
            {
                if (running)
                {
                    logOnce("UDP: " + ex);
                }
            }
            catch (final RuntimeException ex)
            {
                logOnce("UDP: " + ex);
            }
        }
    }

    private void acceptTcp()
    {
        while (running)
        {
            try
            {
                final Socket socket = tcp.accept();
                if (!tcpConnections.tryAcquire())
                {
                    socket.close(); // at the limit: the client retries
                    continue;
                }
                Thread.ofVirtual().name("switchboard-dns-tcp-connection").start(() -> serveTcp(socket));
            }
            catch (final IOException ex)
            {
                if (running)
                {
                    logOnce("TCP accept: " + ex);
                }
            }
        }
    }

    private void serveTcp(final Socket socket)
    {
        try (socket)
        {
            socket.setSoTimeout(TCP_IDLE_MS);
            final DataInputStream in = new DataInputStream(socket.getInputStream());
            final DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            final Replier replier = reply ->
            {
                synchronized (out)
                {
                    out.writeShort(reply.length);
                    out.write(reply);
                    out.flush();
                }
            };
            while (running)
            {
                final int length = in.readUnsignedShort();
                final byte[] packet = in.readNBytes(length);
                if (packet.length < length)
                {
                    metrics.malformed(false); // truncated frame: the connection ends with it
                    return;
                }
                handle(packet, false, replier);
            }
        }
        catch (final EOFException | java.net.SocketTimeoutException ex)
        {
            // the client closed, or idled too long
        }
        catch (final IOException | RuntimeException ex)
        {
            if (running)
            {
                logOnce("TCP: " + ex);
            }
        }
        finally
        {
            tcpConnections.release();
        }
    }

    private void handle(final byte[] packet, final boolean overUdp, final Replier replier) throws IOException
    {
        final Message query;
        try
        {
            query = new Message(packet);
        }
        catch (final IOException | RuntimeException ex)
        {
            final byte[] formatError = DnsAnswers.formatError(packet, packet.length);
            metrics.malformed(null != formatError);
            if (null != formatError)
            {
                metrics.response(Rcode.FORMERR);
                replier.send(formatError);
            }
            return;
        }
        if (query.getHeader().getFlag(Flags.QR))
        {
            metrics.malformed(false); // a response: never answered
            return;
        }
        final int limit = overUdp ? DnsAnswers.udpLimit(query) : 65_535;
        Message response;
        try
        {
            response = answers.answer(query, zone.get());
        }
        catch (final RuntimeException ex)
        {
            logOnce("answering " + query.getQuestion() + ": " + ex);
            response = answers.error(query, Rcode.SERVFAIL);
        }
        if (null == response)
        {
            if (null == upstream)
            {
                send(answers.error(query, Rcode.REFUSED), limit, replier);
            }
            else
            {
                forward(query, limit, replier);
            }
            return;
        }
        final Name target = outsideTarget(query, response);
        if (null != target && null != upstream)
        {
            chase(query, response, target, limit, replier);
            return;
        }
        send(response, limit, replier);
    }

    /** The CNAME target outside the zone that ends {@code response}'s answer, if the client wants addresses. */
    private Name outsideTarget(final Message query, final Message response)
    {
        final Record[] answer = response.getSectionArray(Section.ANSWER);
        if (answer.length == 0 || null == query.getQuestion())
        {
            return null;
        }
        final int qtype = query.getQuestion().getType();
        if ( !(answer[answer.length - 1] instanceof CNAMERecord cname) ||
            qtype == Type.CNAME || qtype == Type.ANY)
        {
            return null;
        }
        return cname.getTarget().subdomain(zone.get().domain()) ? null : cname.getTarget();
    }

    private void forward(final Message query, final int limit, final Replier replier) throws IOException
    {
        if (forwardsInFlight.incrementAndGet() > MAX_FORWARDS_IN_FLIGHT)
        {
            forwardsInFlight.decrementAndGet();
            metrics.forwarded(false);
            send(answers.error(query, Rcode.SERVFAIL), limit, replier);
            return;
        }
        upstream.sendAsync(query).whenComplete((reply, error) ->
        {
            forwardsInFlight.decrementAndGet();
            metrics.forwarded(null == error);
            try
            {
                final Message response = null == error ? reply : answers.error(query, Rcode.SERVFAIL);
                response.getHeader().setID(query.getHeader().getID());
                send(response, limit, replier);
            }
            catch (final IOException | RuntimeException ex)
            {
                logOnce("forwarded reply: " + ex);
            }
        });
    }

    /** Asks the upstream for the addresses of an ExternalName's target and appends them to the CNAME. */
    private void chase(final Message query, final Message response, final Name target, final int limit,
        final Replier replier) throws IOException
    {
        if (forwardsInFlight.incrementAndGet() > MAX_FORWARDS_IN_FLIGHT)
        {
            forwardsInFlight.decrementAndGet();
            send(response, limit, replier);
            return;
        }
        final Message targetQuery = Message.newQuery(Record.newRecord(target, query.getQuestion().getType(), DClass.IN));
        upstream.sendAsync(targetQuery).whenComplete((reply, error) ->
        {
            forwardsInFlight.decrementAndGet();
            metrics.forwarded(null == error);
            try
            {
                if (null == error && reply.getRcode() == Rcode.NOERROR)
                {
                    for (final Record record : reply.getSectionArray(Section.ANSWER))
                    {
                        response.addRecord(record, Section.ANSWER);
                    }
                }
                send(response, limit, replier);
            }
            catch (final IOException | RuntimeException ex)
            {
                logOnce("chasing " + target + ": " + ex);
            }
        });
    }

    private void send(final Message response, final int limit, final Replier replier) throws IOException
    {
        metrics.response(response.getRcode());
        replier.send(response.toWire(limit));
    }

    private void logOnce(final String message)
    {
        if (loggedErrors.size() < MAX_LOGGED_ERRORS && loggedErrors.add(message))
        {
            log.accept(Log.warn("dns: " + message));
        }
    }

    @Override
    public void close()
    {
        running = false;
        try
        {
            udp.close();
        }
        catch (final IOException ignore)
        {
            // closing
        }
        try
        {
            tcp.close();
        }
        catch (final IOException ignore)
        {
            // closing
        }
    }
}
