package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

import jakarta.inject.Inject;

import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * On-demand TLS through {@code quarkus.autocert4j.on-demand.*}: the first handshake for an
 * allowed name waits (on Vert.x's worker pool) for its certificate and gets it, verified against
 * Pebble's root; a name outside {@code allow} gets no CA certificate.
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusOnDemandTest.OnDemand.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusOnDemandTest {
    static final Duration T = Duration.ofSeconds(60);
    static final String ALLOWED = "shop1.ondemand.autocert4j.test";

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void anAllowedNameGetsItsCertificateInItsFirstHandshake() throws Exception {
        InetSocketAddress https = new InetSocketAddress("127.0.0.1", httpsPort);
        TlsProbe.Result first = TlsProbe.handshake(https, ALLOWED, pebble.issuanceRoot(), T); // verifies chain and name
        assertTrue(first.leaf().getSubjectAlternativeNames().stream().anyMatch(s -> ALLOWED.equals(s.get(1))));
        assertEquals(first.serial(), TlsProbe.handshake(https, ALLOWED, pebble.issuanceRoot(), T).serial(), "same certificate after");
        assertThrows(IOException.class, () -> TlsProbe.handshake(https, "other.autocert4j.test", pebble.issuanceRoot(), T),
                "a name outside allow gets no certificate Pebble's root verifies");
        assertTrue(extension.autoCert().onDemand().isPresent());
    }

    /** On-demand TLS for one-label names below ondemand.autocert4j.test. */
    public static class OnDemand extends PebbleResource {
        @Override
        protected Map<String, String> more(PebbleServer pebble, Path store) {
            return Map.of("quarkus.autocert4j.on-demand.enabled", "true",
                    "quarkus.autocert4j.on-demand.allow", "*.ondemand.autocert4j.test",
                    "quarkus.autocert4j.on-demand.handshake-wait", "20s");
        }
    }
}
