package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Micrometer meters in a real WebFlux application on Reactor Netty, read from Boot's meter
 * registry and from {@code /actuator/metrics}: seconds until expiry, orders by outcome with their
 * duration, and certificates loaded from the store by a restarted application while the CA is gone.
 * (The challenge-request counter is checked on every server by {@link BootServerContract}.)
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpringBootMetricsTest {
    private static final String NAME = "metrics.autocert4j.test";

    @Test
    void expiryOrdersTheirDurationAndLoadsAreMeasured(PebbleServer pebble, X509Certificate root, @TempDir Path store)
            throws Exception {
        try (BootApp app = BootApp.start(Server.REACTOR_NETTY, BootApp.pebbleProperties(pebble, NAME, store))) {
            AutoCert autoCert = app.autoCert();
            Http.await("the first certificate", Duration.ofSeconds(30),
                    () -> autoCert.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
            MeterRegistry meters = app.context.getBean(MeterRegistry.class);
            Http.await("the Issued event to be counted", Duration.ofSeconds(5), () -> attempts(meters, "issued") == 1.0);

            CertificateStatus live = autoCert.status(NAME).orElseThrow();
            double expected = Duration.between(Instant.now(), live.notAfter()).toSeconds();
            double expiry = meters.get("autocert4j.certificate.expiry").tag("certificate", NAME).gauge().value();
            assertEquals(expected, expiry, 5.0, "seconds until notAfter " + live.notAfter());
            assertEquals(0.0, attempts(meters, "failed"));
            assertEquals(0.0, loaded(meters));
            Timer issuedOrders = orders(meters, "issued");
            assertEquals(1, issuedOrders.count());
            double firstOrderSeconds = issuedOrders.totalTime(TimeUnit.SECONDS);
            assertTrue(firstOrderSeconds > 0 && firstOrderSeconds < 30, "order took " + firstOrderSeconds + " s");

            autoCert.renewNow(NAME).get(60, TimeUnit.SECONDS);
            Http.await("the renewal to be counted", Duration.ofSeconds(5), () -> attempts(meters, "issued") == 2.0);
            assertEquals(2, orders(meters, "issued").count());
            assertTrue(meters.get("autocert4j.certificate.expiry").tag("certificate", NAME).gauge().value() > 0);

            // Boot's metrics endpoint shows them too.
            TlsProbe.HttpResult attempts = TlsProbe.httpsGet(app.https(), NAME,
                    "/actuator/metrics/autocert4j.renewal.attempts?tag=certificate:" + NAME + "&tag=outcome:issued", root,
                    Duration.ofSeconds(5));
            assertEquals(200, attempts.status(), attempts.body());
            assertEquals("2.0", Http.json(attempts.body(), "value"), attempts.body());
            TlsProbe.HttpResult gauge = TlsProbe.httpsGet(app.https(), NAME, "/actuator/metrics/autocert4j.certificate.expiry",
                    root, Duration.ofSeconds(5));
            assertEquals(200, gauge.status(), gauge.body());
            assertEquals("seconds", Http.json(gauge.body(), "baseUnit"), gauge.body());
        }

        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, store));
        pebble.close(); // the CA is gone; the stored certificate is still valid
        props.remove("autocert4j.acme-server-trust"); // deleted with Pebble's files
        try (BootApp restarted = BootApp.start(Server.REACTOR_NETTY, props)) {
            MeterRegistry meters = restarted.context.getBean(MeterRegistry.class);
            assertEquals(1.0, loaded(meters), "served from the store at start, without the CA");
            assertEquals(0.0, attempts(meters, "issued"));
            assertTrue(meters.get("autocert4j.certificate.expiry").tag("certificate", NAME).gauge().value() > 0);

            ExecutionException failed = assertThrows(ExecutionException.class,
                    () -> restarted.autoCert().renewNow(NAME).get(60, TimeUnit.SECONDS));
            Http.await("the failure to be counted", Duration.ofSeconds(5), () -> attempts(meters, "failed") == 1.0);
            assertEquals(1, orders(meters, "failed").count(), String.valueOf(failed.getCause()));
            assertEquals(0, orders(meters, "issued").count());
        }
    }

    private static double attempts(MeterRegistry meters, String outcome) {
        return meters.get("autocert4j.renewal.attempts").tag("certificate", NAME).tag("outcome", outcome).functionCounter().count();
    }

    private static double loaded(MeterRegistry meters) {
        return meters.get("autocert4j.certificate.loaded").tag("certificate", NAME).functionCounter().count();
    }

    private static Timer orders(MeterRegistry meters, String outcome) {
        return meters.get("autocert4j.order.duration").tag("certificate", NAME).tag("outcome", outcome).timer();
    }
}
