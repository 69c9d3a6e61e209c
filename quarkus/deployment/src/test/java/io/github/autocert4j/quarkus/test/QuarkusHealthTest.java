package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;

import jakarta.inject.Inject;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The readiness check: UP while the CA certificate is valid; DOWN once it has expired because
 * the CA became unreachable (Pebble stopped; certificates of a 12-second profile). Health is
 * read through Quarkus' own {@code /q/health/ready} endpoint on the plain port.
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusHealthTest.ShortLived.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusHealthTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-port")
    int httpPort;

    @Test
    void upWhileValidDownOnceExpired() throws Exception {
        AutoCert autoCert = extension.autoCert();
        Awaits.issued(autoCert, PebbleResource.NAME, pebble, T);
        HttpResponse<String> up = ready();
        assertEquals(200, up.statusCode(), up.body());
        assertTrue(up.body().contains("\"autocert4j\"") && up.body().contains("VALID serial"), up.body());

        pebble.close(); // no renewal from now on
        Instant notAfter = autoCert.status(PebbleResource.NAME).map(CertificateStatus::notAfter).orElseThrow();
        long deadline = System.nanoTime() + T.toNanos();
        while (Instant.now().isBefore(notAfter.plusMillis(200)) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        notAfter = autoCert.status(PebbleResource.NAME).map(CertificateStatus::notAfter).orElseThrow();
        assertTrue(Instant.now().isAfter(notAfter), "the last certificate expired: " + notAfter);
        HttpResponse<String> down = ready();
        assertEquals(503, down.statusCode(), down.body());
        assertTrue(down.body().contains("\"DOWN\"") && down.body().contains("EXPIRED"), down.body());
    }

    private HttpResponse<String> ready() throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(T).build();
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + "/q/health/ready")).timeout(T).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Pebble issuing 12-second certificates, and no redirect (health is read over plain HTTP). */
    public static class ShortLived extends PebbleResource {
        @Override
        protected PebbleServer.Builder pebble(PebbleServer.Builder builder) {
            return builder.profile("short", Duration.ofSeconds(12));
        }

        @Override
        protected Map<String, String> more(PebbleServer pebble, Path store) {
            return Map.of("quarkus.autocert4j.profile", "short", "%test.quarkus.http.insecure-requests", "enabled");
        }
    }
}
