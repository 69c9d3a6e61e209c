package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.UnverifiedTls;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A Boot replica started while its PostgreSQL does not answer (issue 18): the store is
 * {@code autocert4j.store.type=postgres} on Boot's own HikariCP pool with Boot's defaults (connectionTimeout
 * 30 s), and the database host accepts connections but never answers. Before, start-up blocked about three
 * pool timeouts (92 s measured; no HTTPS for 33 s) and then served the fallback while health said UP. Now
 * the application starts within seconds, HTTPS answers at once with the fallback, health reports the
 * fallback (OUT_OF_SERVICE, serving=fallback), and once PostgreSQL answers the stored certificate is served
 * within seconds, without an order, and health is UP.
 */
@WithPebble
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StoreDownAtStartBootTest {
    private static final String NAME = "storedown.autocert4j.test";

    @Test
    void aReplicaStartsAtOnceWithItsDatabaseSilentAndServesTheStoredCertificateOnceItAnswers(PebbleServer pebble, X509Certificate root)
            throws Exception {
        int dbPort = FreePorts.loopback();
        try (PostgresServer pg = PostgresServer.builder().port(dbPort).start()) {
            Map<String, String> props = new LinkedHashMap<>();
            props.put("autocert4j.domains", NAME);
            props.put("autocert4j.directory", pebble.directoryUri().toString());
            props.put("autocert4j.acme-server-trust", pebble.acmeServerCaPem().toString());
            props.put("autocert4j.agree-terms-of-service", "true");
            props.put("autocert4j.http-port", Integer.toString(pebble.httpPort()));
            props.put("autocert4j.store.type", "postgres");
            props.put("spring.datasource.url", pg.jdbcUrl());
            props.put("spring.datasource.username", pg.user());
            props.put("spring.datasource.password", pg.password());
            BigInteger stored;
            try (BootApp first = BootApp.start(Server.TOMCAT, props)) {
                Http.await("the first certificate", Duration.ofSeconds(60),
                        () -> first.autoCert().status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
                stored = first.autoCert().status(NAME).orElseThrow().serial();
            }
            long issuedBefore = issued(pebble);

            pg.stop();
            ServerSocket silent = new ServerSocket(dbPort, 50, InetAddress.getLoopbackAddress()); // accepts, never answers
            try {
                long t0 = System.nanoTime();
                try (BootApp app = BootApp.start(Server.TOMCAT, props)) {
                    long startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                    // Boot's own start-up takes a few seconds on this machine; the store adds at most the build's 2 s probe
                    assertTrue(startMillis < 20_000, "Boot started in " + startMillis + " ms with its database silent (before: ~92 s)");
                    BigInteger fallback = UnverifiedTls.servedLeaf(app.https(), NAME, 5000).getSerialNumber();
                    assertNotEquals(stored, fallback, "HTTPS answers at once, with the fallback");
                    Http.Response health = Http.httpsTrustingAnything(app.https(), NAME, "/actuator/health/autocert4j");
                    assertEquals(503, health.status(), health.body());
                    assertEquals("OUT_OF_SERVICE", Http.json(health.body(), "status"), health.body());
                    assertEquals("fallback", Http.json(health.body(), "serving"), health.body());

                    silent.close(); // queued connections are reset, as when the host comes back
                    pg.start();
                    long upAt = System.nanoTime();
                    Http.await("the stored certificate after the database answered", Duration.ofSeconds(40), () -> {
                        try {
                            return stored.equals(TlsProbe.handshake(app.https(), NAME, root, Duration.ofSeconds(2)).serial());
                        } catch (IOException notYet) {
                            return false;
                        }
                    });
                    long servedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
                    assertTrue(servedMillis < 15_000, "served " + servedMillis + " ms after the database answered");
                    TlsProbe.HttpResult up = TlsProbe.httpsGet(app.https(), NAME, "/actuator/health/autocert4j", root, Duration.ofSeconds(5));
                    assertEquals(200, up.status(), up.body());
                    assertEquals("UP", Http.json(up.body(), "status"), up.body());
                    Thread.sleep(1000);
                    assertEquals(issuedBefore, issued(pebble), "no order: the outage was not taken for an empty store");
                    System.out.println("StoreDownAtStartBootTest: Boot started in " + startMillis + " ms with the database silent; "
                            + "stored certificate served " + servedMillis + " ms after it answered");
                }
            } finally {
                if (!silent.isClosed()) {
                    silent.close();
                }
            }
        }
    }

    private static long issued(PebbleServer pebble) throws IOException {
        return Files.readAllLines(pebble.logFile(), StandardCharsets.UTF_8).stream().filter(l -> l.contains("Issued certificate serial")).count();
    }
}
