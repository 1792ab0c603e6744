package io.switchboard.dns;

import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSlice;
import io.fabric8.kubernetes.api.model.discovery.v1.EndpointSliceBuilder;
import io.switchboard.model.NamespacedName;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Flags;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.OPTRecord;
import org.xbill.DNS.Opcode;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.Type;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The records of each kind of Service, and the negative answers, from Message objects (no sockets). */
class DnsAnswersTest
{
    private final DnsCatalog catalog = new DnsCatalog("cluster.local", 5);
    private final DnsAnswers answers = new DnsAnswers(false);

    @BeforeEach
    void services()
    {
        catalog.upsert(service("web", "shop", "10.96.0.20").build());
        catalog.upsert(new ServiceBuilder(service("dual", "shop", "10.96.0.21").build()).editSpec()
            .withClusterIPs("10.96.0.21", "fd00:96::21").endSpec().build());
        catalog.upsert(new ServiceBuilder(service("db", "shop", "None").build()).build());
        catalog.upsert(slice("db-1", "shop", "db", endpoint("198.19.0.10", "db-0", true),
            endpoint("198.19.0.11", null, true), endpoint("198.19.0.12", "db-2", false)));
        catalog.upsert(new ServiceBuilder(service("empty", "shop", "None").build()).build());
        catalog.upsert(slice("empty-1", "shop", "empty", endpoint("198.19.0.13", null, false)));
        catalog.upsert(new ServiceBuilder().withNewMetadata().withNamespace("shop").withName("search").endMetadata()
            .withNewSpec().withType("ExternalName").withExternalName("search.example.com").endSpec().build());
        catalog.upsert(new ServiceBuilder().withNewMetadata().withNamespace("shop").withName("alias").endMetadata()
            .withNewSpec().withType("ExternalName").withExternalName("web.shop.svc.cluster.local").endSpec().build());
        catalog.publish();
    }

    @Test
    void aClusterIpServiceAnswersItsAddressAuthoritativelyWithTheTtl()
    {
        final Message response = ask("web.shop.svc.cluster.local.", Type.A);
        assertThat(response.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(response.getHeader().getFlag(Flags.AA)).isTrue();
        assertThat(answer(response)).containsExactly("web.shop.svc.cluster.local.\t5\tIN\tA\t10.96.0.20");
    }

    @Test
    void aDualStackServiceGivesAToAAndAaaaToAaaa()
    {
        assertThat(answer(ask("dual.shop.svc.cluster.local.", Type.A))).containsExactly(
            "dual.shop.svc.cluster.local.\t5\tIN\tA\t10.96.0.21");
        assertThat(answer(ask("dual.shop.svc.cluster.local.", Type.AAAA))).containsExactly(
            "dual.shop.svc.cluster.local.\t5\tIN\tAAAA\tfd00:96:0:0:0:0:0:21");
    }

    @Test
    void anExistingNameWithoutTheTypeIsNodataWithTheSoa()
    {
        final Message response = ask("web.shop.svc.cluster.local.", Type.AAAA);
        assertThat(response.getRcode()).isEqualTo(Rcode.NOERROR);
        assertThat(response.getSectionArray(Section.ANSWER)).isEmpty();
        assertThat(response.getSectionArray(Section.AUTHORITY)).singleElement()
            .satisfies(soa -> assertThat(soa.getType()).isEqualTo(Type.SOA))
            .satisfies(soa -> assertThat(soa.getTTL()).isEqualTo(5));
    }

    @Test
    void unknownServicesNamespacesAndLabelsAreNxdomain()
    {
        assertThat(ask("nope.shop.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask("web.other.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask("other.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask("shop.svc.cluster.local.", Type.A).getRcode()).as("a namespace with Services")
            .isEqualTo(Rcode.NOERROR);
        // what a resolver's search list tries for "web.shop" from namespace "shop"
        assertThat(ask("web.shop.shop.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(ask("web.shop.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    @Test
    void namesAreCaseInsensitiveAndAnsweredAsAsked()
    {
        assertThat(answer(ask("WEB.Shop.svc.cluster.LOCAL.", Type.A))).containsExactly(
            "WEB.Shop.svc.cluster.LOCAL.\t5\tIN\tA\t10.96.0.20");
    }

    @Test
    void aHeadlessServiceGivesOneRecordPerReadyEndpointAndHostNames()
    {
        assertThat(answer(ask("db.shop.svc.cluster.local.", Type.A))).containsExactlyInAnyOrder(
            "db.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.10",
            "db.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.11");
        assertThat(answer(ask("db-0.db.shop.svc.cluster.local.", Type.A))).containsExactly(
            "db-0.db.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.10");
        assertThat(answer(ask("198-19-0-11.db.shop.svc.cluster.local.", Type.A))).as("no hostname: the dashed address")
            .containsExactly("198-19-0-11.db.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.11");
        assertThat(ask("db-2.db.shop.svc.cluster.local.", Type.A).getRcode()).as("not ready")
            .isEqualTo(Rcode.NXDOMAIN);
    }

    @Test
    void aHeadlessServiceWithNoReadyEndpointIsNxdomainUntilPublishNotReadyAddresses()
    {
        assertThat(ask("empty.shop.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        catalog.upsert(new ServiceBuilder(service("empty", "shop", "None").build()).editSpec()
            .withPublishNotReadyAddresses(true).endSpec().build());
        catalog.publish();
        assertThat(answer(ask("empty.shop.svc.cluster.local.", Type.A))).containsExactly(
            "empty.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.13");
    }

    @Test
    void endpointChangesShowInTheNextPublishedZoneOnly()
    {
        catalog.upsert(slice("db-1", "shop", "db", endpoint("198.19.0.12", "db-2", true)));
        assertThat(answer(ask("db.shop.svc.cluster.local.", Type.A))).as("not yet published").hasSize(2);
        assertThat(catalog.changed()).isTrue();
        catalog.publish();
        assertThat(answer(ask("db.shop.svc.cluster.local.", Type.A))).containsExactly(
            "db.shop.svc.cluster.local.\t5\tIN\tA\t198.19.0.12");
        catalog.deleteSlice(new NamespacedName("shop", "db-1"));
        catalog.publish();
        assertThat(ask("db.shop.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        catalog.deleteService(new NamespacedName("shop", "web"));
        catalog.publish();
        assertThat(ask("web.shop.svc.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    @Test
    void namedPortsHaveSrvRecordsWithTheTargetsAddresses()
    {
        final Message clusterIp = ask("_http._tcp.web.shop.svc.cluster.local.", Type.SRV);
        assertThat(answer(clusterIp)).containsExactly(
            "_http._tcp.web.shop.svc.cluster.local.\t5\tIN\tSRV\t0 100 80 web.shop.svc.cluster.local.");
        assertThat(Arrays.stream(clusterIp.getSectionArray(Section.ADDITIONAL)).map(Record::toString))
            .contains("web.shop.svc.cluster.local.\t5\tIN\tA\t10.96.0.20");
        assertThat(answer(ask("_dns._udp.web.shop.svc.cluster.local.", Type.SRV))).containsExactly(
            "_dns._udp.web.shop.svc.cluster.local.\t5\tIN\tSRV\t0 100 53 web.shop.svc.cluster.local.");
        assertThat(ask("_http._udp.web.shop.svc.cluster.local.", Type.SRV).getRcode()).isEqualTo(Rcode.NXDOMAIN);
        assertThat(answer(ask("_http._tcp.db.shop.svc.cluster.local.", Type.SRV))).as("headless: per endpoint")
            .containsExactlyInAnyOrder(
                "_http._tcp.db.shop.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 db-0.db.shop.svc.cluster.local.",
                "_http._tcp.db.shop.svc.cluster.local.\t5\tIN\tSRV\t0 50 8080 198-19-0-11.db.shop.svc.cluster.local.");
    }

    @Test
    void anExternalNameIsACnameAndATargetInTheZoneIsFollowed()
    {
        assertThat(answer(ask("search.shop.svc.cluster.local.", Type.A))).containsExactly(
            "search.shop.svc.cluster.local.\t5\tIN\tCNAME\tsearch.example.com.");
        assertThat(answer(ask("alias.shop.svc.cluster.local.", Type.A))).containsExactly(
            "alias.shop.svc.cluster.local.\t5\tIN\tCNAME\tweb.shop.svc.cluster.local.",
            "web.shop.svc.cluster.local.\t5\tIN\tA\t10.96.0.20");
    }

    @Test
    void serviceAndEndpointAddressesHavePtrRecordsOthersAreNotOurs()
    {
        assertThat(answer(ask("20.0.96.10.in-addr.arpa.", Type.PTR))).containsExactly(
            "20.0.96.10.in-addr.arpa.\t5\tIN\tPTR\tweb.shop.svc.cluster.local.");
        assertThat(answer(ask("10.0.19.198.in-addr.arpa.", Type.PTR))).containsExactly(
            "10.0.19.198.in-addr.arpa.\t5\tIN\tPTR\tdb-0.db.shop.svc.cluster.local.");
        assertThat(ask("1.1.1.1.in-addr.arpa.", Type.PTR)).as("forwarded or refused by the server").isNull();
    }

    @Test
    void namesOutsideTheZoneAreNotAnswered()
    {
        assertThat(ask("example.com.", Type.A)).isNull();
        assertThat(ask("cluster.local.example.com.", Type.A)).isNull();
    }

    @Test
    void theApexHasSoaAndNsAndDnsVersionItsSchema()
    {
        assertThat(ask("cluster.local.", Type.SOA).getSectionArray(Section.ANSWER)).singleElement()
            .satisfies(soa -> assertThat(soa.getType()).isEqualTo(Type.SOA));
        assertThat(answer(ask("dns-version.cluster.local.", Type.TXT))).containsExactly(
            "dns-version.cluster.local.\t5\tIN\tTXT\t\"1.1.0\"");
    }

    @Test
    void podNamesSpellTheirAddress()
    {
        assertThat(answer(ask("198-19-0-10.shop.pod.cluster.local.", Type.A))).containsExactly(
            "198-19-0-10.shop.pod.cluster.local.\t5\tIN\tA\t198.19.0.10");
        assertThat(ask("not-an-ip.shop.pod.cluster.local.", Type.A).getRcode()).isEqualTo(Rcode.NXDOMAIN);
    }

    @Test
    void otherClassesAndZoneTransfersAreRefusedOtherOpcodesNotImplemented()
    {
        final Message chaos = Message.newQuery(Record.newRecord(Name.fromConstantString("web.shop.svc.cluster.local."),
            Type.A, DClass.CH));
        assertThat(answers.answer(chaos, catalog.zone()).getRcode()).isEqualTo(Rcode.REFUSED);
        assertThat(ask("cluster.local.", Type.AXFR).getRcode()).isEqualTo(Rcode.REFUSED);
        final Message notify = query("web.shop.svc.cluster.local.", Type.A);
        notify.getHeader().setOpcode(Opcode.NOTIFY);
        assertThat(answers.answer(notify, catalog.zone()).getRcode()).isEqualTo(Rcode.NOTIMP);
    }

    @Test
    void aQueryWithoutAQuestionIsFormerrAndUnparseableBytesGetAHeaderOnlyFormerr()
    {
        final Message empty = new Message(42);
        assertThat(answers.answer(empty, catalog.zone()).getRcode()).isEqualTo(Rcode.FORMERR);
        final byte[] reply = DnsAnswers.formatError(new byte[] {0x12, 0x34, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 7}, 13);
        assertThat(reply).containsExactly(0x12, 0x34, 0x80, Rcode.FORMERR, 0, 0, 0, 0, 0, 0, 0, 0);
        assertThat(DnsAnswers.formatError(new byte[5], 5)).as("shorter than a header: dropped").isNull();
        assertThat(DnsAnswers.formatError(new byte[] {0, 0, (byte) 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 12))
            .as("a response: dropped").isNull();
    }

    @Test
    void ednsQueriesGetAnOptRecordAndALargerUdpLimit()
    {
        final Message query = query("web.shop.svc.cluster.local.", Type.A);
        assertThat(DnsAnswers.udpLimit(query)).isEqualTo(512);
        query.addRecord(new OPTRecord(4096, 0, 0), Section.ADDITIONAL);
        assertThat(DnsAnswers.udpLimit(query)).isEqualTo(DnsAnswers.UDP_PAYLOAD);
        assertThat(answers.answer(query, catalog.zone()).getOPT()).isNotNull();
    }

    private Message ask(final String name, final int type)
    {
        return answers.answer(query(name, type), catalog.zone());
    }

    private static Message query(final String name, final int type)
    {
        return Message.newQuery(Record.newRecord(Name.fromConstantString(name), type, DClass.IN));
    }

    private static List<String> answer(final Message response)
    {
        return Arrays.stream(response.getSectionArray(Section.ANSWER)).map(Record::toString).toList();
    }

    private static ServiceBuilder service(final String name, final String namespace, final String clusterIP)
    {
        return new ServiceBuilder().withNewMetadata().withNamespace(namespace).withName(name).endMetadata()
            .withNewSpec().withClusterIP(clusterIP).withClusterIPs(clusterIP)
            .addNewPort().withName("http").withProtocol("TCP").withPort(80).withTargetPort(new IntOrString(8080))
            .endPort()
            .addNewPort().withName("dns").withProtocol("UDP").withPort(53).withTargetPort(new IntOrString(5353))
            .endPort()
            .endSpec();
    }

    private static io.fabric8.kubernetes.api.model.discovery.v1.Endpoint endpoint(final String address,
        final String hostname, final boolean ready)
    {
        return new io.fabric8.kubernetes.api.model.discovery.v1.EndpointBuilder().withAddresses(address)
            .withHostname(hostname).withNewConditions().withReady(ready).endConditions().build();
    }

    private static EndpointSlice slice(final String name, final String namespace, final String service,
        final io.fabric8.kubernetes.api.model.discovery.v1.Endpoint... endpoints)
    {
        return new EndpointSliceBuilder().withNewMetadata().withNamespace(namespace).withName(name)
            .addToLabels("kubernetes.io/service-name", service).endMetadata()
            .withAddressType("IPv4")
            .addNewPort().withName("http").withProtocol("TCP").withPort(8080).endPort()
            .withEndpoints(endpoints).build();
    }

}
