package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

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
 * Renewal under load on a Vert.x 5 HTTPS server: two client loops (one on a kept-alive
 * connection, one opening a new verified connection per request) run through two renewals
 * ({@code renewNow}, each a real Pebble order); not one request fails, the kept-alive connection
 * keeps its session, and new connections see each new serial, with no {@code updateSSLOptions}.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@WithPebble
class VertxRenewalUnderLoadTest {
    static final Duration T = Duration.ofSeconds(60);
    static final String NAME = "renew.autocert4j.test";
    /** Bounds of each client loop: requests and wall time. */
    static final int MAX_REQUESTS = 20_000;

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

    @Test
    void twoRenewalsUnderLoadFailNoRequestAndNewConnectionsSeeEachNewSerial() throws Exception {
        AutoCert a = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).certificate(NAME).build();
        open.add(a);
        VertxHost host = new VertxHost(a, pebble.httpPort(), 2, false, null, null);
        open.add(host);
        a.start();
        BigInteger first = VertxPebbleTest.awaitIssued(a, NAME, pebble).serial();

        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger keptOk = new AtomicInteger();
        AtomicInteger newOk = new AtomicInteger();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        Set<BigInteger> seenOnNewConnections = ConcurrentHashMap.newKeySet();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        KeepAliveClient kept = new KeepAliveClient(host.httpsAddress(), NAME, pebble.issuanceRoot(), T);
        open.add(kept);
        BigInteger keptSerial = kept.serial();
        Thread keptLoop = new Thread(() -> {
            for (int i = 0; i < MAX_REQUESTS && !stop.get() && System.nanoTime() < deadline; i++) {
                try {
                    assertEquals("tls " + NAME + " /k" + i, kept.get("/k" + i));
                    keptOk.incrementAndGet();
                } catch (Throwable e) {
                    failures.add(e);
                    return;
                }
            }
        }, "kept-alive-client");
        Thread newLoop = new Thread(() -> {
            for (int i = 0; i < MAX_REQUESTS && !stop.get() && System.nanoTime() < deadline; i++) {
                try {
                    TlsProbe.HttpResult r = TlsProbe.httpsGet(host.httpsAddress(), NAME, "/n" + i, pebble.issuanceRoot(), T);
                    assertEquals(200, r.status());
                    assertEquals("tls " + NAME + " /n" + i, r.body());
                    seenOnNewConnections.add(r.serial());
                    newOk.incrementAndGet();
                } catch (Throwable e) {
                    failures.add(e);
                }
            }
        }, "new-connection-client");
        keptLoop.start();
        newLoop.start();
        List<BigInteger> serials = new ArrayList<>(List.of(first));
        try {
            for (int renewal = 0; renewal < 2; renewal++) {
                Thread.sleep(300); // load before each renewal
                CertificateStatus renewed = a.renewNow(NAME).get(T.toSeconds(), TimeUnit.SECONDS);
                assertNotEquals(serials.get(serials.size() - 1), renewed.serial(), "a new certificate");
                serials.add(renewed.serial());
                BigInteger live = renewed.serial();
                long until = System.nanoTime() + T.toNanos();
                while (!seenOnNewConnections.contains(live) && System.nanoTime() < until && failures.isEmpty()) {
                    Thread.sleep(10);
                }
                assertTrue(seenOnNewConnections.contains(live), "new connections get the renewed serial " + live);
            }
            Thread.sleep(300); // load after the last renewal
        } finally {
            stop.set(true);
            keptLoop.join(T.toMillis());
            newLoop.join(T.toMillis());
        }
        assertTrue(failures.isEmpty(), "failed requests: " + failures.size() + ", first: " + (failures.isEmpty() ? "" : failures.get(0)));
        assertEquals(3, Set.copyOf(serials).size(), "the first certificate and two renewals");
        assertTrue(seenOnNewConnections.containsAll(serials), "every generation was served to new connections: " + seenOnNewConnections);
        assertEquals(keptSerial, kept.serial(), "the kept-alive connection keeps its session");
        assertTrue(keptOk.get() >= 50 && newOk.get() >= 10, "load really ran: kept-alive " + keptOk + ", new connections " + newOk);
        assertEquals("tls " + NAME + " /after", kept.get("/after"), "the kept-alive connection still serves");
        System.out.println("renewals under load: kept-alive requests " + keptOk + ", new-connection requests " + newOk + ", serials " + serials);
    }
}
