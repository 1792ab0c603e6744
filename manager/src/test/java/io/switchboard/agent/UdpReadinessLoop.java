package io.switchboard.agent;

import io.switchboard.datapath.DatapathReader;
import io.switchboard.netns.LabFiles;
import io.switchboard.netns.LabNetwork;
import io.switchboard.netns.Requests;
import io.switchboard.testing.KernelTest;
import io.switchboard.testing.PinDirectory;
import io.switchboard.testing.Pods;
import io.switchboard.testing.TestCgroup;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.RepetitionInfo;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repeat loop behind "a single UDP datagram goes unanswered" in the agent traffic tests (README.md, <i>Kernel
 * tests</i>: <i>A first UDP datagram "lost" after the agent starts</i>): a fresh network and agent per repetition,
 * the agent tests' readiness check (a TCP connection to the NodePort answered), then exactly one datagram to the
 * NodePort, without a second try. Odd repetitions send it as the tests used to, right after TCP answered; they
 * only record what happened (the datagram is lost whenever the agent had not written the UDP frontend yet: the
 * node's own stack gets it, {@code UdpNoPorts}). Even repetitions first wait for the UDP frontend in {@code
 * sb_services}, the readiness the tests now wait for, and every datagram must be answered. Slow (about 5 s a
 * repetition), so it is no part of the suite (its name does not end in Test): run it by name, {@code -Dtest=UdpReadinessLoop}.
 */
@KernelTest
class UdpReadinessLoop
{
    private static final AtomicInteger[] SENT = {new AtomicInteger(), new AtomicInteger()};
    private static final AtomicInteger[] LOST = {new AtomicInteger(), new AtomicInteger()};
    private static final AtomicInteger LOST_WITHOUT_FRONTEND = new AtomicInteger();

    @RegisterExtension
    final AgentDirectories directories = new AgentDirectories("switchboard-udp-readiness");

    @RepeatedTest(40)
    void oneDatagramRightAfterTheAgentProgrammedTheService(@Pods(2) final LabNetwork network, final PinDirectory pins,
        final TestCgroup cgroup, final RepetitionInfo repetition) throws Exception
    {
        final boolean awaitUdpFrontend = repetition.getCurrentRepetition() % 2 == 0;
        for (int i = 0; i < 2; i++)
        {
            network.startServer(i, 8080);
        }
        LabFiles.replace(directories.manifests().resolve("web.yaml"), AgentTrafficTest.webManifests(List.of(0, 1),
            false));
        try (AgentProcess agent = AgentProcess.start(network.node(), List.of("--node-name", "node-a", "--node-ip",
            "198.18.0.1", "--xdp-iface", "ext0", "--cgroup", cgroup.path().toString(),
            "--bpffs-dir", pins.resolve("agent").toString(), "--aeron-dir", directories.aeron().toString(),
            "--state-dir", directories.work().resolve("state").toString(),
            "--manifests", directories.work().resolve("manifests").toString())))
        {
            final InetSocketAddress nodePort = new InetSocketAddress(network.node().address4(), 30080);
            Await.await(() ->
            {
                try
                {
                    Requests.tcp(network.client(), nodePort, Duration.ofMillis(500));
                    return true;
                }
                catch (final RuntimeException ex)
                {
                    return false;
                }
            }, answered -> answered);
            if (awaitUdpFrontend)
            {
                AgentTrafficTest.awaitFrontend(pins, nodePort.getAddress(), 30080, 17);
            }
            final boolean programmed = udpFrontend(pins);
            final long noPorts = udpNoPorts(network);
            final int kind = awaitUdpFrontend ? 1 : 0;
            SENT[kind].incrementAndGet();
            try
            {
                Requests.udp(network.client(), nodePort, Duration.ofSeconds(2));
            }
            catch (final UncheckedIOException ex)
            {
                LOST[kind].incrementAndGet();
                if (!programmed)
                {
                    LOST_WITHOUT_FRONTEND.incrementAndGet();
                }
                System.err.printf("udp readiness: datagram unanswered (awaited the UDP frontend: %s; it was there " +
                    "when sent: %s, 2 s later: %s; node UdpNoPorts %d -> %d)%n", awaitUdpFrontend, programmed,
                    udpFrontend(pins), noPorts, udpNoPorts(network));
                assertThat(awaitUdpFrontend).as("a datagram sent once the UDP frontend is programmed is answered")
                    .isFalse();
            }
        }
    }

    @AfterAll
    static void tally()
    {
        System.err.printf("udp readiness: right after TCP answered %d of %d unanswered (%d of them with no UDP " +
            "frontend yet); after the UDP frontend was programmed %d of %d unanswered%n", LOST[0].get(), SENT[0].get(),
            LOST_WITHOUT_FRONTEND.get(), LOST[1].get(), SENT[1].get());
    }

    private static boolean udpFrontend(final PinDirectory pins)
    {
        try (DatapathReader reader = DatapathReader.pinned(pins.resolve("agent")))
        {
            return reader.services().stream().anyMatch(entry -> entry.port() == 30080 && entry.protocol() == 17);
        }
    }

    private static long udpNoPorts(final LabNetwork network)
    {
        final String[] fields = network.node().exec("nstat", "-asz", "UdpNoPorts").strip().split("\\s+");
        return Long.parseLong(fields[fields.length - 2]);
    }
}
