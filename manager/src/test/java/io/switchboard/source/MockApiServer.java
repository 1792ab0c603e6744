package io.switchboard.source;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.server.mock.KubernetesCrudDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.switchboard.agent.AgentProcess;

import java.time.Duration;
import java.util.HashMap;

/**
 * fabric8's mock API server whose clients wait as long as the test's time scale says. Under emulation
 * ({@code bin/test --kernel}, {@code switchboard.test.timeScale}) a request can outlast the client's default 10 s
 * timeout, and the client then sends it again: a create that had reached the server comes back "already exists".
 */
public final class MockApiServer extends KubernetesMockServer
{
    public MockApiServer(final Dispatcher dispatcher)
    {
        super(new Context(), new MockWebServer(), new HashMap<>(), dispatcher, false);
    }

    /** A server that keeps what clients create, as the API server does. */
    public static MockApiServer crud()
    {
        return new MockApiServer(new KubernetesCrudDispatcher());
    }

    @Override
    protected Config initConfig()
    {
        final Config config = super.initConfig();
        final int requestMillis = (int)AgentProcess.scaled(Duration.ofSeconds(10)).toMillis();
        config.setRequestTimeout(requestMillis);
        config.setConnectionTimeout(requestMillis);
        return config;
    }
}
