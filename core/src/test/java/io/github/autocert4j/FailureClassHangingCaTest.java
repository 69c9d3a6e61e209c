package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import io.github.autocert4j.internal.util.DaemonThreads;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A first CA that accepts connections and never answers (a loopback socket that accepts and stays
 * silent) costs one httpTimeout, not one per issuance: after it timed out it is asked only after
 * the other CAs (Pebble, second in the list) for a minute, doubling each time it stays silent, and
 * first again afterwards. The same for a CA that answers HTTP 5xx without Retry-After twice in a
 * row. Time jumps with the manager's clock; elapsed times are real.
 */
@WithPebble
class FailureClassHangingCaTest {
    static final String FIRST = "hang-one.autocert4j.test";
    static final String SECOND = "hang-two.autocert4j.test";
    /**
     * Short enough for a quick test, long enough that Pebble's own issuance (about 0.5 s here, on a
     * loaded 2-core machine rarely over 2 s) stays well below it: an issuance that took less than
     * this paid no timeout.
     */
    static final Duration HTTP_TIMEOUT = Duration.ofSeconds(5);

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();
    @TempDir
    static Path work;
    @TempDir
    Path store;

    HangingServer hanging;

    @BeforeEach
    void hang() throws IOException {
        hanging = new HangingServer();
    }

    @AfterEach
    void close() {
        hanging.close();
    }

    /** Accepts every connection and never sends a byte; counts them. */
    static final class HangingServer implements AutoCloseable {
        final ServerSocket socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        final AtomicInteger accepted = new AtomicInteger();
        final List<Socket> held = new CopyOnWriteArrayList<>();
        final Thread acceptor;

        HangingServer() throws IOException {
            acceptor = DaemonThreads.named("hanging-ca").newThread(() -> {
                while (!socket.isClosed()) {
                    try {
                        held.add(socket.accept());
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        return; // closed
                    }
                }
            });
            acceptor.start();
        }

        URI directory() {
            return URI.create("https://127.0.0.1:" + socket.getLocalPort() + "/dir");
        }

        @Override
        public void close() {
            try {
                socket.close();
            } catch (IOException ignored) {
                // closing anyway
            }
            for (Socket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            }
        }
    }

    static Duration timed(CompletableFuture<CertificateStatus> f, String pebbleId) throws Exception {
        long t0 = System.nanoTime();
        CertificateStatus s = f.get(60, TimeUnit.SECONDS);
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        assertEquals(pebbleId, s.issuerId(), "issued by Pebble: " + s);
        return took;
    }

    @Test
    void aCaThatNeverAnswersCostsOneTimeoutPerRestNotOnePerIssuance() throws Exception {
        FailoverPebbleTest.OffsetClock clock = new FailoverPebbleTest.OffsetClock();
        String pebbleId = StoreLayout.caId(CA.pebble().directoryUri());
        try (AutoCert a = PebbleAutoCerts.builderFor(hanging.directory(), CA.pebble().acmeServerCaPem())
                .acmeCa(AcmeCa.of(CA.pebble().directoryUri()).withServerTrust(CA.pebble().acmeServerCaPem()))
                .certificate(FIRST).storageDirectory(store).clock(clock)
                .renewal(RenewalPolicy.defaults().withHttpTimeout(HTTP_TIMEOUT)).build()) {
            CA.answering(a);
            CompletableFuture<CertificateStatus> live = a.managed(FIRST).whenLive();
            long t0 = System.nanoTime();
            a.start();
            live.get(60, TimeUnit.SECONDS);
            Duration first = Duration.ofNanos(System.nanoTime() - t0);
            assertEquals(pebbleId, a.status(FIRST).orElseThrow().issuerId());
            assertEquals(1, hanging.accepted.get(), "the silent CA was asked once");
            assertTrue(first.compareTo(HTTP_TIMEOUT) >= 0, "the first issuance paid the one timeout: " + first);
            assertTrue(first.compareTo(HTTP_TIMEOUT.multipliedBy(2)) < 0, "and only one: " + first);

            // Within its rest (1 min): a new certificate and a renewal go to Pebble at once.
            Duration second = timed(a.addCertificate(SECOND), pebbleId);
            Duration renewal = timed(a.renewNow(FIRST), pebbleId);
            assertEquals(1, hanging.accepted.get(), "not asked while resting");
            assertTrue(second.compareTo(HTTP_TIMEOUT) < 0, "the second certificate paid no timeout: " + second);
            assertTrue(renewal.compareTo(HTTP_TIMEOUT) < 0, "the renewal paid no timeout: " + renewal);

            // After the rest it is asked first again; still silent, it rests twice as long (2 min).
            clock.offset = Duration.ofSeconds(61);
            Duration again = timed(a.renewNow(FIRST), pebbleId);
            assertEquals(2, hanging.accepted.get(), "asked again after its rest");
            assertTrue(again.compareTo(HTTP_TIMEOUT) >= 0, "paid one timeout again: " + again);
            clock.offset = clock.offset.plusSeconds(90);
            timed(a.renewNow(SECOND), pebbleId);
            assertEquals(2, hanging.accepted.get(), "90 s later it is still resting (2 min)");
            clock.offset = clock.offset.plusSeconds(31);
            timed(a.renewNow(SECOND), pebbleId);
            assertEquals(3, hanging.accepted.get(), "asked again after 2 min");
        }
    }

    @Test
    void aCaAnsweringServerErrorsWithoutRetryAfterRestsAfterTwoAttempts(@TempDir Path proxyWork) throws Exception {
        FailoverPebbleTest.OffsetClock clock = new FailoverPebbleTest.OffsetClock();
        String pebbleId = StoreLayout.caId(CA.pebble().directoryUri());
        try (FaultProxy first = new FaultProxy(CA.pebble(), proxyWork);
             AutoCert a = PebbleAutoCerts.builderFor(first.directoryUri(), first.caPem())
                     .acmeCa(AcmeCa.of(CA.pebble().directoryUri()).withServerTrust(CA.pebble().acmeServerCaPem()))
                     .certificate(FIRST).storageDirectory(store).clock(clock).build()) {
            first.rule((req, fwd) -> first.is("newOrder").test(req) ? FaultProxy.Resp.of(502, "text/html", "<h1>Bad Gateway</h1>") : fwd.call());
            CA.answering(a);
            CompletableFuture<CertificateStatus> live = a.managed(FIRST).whenLive();
            a.start();
            live.get(60, TimeUnit.SECONDS);
            assertEquals(pebbleId, a.status(FIRST).orElseThrow().issuerId());
            timed(a.renewNow(FIRST), pebbleId);
            assertEquals(2, first.count("POST", "newOrder"), "asked in two attempts, failed over each time");
            timed(a.renewNow(FIRST), pebbleId);
            assertEquals(2, first.count("POST", "newOrder"), "after two 5xx without Retry-After it is asked last (not at all: Pebble issued)");
            clock.offset = Duration.ofSeconds(61);
            first.rule(null);
            CertificateStatus s = a.renewNow(FIRST).get(60, TimeUnit.SECONDS);
            assertEquals(StoreLayout.caId(first.directoryUri()), s.issuerId(), "first in line again after its rest, and it issues");
            assertEquals(3, first.count("POST", "newOrder"));
        }
    }
}
