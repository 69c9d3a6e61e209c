package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The event loop is never blocked by an on-demand handshake: Vert.x with ONE event loop serving
 * both the plain and the HTTPS server; a new name's handshake waits for its order, whose
 * validation the plain server answers only after 3 s; meanwhile requests on a kept-alive HTTPS
 * connection for another name are answered within 1 s each (about 1 ms when idle), and fresh handshakes complete
 * far below the 3 s a blocked loop would cost.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@WithPebble
class VertxEventLoopTest {
    static final Duration T = Duration.ofSeconds(60);
    /**
     * A request on an idle loopback connection takes about 1 ms; a blocked event loop would take the 3 s validation delay.
     * The bound sits between the two with room for what one JVM doing TLS handshakes, key generation and an order on a
     * loaded 2-core machine can pause a single request for (a GC or a descheduled thread: 100 ms was within reach).
     */
    static final long BOUND_MILLIS = 1000;
    /** Far below the 3 s a blocked event loop would cost a new connection's handshake. */
    static final long HANDSHAKE_BOUND_MILLIS = 1500;

    /** This class's own Pebble (from its {@code @WithPebble}), set before each test. */
    PebbleServer pebble;

    @TempDir
    Path store;
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
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
    void requestsOnTheSingleEventLoopAreAnsweredWhileAnOnDemandOrderIsInFlight() throws Exception {
        String fast = "fast.autocert4j.test";
        String slow = "slow" + VertxOnDemandTest.ZONE;
        AutoCert a = VertxOnDemandTest.onDemand(pebble, store, events, open, fast);
        VertxHost host = new VertxHost(a, pebble.httpPort(), 1, false, Duration.ofSeconds(3), "slow");
        open.add(host);
        a.start(); // once the host listens: a validation refused before would cost the first backoff step (1 min)
        VertxPebbleTest.awaitIssued(a, fast, pebble);
        try (KeepAliveClient kept = new KeepAliveClient(host.httpsAddress(), fast, pebble.issuanceRoot(), T)) {
            assertEquals("tls " + fast + " /warm", kept.get("/warm"));
            CompletableFuture<X509Certificate> slowHandshake = CompletableFuture.supplyAsync(() -> {
                try {
                    return TlsProbe.handshake(host.httpsAddress(), slow, pebble.issuanceRoot(), T).leaf();
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            long waitStart = System.nanoTime();
            while (host.slowChallengesSeen.get() == 0 && System.nanoTime() - waitStart < T.toNanos()) {
                Thread.sleep(5); // until Pebble's validation request for the slow name is being held
            }
            assertTrue(host.slowChallengesSeen.get() > 0, "the slow name's order reached its validation");
            long worst = 0;
            long worstHandshake = 0;
            int requests = 0;
            while (!slowHandshake.isDone() && requests < 200) {
                long t0 = System.nanoTime();
                assertEquals("tls " + fast + " /r" + requests, kept.get("/r" + requests));
                worst = Math.max(worst, (System.nanoTime() - t0) / 1_000_000);
                if (requests % 10 == 0) {
                    long h0 = System.nanoTime();
                    TlsProbe.handshake(host.httpsAddress(), fast, pebble.issuanceRoot(), T); // a new connection too
                    worstHandshake = Math.max(worstHandshake, (System.nanoTime() - h0) / 1_000_000);
                }
                requests++;
                Thread.sleep(10);
            }
            assertTrue(requests >= 20, "the slow handshake was still waiting for at least 20 requests: " + requests);
            assertTrue(worst < BOUND_MILLIS, "every kept-alive request answered within " + BOUND_MILLIS
                    + " ms while the order was in flight, worst " + worst + " ms over " + requests);
            // A fresh handshake includes the client's own key exchange and certificate-path check
            // (a new client context each time), tens to hundreds of ms on a busy 2-core machine;
            // a blocked event loop would hold it for the 3 s validation delay.
            assertTrue(worstHandshake < HANDSHAKE_BOUND_MILLIS, "every new connection's handshake done within "
                    + HANDSHAKE_BOUND_MILLIS + " ms, worst " + worstHandshake + " ms");
            X509Certificate leaf = slowHandshake.get(T.toSeconds(), TimeUnit.SECONDS);
            assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> slow.equals(s.get(1))));
            assertFalse(events.stream().noneMatch(e -> e instanceof CertEvent.Issued), "issued");
        }
    }
}
