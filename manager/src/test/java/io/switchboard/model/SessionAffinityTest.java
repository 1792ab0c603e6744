package io.switchboard.model;

import static io.switchboard.model.Fixtures.key;
import static io.switchboard.model.Fixtures.port;
import static io.switchboard.model.Fixtures.service;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServiceBuilder;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code sessionAffinity} and {@code sessionAffinityConfig.clientIP.timeoutSeconds} resolved per service port. */
final class SessionAffinityTest
{
    private static final ServicePortKey WEB = key("web", "http", Protocol.TCP);

    static Stream<Arguments> affinities()
    {
        return Stream.of(
            Arguments.of("unset means None", null, null, 0),
            Arguments.of("None", "None", null, 0),
            Arguments.of("None ignores a timeout", "None", 60, 0),
            Arguments.of("ClientIP without config defaults to 10800 s", "ClientIP", null, 10800),
            Arguments.of("ClientIP with explicit timeout", "ClientIP", 125, 125),
            Arguments.of("ClientIP with the shortest timeout", "ClientIP", 1, 1),
            Arguments.of("ClientIP with the longest timeout", "ClientIP", 86400, 86400));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("affinities")
    void resolvesTheAffinityTimeout(final String name, final String affinity, final Integer timeoutSeconds, final int expected)
    {
        final ClusterModel model = Fixtures.modelWithNode();

        model.upsert(web(affinity, timeoutSeconds));

        final ServicePortState state = model.state(WEB);
        assertThat(state.affinityTimeoutSeconds()).isEqualTo(expected);
        assertThat(state.frontends()).allSatisfy(frontend -> assertThat(frontend.affinityTimeoutSeconds()).isEqualTo(expected));
    }

    @Test
    void switchingAffinityOnAndOffChangesTheResolvedState()
    {
        final ClusterModel model = Fixtures.modelWithNode();
        model.upsert(web("None", null));

        assertThat(model.upsert(web("ClientIP", null)).changed()).containsExactly(WEB);
        assertThat(model.state(WEB).affinityTimeoutSeconds()).isEqualTo(10800);
        assertThat(model.upsert(web("ClientIP", 60)).changed()).containsExactly(WEB);
        assertThat(model.upsert(web("None", null)).changed()).containsExactly(WEB);
        assertThat(model.state(WEB).affinityTimeoutSeconds()).isZero();
    }

    private static Service web(final String affinity, final Integer timeoutSeconds)
    {
        final ServiceBuilder builder = new ServiceBuilder(service("web", "10.96.0.40", port("http", "TCP", 80, 8080)).build());
        builder.editSpec().withSessionAffinity(affinity).endSpec();
        if (null != timeoutSeconds)
        {
            builder.editSpec().withNewSessionAffinityConfig().withNewClientIP().withTimeoutSeconds(timeoutSeconds)
                .endClientIP().endSessionAffinityConfig().endSpec();
        }
        return builder.build();
    }
}
