package io.github.autocert4j.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthResult;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One Micronaut 4 application (real Netty {@code EmbeddedServer} from {@code ApplicationContext},
 * configured only through {@code autocert4j.*} and {@code micronaut.server.*} properties) against
 * Pebble: Pebble's HTTP-01 validation is answered on the plain port ahead of Micronaut's
 * HTTP-to-HTTPS redirect; the HTTPS port serves the issued certificate, verified against Pebble's
 * root only; a renewal is served by the next handshake of the same running server; the health
 * indicator goes from OUT_OF_SERVICE (fallback served) to UP.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@WithPebble
class MicronautPebbleTest {
    static final Duration T = Duration.ofSeconds(60);

    static PebbleServer pebble;

    @TempDir
    Path store;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    Map<String, Object> autocert4j(String name, String directory) {
        return Map.of("autocert4j.names", List.of(name), "autocert4j.directory", directory,
                "autocert4j.trust", pebble.acmeServerCaPem().toString(), "autocert4j.agree-to-terms-of-service", true,
                "autocert4j.store-directory", store.toString());
    }

    static CertificateStatus awaitSerial(AutoCert a, String name, BigInteger not) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = a.status(name).orElseThrow();
            if (s.serial() != null && !s.serial().equals(not)) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no new certificate for " + name + " within " + T + ": " + a.status(name) + (pebble == null ? "" : "\n" + pebble.logTail(30)));
    }

    /**
     * micronaut/pom.xml runs this class twice: with netty-tcnative (OpenSSL) and in the {@code without-tcnative}
     * execution (JDK provider: a plain {@link JdkSslContext} from {@code AutoCertSsl.jdkServerContext}, not Netty's
     * {@code JdkSslServerContext}); the system property {@code autocert4j.test.tcnative} says which run this is.
     */
    static void assertProviderOfThisRun(SslContext context) {
        if ("absent".equals(System.getProperty("autocert4j.test.tcnative", "present"))) {
            assertThrows(ClassNotFoundException.class, () -> Class.forName("io.netty.internal.tcnative.SSL"),
                    "the without-tcnative run must not have tcnative on its class path (micronaut/pom.xml classpathDependencyExcludes)");
            assertEquals(JdkSslContext.class, context.getClass(), "AutoCertSsl.jdkServerContext, not Netty's JdkSslServerContext");
        } else {
            assertTrue(OpenSsl.isAvailable(), "tcnative is on this run's class path: " + OpenSsl.unavailabilityCause());
            assertFalse(context instanceof JdkSslContext, context.getClass().getName());
        }
    }

    @Test
    void issuesThroughThePlainPortServesTheVerifiedChainAndRenewsWithoutRestart() throws Exception {
        String name = "micronaut.autocert4j.test";
        MicronautHost host = MicronautHost.start(pebble.httpPort(), autocert4j(name, pebble.directoryUri().toString()));
        open.add(host);
        AutoCert a = host.autoCert();
        AutoCertHealthIndicator health = host.context.getBean(AutoCertHealthIndicator.class);

        CertificateStatus issued = awaitSerial(a, name, null);
        assertEquals(CertificateStatus.State.VALID, issued.state());
        TlsProbe.Result served = TlsProbe.handshake(host.httpsAddress(), name, pebble.issuanceRoot(), T); // verifies chain and name
        assertEquals(issued.serial(), served.serial(), "the issued certificate is the one Micronaut serves");
        assertTrue(served.chain().size() >= 2, "leaf and intermediate: " + served.chain().size());
        TlsProbe.HttpResult page = TlsProbe.httpsGet(host.httpsAddress(), name, "/hello", pebble.issuanceRoot(), T);
        assertEquals(200, page.status());
        assertTrue(page.body().startsWith("tls " + name), page.body());
        assertTrue(a.http01().answeredCount() >= 1, "Pebble's validation was answered on Micronaut's plain port");
        HealthResult up = health.result();
        assertEquals(HealthStatus.UP, up.getStatus(), String.valueOf(up.getDetails()));
        assertTrue(up.getDetails().toString().contains(issued.serial().toString(16)), String.valueOf(up.getDetails()));

        // Renewal: a new order; the same running server serves the new serial at the next handshake.
        SslContext before = host.context.getBean(AutoCertSslBuilder.class).build().orElseThrow();
        assertProviderOfThisRun(before);
        CertificateStatus renewed = a.renewNow(name).get(T.toSeconds(), TimeUnit.SECONDS);
        assertNotEquals(issued.serial(), renewed.serial());
        TlsProbe.Result after = TlsProbe.handshake(host.httpsAddress(), name, pebble.issuanceRoot(), T);
        assertEquals(renewed.serial(), after.serial(), "the renewed certificate is served without a restart");
        assertSame(before, host.context.getBean(AutoCertSslBuilder.class).build().orElseThrow(), "no SslContext rebuild");
        assertTrue(host.server.isRunning());

        // Health DOWN once the served certificate has expired (a clock past its notAfter).
        HealthResult expired = new AutoCertHealthIndicator(a, Clock.fixed(renewed.notAfter().plusSeconds(1), ZoneOffset.UTC)).result();
        assertEquals(HealthStatus.DOWN, expired.getStatus(), String.valueOf(expired.getDetails()));

        // The plain port: the challenge path is answered before the redirect; everything else is redirected.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(T).build();
        String base = "http://127.0.0.1:" + host.plainPort;
        HttpResponse<String> redirect = send(http, HttpRequest.newBuilder(URI.create(base + "/hello")).GET());
        assertEquals(3, redirect.statusCode() / 100, "redirect: " + redirect.statusCode());
        assertTrue(redirect.headers().firstValue("Location").orElse("").startsWith("https://"), redirect.headers().toString());
        assertEquals(404, send(http, HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/unknownToken_0123")).GET()).statusCode());
        assertEquals(400, send(http, HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/a%2F..%2Fb")).GET()).statusCode());
        HttpResponse<String> post = send(http, HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/abc"))
                .POST(HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(null));
    }

    @Test
    void anHttp2ServerNegotiatesH2OverAlpnWithTheIssuedCertificate() throws Exception {
        String name = "h2.micronaut.autocert4j.test";
        Map<String, Object> props = new java.util.HashMap<>(autocert4j(name, pebble.directoryUri().toString()));
        props.put("micronaut.server.http-version", "2.0");
        MicronautHost host = MicronautHost.start(pebble.httpPort(), props);
        open.add(host);
        CertificateStatus issued = awaitSerial(host.autoCert(), name, null);
        assertProviderOfThisRun(host.context.getBean(AutoCertSslBuilder.class).build().orElseThrow());

        KeyStore roots = KeyStore.getInstance("PKCS12");
        roots.load(null, null);
        roots.setCertificateEntry("pebble", pebble.issuanceRoot());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(roots);
        SSLContext tls = SSLContext.getInstance("TLS");
        tls.init(null, tmf.getTrustManagers(), null);
        try (SSLSocket socket = (SSLSocket) tls.getSocketFactory().createSocket("127.0.0.1", host.httpsPort)) {
            socket.setSoTimeout((int) T.toMillis());
            SSLParameters params = socket.getSSLParameters();
            params.setServerNames(List.of(new SNIHostName(name)));
            params.setEndpointIdentificationAlgorithm("HTTPS"); // checks the SNI name against the certificate
            params.setApplicationProtocols(new String[] {"h2", "http/1.1"});
            socket.setSSLParameters(params);
            socket.startHandshake();
            assertEquals("h2", socket.getApplicationProtocol(), "ALPN as Micronaut's HTTP/2 server offers it");
            X509Certificate leaf = (X509Certificate) socket.getSession().getPeerCertificates()[0];
            assertEquals(issued.serial(), leaf.getSerialNumber());
        }
    }

    @Test
    void healthIsOutOfServiceWhileTheFallbackIsServed() throws Exception {
        String name = "unreachable-ca.autocert4j.test";
        // A CA that does not answer: the name stays on the self-signed fallback.
        Map<String, Object> props = new java.util.HashMap<>(autocert4j(name, "https://127.0.0.1:" + FreePorts.loopback() + "/dir"));
        props.put("micronaut.server.http-to-https-redirect", false); // /health read over plain HTTP below
        props.put("endpoints.health.details-visible", "ANONYMOUS");
        MicronautHost host = MicronautHost.start(FreePorts.loopback(), props);
        open.add(host);
        AutoCertHealthIndicator health = host.context.getBean(AutoCertHealthIndicator.class);
        HealthResult r = health.result();
        assertEquals("OUT_OF_SERVICE", r.getStatus().getName(), String.valueOf(r.getDetails()));
        assertEquals(false, r.getStatus().getOperational().orElse(true));
        assertTrue(r.getDetails().toString().contains("PENDING"), String.valueOf(r.getDetails()));
        // The same through Micronaut's /health endpoint (micronaut-management): not UP, with autocert4j's entry.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(T).build();
        HttpResponse<String> endpoint = send(http, HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + host.plainPort + "/health")).GET());
        assertEquals(503, endpoint.statusCode(), endpoint.body());
        assertTrue(endpoint.body().contains("autocert4j") && endpoint.body().contains("OUT_OF_SERVICE"), endpoint.body());
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest.Builder req) throws Exception {
        return http.send(req.timeout(T).build(), HttpResponse.BodyHandlers.ofString());
    }
}
