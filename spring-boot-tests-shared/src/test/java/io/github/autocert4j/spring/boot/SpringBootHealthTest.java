package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Actuator health indicator through a whole certificate life, in real time: Pebble issues a
 * 24-second certificate, then the CA goes away, so every renewal fails. Polled over HTTPS at
 * {@code /actuator/health/autocert4j}, the status must be UP (also while renewals fail outside
 * the expiry-warning window), then OUT_OF_SERVICE with HTTP 503 inside the window (its last quarter
 * here, 6 s), then DOWN once the certificate has expired.
 */
@WithPebble(profiles = @WithPebble.Profile(name = "short", seconds = 24))
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpringBootHealthTest {
    private static final String NAME = "health.autocert4j.test";

    /** One poll: when it was sent and answered, and what it said. */
    record Observation(Instant sent, Instant answered, int httpStatus, String status, boolean failing, String body) {
        @Override
        public String toString() {
            return answered + " " + httpStatus + " " + status + (failing ? " (failing)" : "");
        }
    }

    @Test
    void upThenRenewalFailingStatusInsideTheWarningWindowThenDownAfterExpiry(PebbleServer pebble, X509Certificate root,
            @TempDir Path store) throws Exception {
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, store));
        props.put("autocert4j.profile", "short");
        props.put("autocert4j.renewal.use-ari", "false"); // the lifetime rule: renew at half-life, 12 s in
        props.put("autocert4j.renewal.backoff", "1s");
        try (BootApp app = BootApp.start(Server.TOMCAT, props)) {
            AutoCert autoCert = app.autoCert();
            Http.await("the first certificate", Duration.ofSeconds(30),
                    () -> autoCert.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
            CertificateStatus issued = autoCert.status(NAME).orElseThrow();
            Observation first = poll(app, root);
            assertEquals(200, first.httpStatus());
            assertEquals("UP", first.status());

            pebble.close(); // the CA is gone: every renewal from now on fails
            Duration lifetime = Duration.between(issued.notBefore(), issued.notAfter());
            Instant windowStart = issued.notAfter().minus(lifetime.dividedBy(4)); // 14 d default, at most a quarter
            List<Observation> seen = new ArrayList<>();
            // The certificate is about to expire and a verifying client would refuse it then: read the health
            // endpoint over TLS that accepts any certificate.
            while (true) {
                Observation o = pollIgnoringExpiry(app);
                seen.add(o);
                if ("DOWN".equals(o.status()) || o.sent().isAfter(issued.notAfter().plusSeconds(20))) {
                    break;
                }
                Thread.sleep(200);
            }
            String timeline = "issued " + issued.notBefore() + " .. " + issued.notAfter() + ", window from " + windowStart + ": " + seen;

            assertTrue(seen.stream().anyMatch(o -> "UP".equals(o.status()) && o.failing()),
                    "renewal failing before the window is still UP: " + timeline);
            List<Observation> outOfService = seen.stream().filter(o -> "OUT_OF_SERVICE".equals(o.status())).toList();
            assertFalse(outOfService.isEmpty(), "OUT_OF_SERVICE inside the window: " + timeline);
            for (Observation o : outOfService) {
                assertEquals(503, o.httpStatus());
                assertTrue(!o.answered().isBefore(windowStart), "OUT_OF_SERVICE only inside the window: " + timeline);
                assertTrue(o.failing());
            }
            for (Observation o : seen) {
                if (o.answered().isBefore(windowStart)) {
                    assertEquals("UP", o.status(), "before the window: " + timeline);
                }
            }
            Observation last = seen.get(seen.size() - 1);
            assertEquals("DOWN", last.status(), "DOWN once expired: " + timeline);
            assertEquals(503, last.httpStatus());
            assertTrue(!last.answered().isBefore(issued.notAfter()), "DOWN only after notAfter: " + timeline);
            assertEquals("EXPIRED", Http.json(last.body(), "state"), last.body());
            assertEquals("DOWN", Http.json(last.body(), "health"), "the certificate's own entry in the details: " + last.body());
            assertEquals(issued.serial().toString(16), Http.json(last.body(), "serial"), last.body());
            assertEquals(CertificateStatus.State.EXPIRED, autoCert.status(NAME).orElseThrow().state());
        }
    }

    private static Observation poll(BootApp app, X509Certificate root) throws Exception {
        Instant sent = Instant.now();
        TlsProbe.HttpResult r = TlsProbe.httpsGet(app.https(), NAME, "/actuator/health/autocert4j", root, Duration.ofSeconds(5));
        return new Observation(sent, Instant.now(), r.status(), Http.json(r.body(), "status"), r.body().contains("lastError"), r.body());
    }

    private static Observation pollIgnoringExpiry(BootApp app) throws Exception {
        Instant sent = Instant.now();
        Http.Response r = Http.httpsTrustingAnything(app.https(), NAME, "/actuator/health/autocert4j");
        return new Observation(sent, Instant.now(), r.status(), Http.json(r.body(), "status"), r.body().contains("lastError"), r.body());
    }
}
