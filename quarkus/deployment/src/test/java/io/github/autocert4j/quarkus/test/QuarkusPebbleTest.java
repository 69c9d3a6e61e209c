package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;

import jakarta.inject.Inject;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.Http01Table;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The extension end to end against Pebble: Pebble's HTTP-01 validation reaches the challenge
 * route on Quarkus' plain-HTTP port although {@code quarkus.http.insecure-requests=redirect};
 * the HTTPS server presents the issued certificate, verified by a TLS client that trusts only
 * Pebble's root; other plain-HTTP requests still get Quarkus' redirect; the Micrometer gauges
 * report the valid certificate.
 */
@QuarkusTest
@QuarkusTestResource(value = PebbleResource.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusPebbleTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @Inject
    MeterRegistry registry;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void issuesThroughTheChallengeRouteAndServesTheVerifiedChain() throws Exception {
        AutoCert autoCert = extension.autoCert();
        CertificateStatus issued = Awaits.issued(autoCert, PebbleResource.NAME, pebble, T);
        InetSocketAddress https = new InetSocketAddress("127.0.0.1", httpsPort);
        TlsProbe.Result served = TlsProbe.handshake(https, PebbleResource.NAME, pebble.issuanceRoot(), T);
        assertEquals(issued.serial(), served.serial(), "the issued certificate is the one served");
        assertTrue(served.chain().size() >= 2, "leaf and intermediate: " + served.chain().size());
        TlsProbe.HttpResult page = TlsProbe.httpsGet(https, PebbleResource.NAME, "/hello", pebble.issuanceRoot(), T);
        assertEquals(200, page.status());
        assertEquals("tls /hello", page.body());
        assertTrue(autoCert.http01().answeredCount() >= 1, "Pebble's validation was answered by the challenge route");
        // quarkus-micrometer alone has no backend: give its composite registry one to read the gauges through
        ((CompositeMeterRegistry) registry).add(new SimpleMeterRegistry());
        assertEquals(1.0, registry.get("autocert4j.certificate.valid").tag("certificate", PebbleResource.NAME).gauge().value());
        double left = registry.get("autocert4j.certificate.expiry").tag("certificate", PebbleResource.NAME).gauge().value();
        assertTrue(left > 0 && left <= Duration.between(Instant.now(), issued.notAfter()).getSeconds() + 1, "seconds left: " + left);

        // The plain port: everything but the challenge path gets Quarkus' redirect.
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(T).build();
        String base = "http://127.0.0.1:" + pebble.httpPort();
        HttpResponse<String> redirect = http.send(HttpRequest.newBuilder(URI.create(base + "/hello?q=1")).timeout(T).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(301, redirect.statusCode());
        assertEquals("https://127.0.0.1:" + httpsPort + "/hello?q=1", redirect.headers().firstValue("Location").orElse(null));
        HttpResponse<String> unknown = http.send(HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/unknownToken_1"))
                .timeout(T).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(404, unknown.statusCode());
        HttpResponse<String> bad = http.send(HttpRequest.newBuilder(URI.create(base + "/.well-known/acme-challenge/a.b"))
                .timeout(T).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, bad.statusCode());
    }

    /**
     * testkit's {@link Http01Table} (the table core decides, the same rows for every adapter) through the
     * challenge route on Quarkus' plain-HTTP port, over raw sockets; every other request gets Quarkus' redirect.
     */
    @Test
    void theSharedHttp01Table() throws Exception {
        ChallengeSolver.Challenge challenge = new ChallengeSolver.Challenge("http-01", PebbleResource.NAME, Http01Table.TOKEN,
                Http01Table.KEY_AUTHORIZATION);
        extension.autoCert().http01().present(challenge);
        try {
            InetSocketAddress plain = new InetSocketAddress("127.0.0.1", pebble.httpPort());
            for (Http01Table.Row row : Http01Table.rows()) {
                Http01Table.Reply reply = Http01Table.send(plain, row);
                Http01Table.check(row, reply, host -> {
                    assertEquals(301, host.status(), "Quarkus' redirect: " + row + " -> " + host);
                    assertEquals("https://app.autocert4j.test:" + httpsPort + row.target(), host.header("location"), row.toString());
                });
            }
        } finally {
            extension.autoCert().http01().cleanUp(challenge);
        }
    }
}
