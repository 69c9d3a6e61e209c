package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.LoadBalancer;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A fleet configured by properties only (issue 18): two replicas of one Boot application (two contexts in
 * this JVM, each with its own ports) on the PostgreSQL database of their DataSource
 * ({@code autocert4j.store.type=postgres}, {@code spring.datasource.*}), behind nginx on the port where
 * Pebble's validation authority dials, so each validation reaches either replica. Pebble issues
 * 20-second certificates, renewed at half-life: one order per certificate, both replicas serve each serial,
 * and the metrics count each order once (on the replica that ordered) and each adoption once (on the other).
 */
@WithPebble(profiles = @WithPebble.Profile(name = "short", seconds = 20))
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SpringBootClusterTest {
    private static final String NAME = "cluster.autocert4j.test";

    @Test
    void twoReplicasConfiguredByPropertiesOrderOncePerRenewalAndBothServeEachSerial(PebbleServer pebble, X509Certificate root)
            throws Exception {
        int[] httpPorts = {FreePorts.loopback(), FreePorts.loopback()};
        try (PostgresServer pg = PostgresServer.startNew();
                LoadBalancer lb = LoadBalancer.builder().listenPort(pebble.httpPort()).backends(List.of(httpPorts[0], httpPorts[1]))
                        .failTimeout(Duration.ofSeconds(2)).start()) {
            long issuedBefore = issued(pebble);
            List<BootApp> replicas = new ArrayList<>();
            try {
                for (int k = 0; k < 2; k++) {
                    Map<String, String> props = new LinkedHashMap<>();
                    props.put("autocert4j.domains", NAME);
                    props.put("autocert4j.directory", pebble.directoryUri().toString());
                    props.put("autocert4j.acme-server-trust", pebble.acmeServerCaPem().toString());
                    props.put("autocert4j.agree-terms-of-service", "true");
                    props.put("autocert4j.http-port", Integer.toString(httpPorts[k]));
                    props.put("autocert4j.profile", "short");
                    props.put("autocert4j.renewal.use-ari", "false"); // the lifetime rule: renew at half-life, 10 s in
                    props.put("autocert4j.store.type", "postgres");
                    props.put("autocert4j.store.postgres.table-prefix", "bootcluster_");
                    props.put("autocert4j.store.postgres.lease", "10s");
                    props.put("spring.datasource.url", pg.jdbcUrl());
                    props.put("spring.datasource.username", pg.user());
                    props.put("spring.datasource.password", pg.password());
                    props.put("management.metrics.use-global-registry", "false"); // two contexts in one JVM
                    replicas.add(BootApp.start(Server.TOMCAT, props));
                }
                // Every serial the fleet obtains, in order, until two certificates (the first and one renewal) were served by both.
                Set<BigInteger> servedByBoth = new LinkedHashSet<>();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                while (servedByBoth.size() < 2 && System.nanoTime() < deadline) {
                    BigInteger a = served(replicas.get(0), root);
                    BigInteger b = served(replicas.get(1), root);
                    if (a != null && a.equals(b)) {
                        servedByBoth.add(a);
                    }
                    Thread.sleep(100);
                }
                String state = "replica 1: " + replicas.get(0).autoCert().status(NAME) + ", replica 2: " + replicas.get(1).autoCert().status(NAME);
                assertEquals(2, servedByBoth.size(), "both replicas served the first certificate and its renewal: " + servedByBoth + "; " + state);
                // Pebble's own count at the moment both serve the renewal (a third order may start later: that is the next renewal)
                long orders = issued(pebble) - issuedBefore;
                assertTrue(orders >= 2 && orders <= 3, "one order per certificate, not one per replica: " + orders + " for " + servedByBoth);

                // Metrics: each order counted once, on the replica that ordered; each adoption once, on the other replica.
                List<MeterRegistry> meters = replicas.stream().map(r -> r.context.getBean(MeterRegistry.class)).toList();
                Http.await("the counters to settle", Duration.ofSeconds(5), () -> {
                    try {
                        return sum(meters, "autocert4j.renewal.attempts", "outcome", "issued") == issued(pebble) - issuedBefore;
                    } catch (IOException e) {
                        return false;
                    }
                });
                long fleetOrders = issued(pebble) - issuedBefore;
                assertEquals(fleetOrders, sum(meters, "autocert4j.renewal.attempts", "outcome", "issued"),
                        "orders counted once across the fleet");
                for (int k = 0; k < 2; k++) {
                    double issuedHere = counter(meters.get(k), "autocert4j.renewal.attempts", "outcome", "issued");
                    double loadedHere = counter(meters.get(k), "autocert4j.certificate.loaded", null, null);
                    double otherIssued = counter(meters.get(1 - k), "autocert4j.renewal.attempts", "outcome", "issued");
                    // what the other replica ordered reached this one by adoption (the latest possibly still on its way)
                    assertTrue(loadedHere <= otherIssued && loadedHere >= otherIssued - 1,
                            "replica " + (k + 1) + " adopted what replica " + (2 - k) + " ordered: loaded " + loadedHere + ", ordered there "
                                    + otherIssued + ", ordered here " + issuedHere);
                }
                assertEquals(0.0, sum(meters, "autocert4j.renewal.attempts", "outcome", "failed"), "no failed order: " + state);
                // The CA's validations went through nginx to either replica
                long validations = lb.requests().stream().filter(r -> r.path().startsWith("/.well-known/acme-challenge/")
                        && r.status() == 200).count();
                assertTrue(validations >= 2, "validations through the load balancer: " + lb.requests());
                for (BootApp r : replicas) {
                    assertEquals(CertificateStatus.State.VALID, r.autoCert().status(NAME).orElseThrow().state());
                }
            } finally {
                for (BootApp r : replicas) {
                    r.close();
                }
            }
        }
    }

    private static BigInteger served(BootApp app, X509Certificate root) {
        try {
            return TlsProbe.handshake(app.https(), NAME, root, Duration.ofSeconds(2)).serial();
        } catch (IOException fallbackOrNotYet) {
            return null;
        }
    }

    private static long issued(PebbleServer pebble) throws IOException {
        return Files.readAllLines(pebble.logFile(), StandardCharsets.UTF_8).stream().filter(l -> l.contains("Issued certificate serial")).count();
    }

    private static double counter(MeterRegistry meters, String name, String tag, String value) {
        var search = meters.find(name).tag("certificate", NAME);
        if (tag != null) {
            search = search.tag(tag, value);
        }
        return search.functionCounters().stream().mapToDouble(c -> c.count()).sum();
    }

    private static double sum(List<MeterRegistry> meters, String name, String tag, String value) {
        return meters.stream().mapToDouble(m -> counter(m, name, tag, value)).sum();
    }
}
