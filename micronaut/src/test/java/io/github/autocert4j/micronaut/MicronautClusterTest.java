package io.github.autocert4j.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two Micronaut applications (two ApplicationContexts, each its own Netty server and ports) with
 * one PostgreSQL database as their {@code DataSource} (micronaut-jdbc-hikari): autocert4j picks
 * the PostgreSQL store by itself. Pebble's HTTP-01 validation reaches only node A's plain port (as
 * a load balancer would send it to either node); node B's orders are validated through A, which
 * answers B's token from the shared store. One order per issuance and per renewal, whichever node
 * orders; both nodes serve each serial, verified against Pebble's root — what Micronaut's own
 * ACME module, one node and one certificate, cannot do.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@WithPebble
class MicronautClusterTest {
    static final Duration T = Duration.ofSeconds(60);
    static final String NAME = "cluster.micronaut.autocert4j.test";

    static PebbleServer pebble;

    final List<AutoCloseable> open = new CopyOnWriteArrayList<>();
    final List<Tagged> events = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    MicronautHost node(PostgresServer pg, int plainPort, String id) {
        Map<String, Object> p = new HashMap<>();
        p.put("autocert4j.names", List.of(NAME));
        p.put("autocert4j.directory", pebble.directoryUri().toString());
        p.put("autocert4j.trust", pebble.acmeServerCaPem().toString());
        p.put("autocert4j.agree-to-terms-of-service", true);
        // One profile for every order: Pebble otherwise picks one per order, and a node does not adopt a peer's
        // renewal that expires before its live certificate (a 6-day "shortlived" after a 90-day "default").
        p.put("autocert4j.profile", "default");
        p.put("datasources.default.url", pg.jdbcUrl());
        p.put("datasources.default.username", pg.user());
        p.put("datasources.default.password", pg.password());
        p.put("datasources.default.driver-class-name", "org.postgresql.Driver");
        p.put("datasources.default.maximum-pool-size", 4);
        CertEventListener listener = e -> events.add(new Tagged(id, e));
        MicronautHost host = MicronautHost.start(plainPort, p, listener);
        open.add(host);
        return host;
    }

    /** An event and the node it happened on. */
    record Tagged(String node, CertEvent event) {
    }

    long issued() {
        return events.stream().filter(e -> e.event() instanceof CertEvent.Issued).count();
    }

    BigInteger awaitServed(MicronautHost host, BigInteger serial) throws Exception {
        long deadline = System.nanoTime() + T.toNanos();
        BigInteger last = null;
        while (System.nanoTime() < deadline) {
            last = TlsProbe.handshake(host.httpsAddress(), NAME, pebble.issuanceRoot(), T).serial();
            if (last.equals(serial)) {
                return last;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("node on " + host.httpsPort + " still serves " + last + ", not " + serial + "; its status: "
                + host.autoCert().status(NAME) + "; events: " + events);
    }

    static CertificateStatus awaitSerial(AutoCert a, BigInteger not) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = a.status(NAME).orElseThrow();
            if (s.serial() != null && !s.serial().equals(not)) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no new certificate for " + NAME + " within " + T + ": " + a.status(NAME) + "\n" + pebble.logTail(30));
    }

    @Test
    void twoNodesSharingPostgresOrderOncePerRenewalAndBothServeEachSerial() throws Exception {
        PostgresServer pg = PostgresServer.startNew();
        open.add(pg);
        MicronautHost a = node(pg, pebble.httpPort(), "A"); // the CA's validations arrive here
        MicronautHost b = node(pg, FreePorts.loopback(), "B"); // never reached by the CA
        assertInstanceOf(PostgresCertStore.class, a.context.getBean(CertStore.class), "the app's DataSource made the store PostgreSQL");

        BigInteger first = awaitSerial(a.autoCert(), null).serial();
        assertEquals(first, awaitSerial(b.autoCert(), null).serial(), "B has the certificate A's cluster obtained");
        assertEquals(1, issued(), "one order for two nodes: " + events);
        assertEquals(first, TlsProbe.handshake(a.httpsAddress(), NAME, pebble.issuanceRoot(), T).serial());
        assertEquals(first, TlsProbe.handshake(b.httpsAddress(), NAME, pebble.issuanceRoot(), T).serial());

        // Renewal ordered by B, whose plain port the CA cannot reach: A answers B's token from the store.
        CertificateStatus renewed = b.autoCert().renewNow(NAME).get(T.toSeconds(), TimeUnit.SECONDS);
        assertNotEquals(first, renewed.serial());
        assertEquals(2, issued(), "one order for the renewal: " + events);
        assertTrue(events.stream().anyMatch(e -> e.node().equals("B") && e.event() instanceof CertEvent.Issued i
                && i.renewal() && i.serial().equals(renewed.serial())), "B ordered the renewal: " + events);
        assertEquals(0, b.autoCert().http01().answeredCount(), "the CA never reached B's plain port");
        assertTrue(a.autoCert().http01().answeredCount() >= 1, "A answered the validations, B's token included");
        assertEquals(renewed.serial(), awaitServed(b, renewed.serial()));
        assertEquals(renewed.serial(), awaitServed(a, renewed.serial()), "A picked the renewal up from the store, no restart");
        assertEquals(renewed.serial(), TlsProbe.handshake(a.httpsAddress(), NAME, pebble.issuanceRoot(), T).serial(), "verified chain");
        assertEquals(2, issued(), "still two orders: " + events);
    }
}
