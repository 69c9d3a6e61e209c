package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Vert.x 5 host end to end against Pebble: the challenge handler (plain request handler or
 * vertx-web Router) answers Pebble's HTTP-01 validation on the plain port ahead of the redirect,
 * the HTTPS server presents the issued certificate, whose chain TlsProbe verifies against
 * Pebble's root and the name; the challenge path's status table; TLS-ALPN-01-only refused.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@WithPebble
class VertxPebbleTest {
    static final Duration T = Duration.ofSeconds(60);

    /** This class's own Pebble (from its {@code @WithPebble}), set before each test. */
    PebbleServer pebble;

    @TempDir
    Path store;
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void rememberPebble(PebbleServer running) {
        pebble = running;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    AutoCert autoCert(String... names) {
        AutoCert a = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).certificate(names).build();
        open.add(a);
        return a;
    }

    /** The status once {@code name} has a CA certificate from {@code pebble} (whose log a failure shows), within {@link #T}. */
    static CertificateStatus awaitIssued(AutoCert a, String name, PebbleServer pebble) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = a.status(name).orElseThrow();
            if (s.serial() != null) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate for " + name + " within " + T + ": " + a.status(name) + "\n" + pebble.logTail(30));
    }

    @Test
    void issuesThroughThePlainRequestHandlerAndServesTheVerifiedChainOnHttps() throws Exception {
        issueAndServe("vertx.autocert4j.test", false);
    }

    @Test
    void issuesThroughARouterRoute() throws Exception {
        issueAndServe("router.autocert4j.test", true);
    }

    private void issueAndServe(String name, boolean router) throws Exception {
        AutoCert a = autoCert(name);
        VertxHost host = new VertxHost(a, pebble.httpPort(), 2, router, null, null);
        open.add(host);
        a.start();
        CertificateStatus issued = awaitIssued(a, name, pebble);
        TlsProbe.Result served = TlsProbe.handshake(host.httpsAddress(), name, pebble.issuanceRoot(), T); // verifies chain and name
        assertEquals(issued.serial(), served.serial(), "the issued certificate is the one served");
        assertTrue(served.chain().size() >= 2, "leaf and intermediate: " + served.chain().size());
        X509Certificate leaf = served.leaf();
        assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> name.equals(s.get(1))));
        TlsProbe.HttpResult page = TlsProbe.httpsGet(host.httpsAddress(), name, "/hello", pebble.issuanceRoot(), T);
        assertEquals(200, page.status());
        assertEquals("tls " + name + " /hello", page.body());
        assertTrue(a.http01().answeredCount() >= 1, "Pebble's validation was answered by the Vert.x handler");
        assertEquals(0, a.http01().pendingCount(), "challenges cleaned up");

        // The plain port: everything but the challenge path goes to the redirect.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(T).build();
        String base = "http://127.0.0.1:" + pebble.httpPort();
        HttpResponse<String> redirect = send(http, get(base + "/page?q=1"));
        assertEquals(308, redirect.statusCode());
        assertEquals("https://127.0.0.1/page?q=1", redirect.headers().firstValue("Location").orElse(null));
        assertEquals(404, send(http, get(base + "/.well-known/acme-challenge/unknownToken_0123")).statusCode());
        assertEquals(404, send(http, get(base + "/.well-known/acme-challenge/")).statusCode());
        assertEquals(400, send(http, get(base + "/.well-known/acme-challenge/a%2F..%2Fb")).statusCode());
        assertEquals(400, send(http, get(base + "/.well-known/acme-challenge/a.b")).statusCode());
        HttpResponse<String> post = send(http, HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/abc"))
                .POST(HttpRequest.BodyPublishers.ofString("x")));
        assertEquals(405, post.statusCode());
        assertEquals("GET, HEAD", post.headers().firstValue("Allow").orElse(null));
        HttpResponse<String> head = send(http, HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/unknown"))
                .method("HEAD", HttpRequest.BodyPublishers.noBody()));
        assertEquals(404, head.statusCode());
        assertEquals("", head.body());
        assertEquals("no-store", head.headers().firstValue("Cache-Control").orElse(null));
    }

    private static HttpRequest.Builder get(String uri) {
        return HttpRequest.newBuilder(URI.create(uri)).GET();
    }

    private static HttpResponse<String> send(HttpClient http, HttpRequest.Builder req) throws Exception {
        return http.send(req.timeout(T).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void tlsAlpn01BeforeHttp01IsRefusedWithTheFix() {
        AutoCert alpnOnly = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).certificate("alpn.autocert4j.test")
                .challengeTypes("tls-alpn-01").build();
        open.add(alpnOnly);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoCertVertx.httpsOptions(alpnOnly));
        assertTrue(e.getMessage().contains("acme-tls/1") && e.getMessage().contains("Fix:"), e.getMessage());
        // http-01 first (tls-alpn-01 as a later preference never picked before it) is fine.
        AutoCertVertx.checkChallengeTypes(List.of("http-01", "tls-alpn-01"));
        assertThrows(IllegalArgumentException.class, () -> AutoCertVertx.checkChallengeTypes(List.of("tls-alpn-01", "http-01")));
        assertNotNull(AutoCertVertx.httpsOptions(autoCert("plain.autocert4j.test")).getKeyCertOptions());
    }
}
