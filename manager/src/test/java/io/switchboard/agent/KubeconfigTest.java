package io.switchboard.agent;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.switchboard.datapath.Manifests;
import io.switchboard.source.MockApiServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code agent --kubeconfig FILE}: the client it builds talks to the server the file names. */
class KubeconfigTest
{
    @Test
    void theClientFromAKubeconfigFileReachesItsServer(@TempDir final Path directory) throws Exception
    {
        final MockApiServer server = MockApiServer.crud();
        server.init();
        try (KubernetesClient admin = server.createClient())
        {
            admin.services().resource(Manifests.service("web", "10.96.0.10", 80, 0)).create();
            final Path kubeconfig = Files.writeString(directory.resolve("kubeconfig"), """
                apiVersion: v1
                kind: Config
                clusters:
                - name: mock
                  cluster:
                    server: %s
                users:
                - name: operator
                  user:
                    token: not-checked
                contexts:
                - name: mock
                  context:
                    cluster: mock
                    user: operator
                current-context: mock
                """.formatted(admin.getMasterUrl()));
            try (KubernetesClient client = AgentCommand.kubernetesClient(kubeconfig.toString()))
            {
                assertThat(client.getMasterUrl()).isEqualTo(admin.getMasterUrl());
                assertThat(client.services().inAnyNamespace().list().getItems())
                    .extracting(service -> service.getMetadata().getName()).containsExactly("web");
            }
        }
        finally
        {
            server.destroy();
        }
    }
}
