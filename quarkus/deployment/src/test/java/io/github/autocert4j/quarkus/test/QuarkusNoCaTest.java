package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import jakarta.inject.Inject;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Dev/test mode without a CA ({@code quarkus.autocert4j.directory} unset): the application
 * starts, the HTTPS server presents the self-signed fallback for the configured name, nothing
 * is ordered (the certificate is FAILED with the fix in its error), and readiness is DOWN.
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusNoCaTest.NoCa.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusNoCaTest {
    static final Duration T = Duration.ofSeconds(30);

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @ConfigProperty(name = "quarkus.http.test-port")
    int httpPort;

    @Test
    void startsWithTheSelfSignedFallbackAndReportsDown() throws Exception {
        long deadline = System.nanoTime() + T.toNanos();
        CertificateStatus status = extension.autoCert().status(PebbleResource.NAME).orElseThrow();
        while (status.state() != CertificateStatus.State.FAILED && System.nanoTime() < deadline) {
            Thread.sleep(20);
            status = extension.autoCert().status(PebbleResource.NAME).orElseThrow();
        }
        assertEquals(CertificateStatus.State.FAILED, status.state(), status.toString());
        assertTrue(status.lastError().contains("quarkus.autocert4j.directory"), status.lastError());

        X509Certificate leaf = servedLeaf();
        assertEquals(leaf.getSubjectX500Principal(), leaf.getIssuerX500Principal(), "self-signed: " + leaf);
        assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> PebbleResource.NAME.equals(s.get(1))), leaf.toString());

        HttpResponse<String> ready = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).timeout(T).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(503, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("FAILED"), ready.body());
    }

    private X509Certificate servedLeaf() throws Exception {
        SSLContext trustAll = SSLContext.getInstance("TLS");
        trustAll.init(null, new TrustManager[] {new X509TrustManager() {
            @Override
            public void checkClientTrusted(X509Certificate[] chain, String authType) {
            }

            @Override
            public void checkServerTrusted(X509Certificate[] chain, String authType) {
                // this test inspects the self-signed certificate instead of verifying it
            }

            @Override
            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        try (SSLSocket socket = (SSLSocket) trustAll.getSocketFactory().createSocket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", httpsPort), (int) T.toMillis());
            socket.setSoTimeout((int) T.toMillis());
            SSLParameters params = socket.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName(PebbleResource.NAME)));
            socket.setSSLParameters(params);
            socket.startHandshake();
            return (X509Certificate) socket.getSession().getPeerCertificates()[0];
        }
    }

    /** Configuration without a CA: names, a store, free ports. */
    public static class NoCa implements QuarkusTestResourceLifecycleManager {
        private Path store;

        @Override
        public Map<String, String> start() {
            try {
                store = Files.createTempDirectory("autocert4j-quarkus-noca");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            int[] ports = FreePorts.loopback(2); // distinct: Quarkus refuses one port for both servers
            return Map.of("quarkus.autocert4j.names", PebbleResource.NAME,
                    "quarkus.autocert4j.store.directory", store.toString(),
                    "quarkus.http.host", "127.0.0.1",
                    "quarkus.http.test-port", String.valueOf(ports[0]),
                    "quarkus.http.test-ssl-port", String.valueOf(ports[1]));
        }

        @Override
        public void stop() {
            try (Stream<Path> files = Files.walk(store)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }
}
