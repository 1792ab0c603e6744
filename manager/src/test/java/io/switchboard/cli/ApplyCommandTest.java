package io.switchboard.cli;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import io.switchboard.control.codecs.ObjectKind;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code apply} and {@code delete}: everything validated before anything is sent; errors in one line. */
class ApplyCommandTest
{
    static final String SERVICE = """
        apiVersion: v1
        kind: Service
        metadata: {name: web}
        spec:
          type: NodePort
          clusterIP: 10.96.0.10
          selector: {app: web}
          ports:
          - {name: http, protocol: TCP, port: 80, targetPort: 8080, nodePort: 30080}
        """;
    static final String SLICE = """
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: web-1
          labels: {kubernetes.io/service-name: web}
        addressType: IPv4
        ports:
        - {name: http, protocol: TCP, port: 8080}
        endpoints:
        - addresses: ["198.19.0.10"]
          conditions: {ready: true}
        """;

    @TempDir
    Path directory;

    private final List<String> sent = new ArrayList<>();
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();
    private boolean connected;

    private final BiFunction<Path, KubernetesSerialization, DesiredStateSink> recorder = (aeron, serialization) ->
    {
        connected = true;
        return new DesiredStateSink()
        {
            @Override
            public void upsert(final HasMetadata object)
            {
                sent.add("upsert " + object.getKind() + " " + object.getMetadata().getNamespace() + "/" +
                    object.getMetadata().getName());
            }

            @Override
            public void delete(final ObjectKind kind, final String namespace, final String name)
            {
                sent.add("delete " + kind + " " + namespace + "/" + name);
            }

            @Override
            public void close()
            {
            }
        };
    };

    @BeforeEach
    void clear()
    {
        sent.clear();
    }

    @Test
    void aValidFileIsSentObjectByObjectAndPrintedLikeKubectl() throws IOException
    {
        final Path file = write("web.yaml", SERVICE + "---\n" + SLICE);
        assertThat(run(new ApplyCommand(recorder), "-f", file.toString())).isZero();
        assertThat(sent).containsExactly("upsert Service default/web", "upsert EndpointSlice default/web-1");
        assertThat(out.toString()).isEqualTo("service/web configured\nendpointslice/web-1 configured\n");
        assertThat(err.toString()).isEmpty();
    }

    @Test
    void aDirectoryAndAV1ListAreRead() throws IOException
    {
        write("a.yaml", SERVICE);
        write("b.json", """
            {"apiVersion": "v1", "kind": "List", "items": [
              {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0", "labels": {"app": "web"}}}]}
            """);
        write("notes.txt", "not a manifest");
        assertThat(run(new ApplyCommand(recorder), "-f", directory.toString())).isZero();
        assertThat(sent).containsExactly("upsert Service default/web", "upsert Pod default/web-0");
    }

    @Test
    void anInvalidServiceIsOneLineNamingFileObjectAndFieldAndNothingIsSent() throws IOException
    {
        final Path file = write("web.yaml", SLICE + "---\n" + SERVICE.replace("port: 80,", "port: 70000,"));
        assertThat(run(new ApplyCommand(recorder), "-f", file.toString())).isEqualTo(1);
        assertThat(sent).isEmpty();
        assertThat(connected).as("no connection is even made").isFalse();
        assertThat(err.toString().lines()).singleElement().satisfies(line -> assertThat(line)
            .startsWith("error: " + file)
            .contains("Service default/web")
            .contains("spec.ports[0].port"));
    }

    @Test
    void aMissingFileIsOneLine()
    {
        final Path missing = directory.resolve("missing.yaml");
        assertThat(run(new ApplyCommand(recorder), "-f", missing.toString())).isEqualTo(1);
        assertThat(err.toString()).isEqualTo("error: " + missing + ": no such file or directory\n");
        assertThat(sent).isEmpty();
    }

    @Test
    void yamlThatDoesNotParseIsOneLineNamingTheFile() throws IOException
    {
        final Path file = write("broken.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: [web\n");
        assertThat(run(new ApplyCommand(recorder), "-f", file.toString())).isEqualTo(1);
        assertThat(err.toString().lines()).singleElement().satisfies(line ->
            assertThat(line).startsWith("error: " + file + ": does not parse"));
        assertThat(sent).isEmpty();
    }

    @Test
    void oneBadFileAmongSeveralStopsThemAll() throws IOException
    {
        final Path good = write("good.yaml", SERVICE);
        final Path bad = write("bad.yaml", SLICE.replace("198.19.0.10", "not-an-address"));
        assertThat(run(new ApplyCommand(recorder), "-f", good.toString(), "-f", bad.toString())).isEqualTo(1);
        assertThat(sent).isEmpty();
        assertThat(err.toString()).contains(bad.toString()).contains("EndpointSlice default/web-1")
            .contains("endpoints[0].addresses[0]");
    }

    @Test
    void deleteSendsDeletions() throws IOException
    {
        final Path file = write("web.yaml", SERVICE + "---\n" + SLICE);
        assertThat(run(new DeleteCommand(recorder), "-f", file.toString())).isZero();
        assertThat(sent).containsExactly("delete SERVICE default/web", "delete ENDPOINT_SLICE default/web-1");
        assertThat(out.toString()).isEqualTo("service/web deleted\nendpointslice/web-1 deleted\n");
    }

    @Test
    void withoutAnAgentTheErrorSaysSo() throws IOException
    {
        final Path file = write("web.yaml", SERVICE);
        final Path aeron = directory.resolve("no-driver-here");
        assertThat(run(new ApplyCommand(), "-f", file.toString(), "--aeron-dir", aeron.toString())).isEqualTo(1);
        assertThat(err.toString()).startsWith("error: no agent: no Aeron media driver runs in " + aeron)
            .hasLineCount(1);
        assertThat(out.toString()).isEmpty();
    }

    private int run(final Object command, final String... arguments)
    {
        final CommandLine commandLine = new CommandLine(command);
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        // a recorder instead of an agent: no verdicts to read (CliAgentTest reads a real agent's)
        final String[] all = java.util.Arrays.copyOf(arguments, arguments.length + 2);
        all[arguments.length] = "--agent";
        all[arguments.length + 1] = "off";
        return commandLine.execute(all);
    }

    private Path write(final String name, final String text) throws IOException
    {
        return Files.writeString(directory.resolve(name), text);
    }
}
