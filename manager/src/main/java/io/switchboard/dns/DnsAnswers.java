package io.switchboard.dns;

import io.switchboard.model.IpAddresses;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Header;
import org.xbill.DNS.Message;
import org.xbill.DNS.NSRecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.PTRRecord;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.ReverseMap;
import org.xbill.DNS.SOARecord;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Section;
import org.xbill.DNS.TXTRecord;
import org.xbill.DNS.Type;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.List;
import java.util.Locale;

/**
 * Answers one query from one {@link Zone}, with the records CoreDNS's kubernetes plugin gives. Pure: no
 * sockets, no state, so every answer comes from the zone it is handed.
 *
 * <p>{@link #answer} returns null for a name that is not the zone's (nor the reverse name of a service or
 * endpoint address): the server forwards it upstream or answers REFUSED.
 */
public final class DnsAnswers
{
    /** The largest UDP answer offered to EDNS clients (the DNS flag day 2020 value). */
    public static final int UDP_PAYLOAD = 1232;
    /** The largest UDP answer to a client without EDNS (RFC 1035). */
    public static final int UDP_PLAIN = 512;
    /** The version {@code dns-version.<zone>} gives (Kubernetes DNS specification). */
    public static final String SCHEMA_VERSION = "1.1.0";
    private static final int MAX_CNAME_CHAIN = 8;

    private final boolean recursionAvailable;

    /** @param recursionAvailable whether names outside the zone are forwarded (the RA flag of answers). */
    public DnsAnswers(final boolean recursionAvailable)
    {
        this.recursionAvailable = recursionAvailable;
    }

    /** The answer to {@code query} from {@code zone}; null when the name is not the zone's to answer. */
    public Message answer(final Message query, final Zone zone)
    {
        final Header header = query.getHeader();
        if (header.getFlag(Flags.QR))
        {
            return error(query, Rcode.FORMERR); // the server drops responses before they get here
        }
        if (header.getOpcode() != Opcode.QUERY)
        {
            return error(query, Rcode.NOTIMP);
        }
        final Record question = query.getQuestion();
        if (null == question || header.getCount(Section.QUESTION) != 1)
        {
            return error(query, Rcode.FORMERR);
        }
        final Name qname = question.getName();
        final int qtype = question.getType();
        final boolean ours = qname.subdomain(zone.domain());
        if (question.getDClass() != DClass.IN && question.getDClass() != DClass.ANY)
        {
            return ours ? error(query, Rcode.REFUSED) : null;
        }
        if (qtype == Type.AXFR || qtype == Type.IXFR)
        {
            return ours ? error(query, Rcode.REFUSED) : null;
        }
        if (!ours)
        {
            return reverse(query, qname, qtype, zone);
        }
        final Message response = response(query, Rcode.NOERROR);
        response.getHeader().setFlag(Flags.AA);
        final int rcode = lookup(qname, qtype, zone, response, 0);
        response.getHeader().setRcode(rcode);
        if (response.getSectionArray(Section.ANSWER).length == 0)
        {
            response.addRecord(soa(zone), Section.AUTHORITY);
        }
        return response;
    }

    /** A reply to {@code query} with no records and {@code rcode}. */
    public Message error(final Message query, final int rcode)
    {
        return response(query, rcode);
    }

    /**
     * FORMERR for a packet that does not parse, with its id and opcode, or null when it should be dropped
     * instead: shorter than a header, or itself a response (never answer those: no loops, no reflection).
     */
    public static byte[] formatError(final byte[] packet, final int length)
    {
        if (length < Header.LENGTH || (packet[2] & 0x80) != 0)
        {
            return null;
        }
        final byte[] reply = new byte[Header.LENGTH];
        reply[0] = packet[0];
        reply[1] = packet[1];
        reply[2] = (byte) (0x80 | (packet[2] & 0x78)); // QR, the query's opcode
        reply[3] = (byte) Rcode.FORMERR;
        return reply;
    }

    /** How large a UDP answer to {@code query} may be. */
    public static int udpLimit(final Message query)
    {
        final OPTRecord opt = query.getOPT();
        return null == opt ? UDP_PLAIN : Math.clamp(opt.getPayloadSize(), UDP_PLAIN, UDP_PAYLOAD);
    }

    private Message response(final Message query, final int rcode)
    {
        final Message response = new Message(query.getHeader().getID());
        final Header header = response.getHeader();
        header.setFlag(Flags.QR);
        header.setOpcode(query.getHeader().getOpcode());
        if (query.getHeader().getFlag(Flags.RD))
        {
            header.setFlag(Flags.RD);
        }
        if (recursionAvailable)
        {
            header.setFlag(Flags.RA);
        }
        header.setRcode(rcode);
        final Record question = query.getQuestion();
        if (null != question && header.getOpcode() == Opcode.QUERY)
        {
            response.addRecord(question, Section.QUESTION);
        }
        if (null != query.getOPT())
        {
            response.addRecord(new OPTRecord(UDP_PAYLOAD, 0, 0), Section.ADDITIONAL);
        }
        return response;
    }

    /** PTR of a service or endpoint address; null for other names (forwarded or refused). */
    private Message reverse(final Message query, final Name qname, final int qtype, final Zone zone)
    {
        final InetAddress address;
        try
        {
            address = ReverseMap.fromName(qname);
        }
        catch (final UnknownHostException | RuntimeException ex)
        {
            return null;
        }
        final List<Name> names = zone.pointers(address);
        if (names.isEmpty())
        {
            return null;
        }
        final Message response = response(query, Rcode.NOERROR);
        response.getHeader().setFlag(Flags.AA);
        if (qtype == Type.PTR || qtype == Type.ANY)
        {
            names.forEach(name -> response.addRecord(new PTRRecord(qname, DClass.IN, zone.ttl(), name), Section.ANSWER));
        }
        else
        {
            response.addRecord(soa(zone), Section.AUTHORITY);
        }
        return response;
    }

    /** Adds the records of {@code qname} to the answer section; returns the rcode. */
    private int lookup(final Name qname, final int qtype, final Zone zone, final Message response, final int depth)
    {
        final Name relative = qname.relativize(zone.domain());
        final int count = relative.equals(qname) ? 0 : relative.labels();
        final String[] labels = new String[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = relative.getLabelString(i).toLowerCase(Locale.ROOT);
        }
        final long ttl = zone.ttl();
        if (count == 0)
        {
            if (qtype == Type.SOA || qtype == Type.ANY)
            {
                response.addRecord(soa(zone), Section.ANSWER);
            }
            if (qtype == Type.NS || qtype == Type.ANY)
            {
                response.addRecord(new NSRecord(qname, DClass.IN, ttl, nameServer(zone)), Section.ANSWER);
            }
            return Rcode.NOERROR;
        }
        final String last = labels[count - 1];
        if (count == 1 && "dns-version".equals(last))
        {
            if (qtype == Type.TXT || qtype == Type.ANY)
            {
                response.addRecord(new TXTRecord(qname, DClass.IN, ttl, SCHEMA_VERSION), Section.ANSWER);
            }
            return Rcode.NOERROR;
        }
        if (count == 2 && "dns".equals(last) && "ns".equals(labels[0]))
        {
            return Rcode.NOERROR; // the SOA's and NS's host: it exists, with no address to give
        }
        if ("pod".equals(last))
        {
            return pod(qname, qtype, labels, zone, response);
        }
        if (!"svc".equals(last))
        {
            return Rcode.NXDOMAIN;
        }
        return switch (count)
        {
            case 1 -> Rcode.NOERROR;
            case 2 -> zone.hasNamespace(labels[0]) ? Rcode.NOERROR : Rcode.NXDOMAIN;
            case 3 -> service(qname, qtype, zone.service(labels[1], labels[0]), zone, response, depth);
            case 4 -> host(qname, qtype, labels[0], zone.service(labels[2], labels[1]), zone, response);
            case 5 -> srv(qname, qtype, labels[0], labels[1], zone.service(labels[3], labels[2]), zone, response);
            default -> Rcode.NXDOMAIN;
        };
    }

    private int service(final Name qname, final int qtype, final Zone.ServiceRecords service, final Zone zone,
        final Message response, final int depth)
    {
        if (null == service || !service.exists())
        {
            return Rcode.NXDOMAIN;
        }
        if (service.kind() == Zone.Kind.EXTERNAL_NAME)
        {
            if (null == service.cname())
            {
                return Rcode.NOERROR;
            }
            response.addRecord(new CNAMERecord(qname, DClass.IN, zone.ttl(), service.cname()), Section.ANSWER);
            if (qtype == Type.CNAME || !service.cname().subdomain(zone.domain()) || depth >= MAX_CNAME_CHAIN)
            {
                return Rcode.NOERROR;
            }
            // a target in the zone is followed here, as resolvers expect of the server (CoreDNS does too)
            return lookup(service.cname(), qtype, zone, response, depth + 1);
        }
        addresses(qname, qtype, service.addresses(), zone, response);
        if (qtype == Type.SRV)
        {
            addSrv(qname, service.srv(), zone, response);
        }
        return Rcode.NOERROR;
    }

    private int host(final Name qname, final int qtype, final String label, final Zone.ServiceRecords service,
        final Zone zone, final Message response)
    {
        if (null == service || !service.exists())
        {
            return Rcode.NXDOMAIN;
        }
        if (label.startsWith("_"))
        {
            // _tcp.<service>: exists while a named port of that protocol does (an empty non-terminal)
            final String protocol = label.substring(1);
            return service.srv().stream().anyMatch(srv -> srv.protocol().equals(protocol)) ? Rcode.NOERROR :
                Rcode.NXDOMAIN;
        }
        final List<InetAddress> addresses = service.hosts().get(label);
        if (null == addresses)
        {
            return Rcode.NXDOMAIN;
        }
        addresses(qname, qtype, addresses, zone, response);
        return Rcode.NOERROR;
    }

    private int srv(final Name qname, final int qtype, final String port, final String protocol,
        final Zone.ServiceRecords service, final Zone zone, final Message response)
    {
        if (null == service || !service.exists() || !port.startsWith("_") || !protocol.startsWith("_"))
        {
            return Rcode.NXDOMAIN;
        }
        final List<Zone.Srv> matching = service.srv().stream()
            .filter(srv -> srv.port().equals(port.substring(1)) && srv.protocol().equals(protocol.substring(1)))
            .toList();
        if (matching.isEmpty())
        {
            return Rcode.NXDOMAIN;
        }
        if (qtype == Type.SRV || qtype == Type.ANY)
        {
            addSrv(qname, matching, zone, response);
        }
        return Rcode.NOERROR;
    }

    private static void addSrv(final Name qname, final List<Zone.Srv> records, final Zone zone, final Message response)
    {
        final int weight = records.isEmpty() ? 0 : Math.max(1, 100 / records.size());
        for (final Zone.Srv srv : records)
        {
            response.addRecord(new SRVRecord(qname, DClass.IN, zone.ttl(), 0, weight, srv.number(), srv.target()),
                Section.ANSWER);
        }
        // the targets' addresses, so a client needs no second query
        for (final Zone.Srv srv : records)
        {
            if (response.findRRset(srv.target(), Type.A, Section.ADDITIONAL) ||
                response.findRRset(srv.target(), Type.AAAA, Section.ADDITIONAL))
            {
                continue;
            }
            final Name relative = srv.target().relativize(zone.domain());
            final String[] labels = relative.toString(true).split("\\.");
            final List<InetAddress> addresses = targetAddresses(labels, zone);
            for (final InetAddress address : addresses)
            {
                response.addRecord(addressRecord(srv.target(), address, zone.ttl()), Section.ADDITIONAL);
            }
        }
    }

    /** The addresses of an SRV target: {@code svc.ns.svc} or {@code host.svc.ns.svc} relative to the zone. */
    private static List<InetAddress> targetAddresses(final String[] labels, final Zone zone)
    {
        if (labels.length == 3)
        {
            final Zone.ServiceRecords service = zone.service(labels[1], labels[0]);
            return null == service ? List.of() : service.addresses();
        }
        if (labels.length == 4)
        {
            final Zone.ServiceRecords service = zone.service(labels[2], labels[1]);
            return null == service ? List.of() : service.hosts().getOrDefault(labels[0], List.of());
        }
        return List.of();
    }

    /** {@code a-b-c-d.<namespace>.pod.<zone>}: the address the name spells (CoreDNS's "pods insecure"). */
    private static int pod(final Name qname, final int qtype, final String[] labels, final Zone zone,
        final Message response)
    {
        if (labels.length < 3)
        {
            return Rcode.NOERROR;
        }
        if (labels.length > 3)
        {
            return Rcode.NXDOMAIN;
        }
        final String spelled = labels[0];
        final InetAddress address;
        try
        {
            address = IpAddresses.parse(spelled.chars().filter(c -> c == '-').count() == 3 && !spelled.contains("--")
                ? spelled.replace('-', '.') : spelled.replace('-', ':'));
        }
        catch (final IllegalArgumentException ex)
        {
            return Rcode.NXDOMAIN;
        }
        addresses(qname, qtype, List.of(address), zone, response);
        return Rcode.NOERROR;
    }

    private static void addresses(final Name qname, final int qtype, final List<InetAddress> addresses,
        final Zone zone, final Message response)
    {
        for (final InetAddress address : addresses)
        {
            final boolean v4 = address instanceof Inet4Address;
            if (qtype == Type.ANY || (qtype == Type.A && v4) || (qtype == Type.AAAA && address instanceof Inet6Address))
            {
                response.addRecord(addressRecord(qname, address, zone.ttl()), Section.ANSWER);
            }
        }
    }

    private static Record addressRecord(final Name name, final InetAddress address, final long ttl)
    {
        return address instanceof Inet4Address ? new ARecord(name, DClass.IN, ttl, address) :
            new AAAARecord(name, DClass.IN, ttl, address);
    }

    private static Name nameServer(final Zone zone)
    {
        return Zone.child("ns", Zone.child("dns", zone.domain()));
    }

    /** The zone's SOA; its minimum (the negative-answer TTL) is the zone's TTL. */
    private static SOARecord soa(final Zone zone)
    {
        final long ttl = zone.ttl();
        return new SOARecord(zone.domain(), DClass.IN, ttl, nameServer(zone), Zone.child("hostmaster", zone.domain()),
            zone.serial(), 7200, 1800, 86400, ttl);
    }
}
