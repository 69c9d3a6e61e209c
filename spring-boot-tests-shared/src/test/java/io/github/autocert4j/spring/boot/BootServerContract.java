package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.Http01Table;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.KeepAliveTlsClient;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.SpringBootVersion;

/**
 * What the starter promises on every server, run by one subclass per server on each Boot line: a
 * real Boot application obtains a certificate from a real Pebble through the plain-HTTP port the
 * starter adds, serves it on Boot's own HTTPS port, renews it live (new connections get the new
 * certificate, an open connection keeps working, no restart), answers challenge probes and
 * redirects on the plain port, and reports through Actuator and Micrometer.
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class BootServerContract {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    abstract Server server();

    private String name() {
        return server().name().toLowerCase().replace('_', '-') + ".autocert4j.test";
    }

    @Test
    void obtainsServesAndRenewsTheCertificateLiveOnBootsOwnServer(PebbleServer pebble, X509Certificate issuanceRoot,
            @TempDir Path store) throws Exception {
        String name = name();
        String other = "other-" + name; // a second certificate, chosen by SNI
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, name, store));
        props.put("autocert4j.certificates[0]", other + ",www." + other);
        try (BootApp app = BootApp.start(server(), props)) {
            assertTrue(SpringBootVersion.getVersion().startsWith(BootLine.VERSION_PREFIX),
                    "expected Boot " + BootLine.VERSION_PREFIX + "x, running " + SpringBootVersion.getVersion());
            assertTrue(app.webServerClass().startsWith(server().webServerClass), "Boot runs " + app.webServerClass());
            AutoCert autoCert = app.autoCert();

            Http.await("the certificates from Pebble", Duration.ofSeconds(30), () -> autoCert.status().stream()
                    .allMatch(s -> s.state() == CertificateStatus.State.VALID));
            CertificateStatus first = autoCert.status(name).orElseThrow();
            InetSocketAddress https = app.https();
            TlsProbe.HttpResult page = TlsProbe.httpsGet(https, name, "/", issuanceRoot, TIMEOUT);
            assertEquals(200, page.status(), page.body());
            assertEquals(TestApplication.PAGE, page.body().trim());
            assertEquals(first.serial(), page.serial(), "Boot's HTTPS port serves the certificate Pebble issued");
            CertificateStatus second = autoCert.status(other).orElseThrow();
            assertEquals(second.serial(), TlsProbe.handshake(https, "www." + other, issuanceRoot, TIMEOUT).serial(),
                    "the second certificate for its names, picked by SNI");
            assertEquals(List.of(other, "www." + other), second.names());

            // The plain-HTTP port the starter added: redirects, and answers challenge probes like the adapters.
            int plain = pebble.httpPort();
            Http.Response get = Http.plain(plain, "GET", name, "/some/page?x=1");
            assertEquals(301, get.status());
            assertEquals("https://" + name + ":" + app.httpsPort() + "/some/page?x=1", get.header("Location"));
            assertEquals(308, Http.plain(plain, "POST", name, "/form").status(), "other methods keep their method");
            assertEquals(404, Http.plain(plain, "GET", name, "/.well-known/acme-challenge/unknownToken_123").status());
            Http.Response malformed = Http.plain(plain, "GET", name, "/.well-known/acme-challenge/bad.token");
            assertEquals(400, malformed.status(), malformed.headers() + malformed.body());
            assertEquals(405, Http.plain(plain, "DELETE", name, "/.well-known/acme-challenge/unknownToken_123").status());
            Http.Response head = Http.plain(plain, "HEAD", name, "/.well-known/acme-challenge/unknownToken_123");
            assertEquals(404, head.status());
            assertEquals("", head.body(), "no body for HEAD");
            MeterRegistry meters = app.context.getBean(MeterRegistry.class);
            assertEquals(2.0, challenges(meters, "404"), "our unknown-token probes, GET and HEAD");
            assertEquals(1.0, challenges(meters, "400"), malformed.headers() + malformed.body());
            assertEquals(1.0, challenges(meters, "405"));
            assertTrue(challenges(meters, "200") >= 1.0, "Pebble's validation was answered on the plain port");
            // testkit's Http01Table: the table core decides, the same rows for every adapter, on this server's plain port.
            ChallengeSolver.Challenge probe = new ChallengeSolver.Challenge("http-01", name, Http01Table.TOKEN, Http01Table.KEY_AUTHORIZATION);
            autoCert.http01().present(probe);
            for (Http01Table.Row row : Http01Table.rows()) {
                Http01Table.check(row, Http01Table.send(new InetSocketAddress("127.0.0.1", plain), row), host -> {
                    assertEquals(row.method().equals("GET") ? 301 : 308, host.status(), "the redirect: " + row + " -> " + host);
                    assertEquals("https://app.autocert4j.test:" + app.httpsPort() + row.target(), host.header("location"), row.toString());
                });
            }
            autoCert.http01().cleanUp(probe);

            // Live renewal: an open connection keeps its session, new connections get the new certificate.
            try (KeepAliveTlsClient open = new KeepAliveTlsClient(https, name, issuanceRoot)) {
                assertEquals(first.serial(), open.serial());
                CertificateStatus renewed = autoCert.renewNow(name).get(60, TimeUnit.SECONDS);
                assertNotEquals(first.serial(), renewed.serial());
                BigInteger served = TlsProbe.handshake(https, name, issuanceRoot, TIMEOUT).serial();
                assertEquals(renewed.serial(), served, "a new connection gets the renewed certificate, no restart");
                assertTrue(open.get("/").contains(TestApplication.PAGE), "the connection opened before the renewal still works");
                assertEquals(first.serial(), open.serial());
                assertTrue(challenges(meters, "200") >= 2.0, "the renewal was validated through the plain port too");

                // Actuator: the endpoint lists the live certificate, the health indicator is UP.
                TlsProbe.HttpResult endpoint = TlsProbe.httpsGet(https, name, "/actuator/autocert4j", issuanceRoot, TIMEOUT);
                assertEquals(200, endpoint.status(), endpoint.body());
                assertEquals(renewed.serial().toString(16), Http.json(endpoint.body(), "serial"), endpoint.body());
                assertEquals("VALID", Http.json(endpoint.body(), "state"));
                assertEquals(renewed.notAfter().toString(), Http.json(endpoint.body(), "notAfter"));
                assertEquals(renewed.issuer(), Http.json(endpoint.body(), "issuer"));
                assertTrue(endpoint.body().contains("\"names\":[\"" + name + "\"]"), endpoint.body());
                assertTrue(endpoint.body().contains("\"names\":[\"" + other + "\",\"www." + other + "\"]"), endpoint.body());
                TlsProbe.HttpResult one = TlsProbe.httpsGet(https, name, "/actuator/autocert4j/" + name, issuanceRoot, TIMEOUT);
                assertEquals(200, one.status(), one.body());
                assertEquals(renewed.serial().toString(16), Http.json(one.body(), "serial"));
                assertEquals(404, TlsProbe.httpsGet(https, name, "/actuator/autocert4j/other.example.test", issuanceRoot, TIMEOUT).status());
                TlsProbe.HttpResult health = TlsProbe.httpsGet(https, name, "/actuator/health/autocert4j", issuanceRoot, TIMEOUT);
                assertEquals(200, health.status(), health.body());
                assertEquals("UP", Http.json(health.body(), "status"), health.body());
            }
        }
    }

    @Test
    void startsWhileTheFirstOrderWaitsForASilentCaAndServesTheFallback(@TempDir Path store) throws Exception {
        String name = name();
        int plain = FreePorts.loopback();
        try (SilentServer ca = new SilentServer()) {
            Map<String, String> props = Map.of(
                    "autocert4j.domains", name,
                    "autocert4j.directory", "https://127.0.0.1:" + ca.port() + "/dir",
                    "autocert4j.agree-terms-of-service", "true",
                    "autocert4j.storage-directory", store.toString(),
                    "autocert4j.http-port", Integer.toString(plain),
                    "autocert4j.redirect-to-https", "false",
                    "autocert4j.renewal.http-timeout", "90s"); // the CA would hold start-up for 90 s if it waited
            try (BootApp app = BootApp.start(server(), props)) {
                AutoCert autoCert = app.autoCert();
                Http.await("the first order to start", Duration.ofSeconds(10),
                        () -> autoCert.status(name).map(s -> s.lastAttempt() != null).orElse(false));
                CertificateStatus ordering = autoCert.status(name).orElseThrow();
                assertEquals(CertificateStatus.State.PENDING, ordering.state());
                assertEquals(0, ordering.consecutiveFailures(), "the order is still waiting for the CA: " + ordering);

                // ... and the application is already up: the fallback on HTTPS, the application on the plain port.
                X509Certificate fallback = Http.servedLeafTrustingAnything(app.https(), name);
                assertEquals(fallback.getSubjectX500Principal(), fallback.getIssuerX500Principal(),
                        "the self-signed fallback is served until a certificate is issued");
                assertTrue(fallback.getSubjectAlternativeNames().toString().contains(name), "the fallback names the host");
                Http.Response page = Http.plain(plain, "GET", name, "/");
                assertEquals(200, page.status(), "without redirect-to-https the application answers on the plain port");
                assertTrue(page.body().contains(TestApplication.PAGE), page.body());
                assertEquals(404, Http.plain(plain, "GET", name, "/.well-known/acme-challenge/unknownToken_123").status());
                assertEquals(0, autoCert.status(name).orElseThrow().consecutiveFailures(), "all of this while the CA had not answered");
            }
        }
    }

    static double challenges(MeterRegistry meters, String status) {
        return meters.get("autocert4j.challenge.requests").tag("status", status).functionCounter().count();
    }
}
