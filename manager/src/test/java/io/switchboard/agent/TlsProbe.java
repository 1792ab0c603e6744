package io.switchboard.agent;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;

/**
 * Run inside the image by {@link ContainerImageTest}: an HTTPS request with the JDK's HTTP client (the one the
 * agent's Kubernetes client uses) to a local HTTPS server with the PKCS12 key in {@code args[0]} (password
 * {@code args[1]}), so the jlinked runtime is shown to hold what TLS to an API server needs. Prints
 * "STATUS BODY PROTOCOL".
 */
public final class TlsProbe
{
    private TlsProbe()
    {
    }

    public static void main(final String[] args) throws Exception
    {
        final char[] password = args[1].toCharArray();
        final KeyStore keys = KeyStore.getInstance("PKCS12");
        try (InputStream in = Files.newInputStream(Path.of(args[0])))
        {
            keys.load(in, password);
        }
        final KeyManagerFactory keyManagers = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        keyManagers.init(keys, password);
        final TrustManagerFactory trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        trust.init(keys);
        final SSLContext context = SSLContext.getInstance("TLS");
        context.init(keyManagers.getKeyManagers(), trust.getTrustManagers(), null);

        final HttpsServer server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setHttpsConfigurator(new HttpsConfigurator(context));
        server.createContext("/", exchange ->
        {
            final byte[] body = "version".getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        try (HttpClient client = HttpClient.newBuilder().sslContext(context).build())
        {
            final HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(
                "https://127.0.0.1:" + server.getAddress().getPort() + "/")).build(),
                HttpResponse.BodyHandlers.ofString(StandardCharsets.US_ASCII));
            System.out.println(response.statusCode() + " " + response.body() + " " +
                response.sslSession().orElseThrow().getProtocol());
        }
        finally
        {
            server.stop(0);
        }
    }
}
