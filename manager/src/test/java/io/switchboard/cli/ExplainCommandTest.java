package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.source.ManifestSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code explain} on the lesson's scenarios, from a state directory alone (no pinned maps here, so the
 * datapath check is a WARN): each broken Service gets a FAIL naming the cause, and a hint.
 */
class ExplainCommandTest
{
    private static final String POD = """
        apiVersion: v1
        kind: Pod
        metadata: {name: web-0, namespace: default, labels: {app: web-app}}
        spec:
          containers:
          - {name: web, image: web, ports: [{name: web, containerPort: 8080}]}
        """;

    @TempDir
    Path state;

    private final KubernetesSerialization serialization = new KubernetesSerialization();

    @Test
    void aMissingServiceFails()
    {
        final String out = explain(1, "svc", "nothing");
        assertThat(out).contains("FAIL  the Service does not exist").contains("hint: apply it");
    }

    @Test
    void aSelectorThatMatchesNoPodFailsShowingThePodsLabels() throws IOException
    {
        keep(POD + "---\n" + service("app: web", "8080") + "---\n" + slice("true"));
        final String out = explain(1, "svc", "web");
        assertThat(out).contains("FAIL  selector app=web matches none of the 1 Pods: web-0 app=web-app")
            .contains("hint: make the selector equal the Pods' labels");
    }

    @Test
    void noReadyEndpointFailsAndNamesReadiness() throws IOException
    {
        keep(POD + "---\n" + service("app: web-app", "8080") + "---\n" + slice("false"));
        final String out = explain(1, "svc", "web");
        assertThat(out).contains("OK    selector app=web-app matches 1 of 1 Pods: web-0")
            .contains("FAIL  port http/TCP: no ready endpoint").contains("readiness probes");
    }

    @Test
    void aNamedTargetPortNoPodDeclaresFails() throws IOException
    {
        keep(POD + "---\n" + service("app: web-app", "http") + "---\n" + slice("true"));
        final String out = explain(1, "svc", "web");
        assertThat(out).contains("FAIL  targetPort http of port http/TCP: Pods [web-0] declare no container port " +
            "named http");
    }

    @Test
    void aHealthyServiceHasNoFailuresBeyondTheUncheckedDatapath() throws IOException
    {
        keep(POD + "---\n" + service("app: web-app", "web") + "---\n" + slice("true"));
        final String out = explain(0, "svc", "web", "--bpffs-dir", state.resolve("no-pins").toString());
        assertThat(out).doesNotContain("FAIL").contains("OK    targetPort web of port http/TCP: resolves to [8080]")
            .contains("WARN  datapath not checked");
    }

    @Test
    void aHeadlessServiceIsExplainedAsDnsOnly() throws IOException
    {
        keep(service("app: web-app", "8080").replace("clusterIP: 10.96.0.10", "clusterIP: None"));
        final String out = explain(0, "svc", "web");
        assertThat(out).contains("WARN  it gets no dataplane entries").contains("DNS only");
    }

    @Test
    void getEndpointsListsTheKeptSlicesWithTheirConditions() throws IOException
    {
        keep(service("app: web-app", "8080") + "---\n" + slice("false"));
        final StringWriter out = new StringWriter();
        final CommandLine commandLine = new CommandLine(new GetCommand());
        commandLine.setOut(new PrintWriter(out, true));
        assertThat(commandLine.execute("endpoints", "--agent", "off", "--state-dir", state.toString())).isZero();
        assertThat(out.toString()).isEqualTo("""
            SERVICE       SLICE   ADDRESS       PORTS           READY   SERVING   TERMINATING   NODE
            default/web   web-1   198.19.0.10   http:8080/TCP   false   false     false         node-a
            """);
    }

    private String explain(final int expectedCode, final String... arguments)
    {
        final StringWriter out = new StringWriter();
        final CommandLine commandLine = new CommandLine(new ExplainCommand());
        commandLine.setOut(new PrintWriter(out, true));
        final String[] all = new String[arguments.length + 8];
        System.arraycopy(arguments, 0, all, 0, arguments.length);
        // no agent: this test runs in the root namespace, where nothing of the test listens
        System.arraycopy(new String[] {"--agent", "off", "--state-dir", state.toString(), "--node-name", "node-a",
            "--node-ip", "198.18.0.1"}, 0, all, arguments.length, 8);
        final int code = commandLine.execute(all);
        assertThat(code).as(out.toString()).isEqualTo(expectedCode);
        return out.toString();
    }

    /** Writes objects as the agent keeps them: {@code <state>/cli/<kind>/<ns>.<name>.json}. */
    private void keep(final String yaml) throws IOException
    {
        final Path file = Files.writeString(state.resolve("input.yaml"), yaml);
        for (final HasMetadata object : ManifestSource.parse(serialization, file))
        {
            final String kind = switch (object.getKind())
            {
                case "EndpointSlice" -> "endpoint_slice";
                default -> object.getKind().toLowerCase();
            };
            final Path directory = Files.createDirectories(state.resolve("cli").resolve(kind));
            Files.writeString(directory.resolve(object.getMetadata().getNamespace() + "." +
                object.getMetadata().getName() + ".json"), serialization.asJson(object));
        }
        Files.delete(file);
    }

    private static String service(final String selector, final String targetPort)
    {
        return """
            apiVersion: v1
            kind: Service
            metadata: {name: web, namespace: default}
            spec:
              clusterIP: 10.96.0.10
              selector: {%s}
              ports:
              - {name: http, protocol: TCP, port: 80, targetPort: %s}
            """.formatted(selector, targetPort);
    }

    private static String slice(final String ready)
    {
        return """
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata:
              name: web-1
              namespace: default
              labels: {kubernetes.io/service-name: web}
            addressType: IPv4
            ports:
            - {name: http, protocol: TCP, port: 8080}
            endpoints:
            - {addresses: ["198.19.0.10"], nodeName: node-a, conditions: {ready: %s}}
            """.formatted(ready);
    }
}
