package io.switchboard.agent;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code /healthz} follows the agent's sync and every health condition; {@code /livez} only the process. */
class AgentHttpServerTest
{
    @Test
    void healthzFailsWithTheReasonWhileAConditionGivesOneAndLivezDoesNot() throws Exception
    {
        final AgentStatus synced = new AgentStatus(true, Instant.now(), 1, 0, 1, 0, 0, Map.of(), List.of(), 0, 0);
        final AtomicReference<String> watchProblem = new AtomicReference<>();
        final InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), freePort());
        try (AgentHttpServer http = AgentHttpServer.start(() -> synced, null, null, address, line -> { }))
        {
            http.healthyOnlyWhile(watchProblem::get);
            assertThat(get(address, "/healthz").statusCode()).isEqualTo(200);

            watchProblem.set("no live watch on the Kubernetes API server for 75 s");
            final HttpResponse<String> unhealthy = get(address, "/healthz");
            assertThat(unhealthy.statusCode()).isEqualTo(503);
            assertThat(unhealthy.body()).contains("\"unhealthy\":\"no live watch on the Kubernetes API server for 75 s\"");
            assertThat(get(address, "/livez").statusCode()).isEqualTo(200);

            watchProblem.set(null);
            assertThat(get(address, "/healthz").statusCode()).isEqualTo(200);
        }
    }

    @Test
    void metricsCountProgrammingFailuresAndThePortsWaitingForARetry() throws Exception
    {
        final AgentStatus failing = new AgentStatus(true, Instant.now(), 1, 0, 1, 0, 0, Map.of(), List.of(), 7, 2);
        final InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), freePort());
        try (AgentHttpServer http = AgentHttpServer.start(() -> failing, null, address, null, line -> { }))
        {
            assertThat(get(address, "/metrics").body()).contains("switchboard_program_failures_total 7.0",
                "switchboard_failing_service_ports 2.0");
        }
    }

    @Test
    void healthzFailsBeforeTheFirstSync() throws Exception
    {
        final InetSocketAddress address = new InetSocketAddress(InetAddress.getLoopbackAddress(), freePort());
        try (AgentHttpServer http = AgentHttpServer.start(() -> AgentStatus.STARTING, null, null, address, line -> { }))
        {
            final HttpResponse<String> response = get(address, "/healthz");
            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.body()).contains("\"unhealthy\":\"not synced yet\"");
            assertThat(get(address, "/livez").statusCode()).isEqualTo(200);
        }
    }

    private static HttpResponse<String> get(final InetSocketAddress address, final String path) throws Exception
    {
        try (HttpClient client = HttpClient.newHttpClient())
        {
            return client.send(HttpRequest.newBuilder(URI.create("http://" + address.getAddress().getHostAddress() +
                ":" + address.getPort() + path)).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    private static int freePort() throws IOException
    {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress()))
        {
            return socket.getLocalPort();
        }
    }
}
