package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lazy loading with on-demand TLS (review of issue 23): a configured name whose certificate is not loaded yet is
 * never handled as an unknown on-demand name. {@code certificateReady} completes within {@code handshakeWait} even
 * when the store is slow (an event-loop server would otherwise refuse the handshake), and only says "proceed" for
 * it (its certificate, or the self-signed fallback) — it never asks the on-demand decision, and a JSSE handshake for
 * a name a configured wildcard covers gets the fallback while the store fails, never an on-demand order.
 */
@Timeout(60)
class LazyOnDemandReadyTest {
    @TempDir
    Path dir;

    @Test
    void aSlowLoadDoesNotHoldCertificateReadyPastTheHandshakeWait() throws Exception {
        List<String> names = List.of("s0.lazy.test", "s1.lazy.test");
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        CountDownLatch slow = new CountDownLatch(1);
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem")) {
                    LazyLoadLockTest.await(slow); // every bundle read waits (a store answering slowly)
                }
                return super.load(key);
            }
        };
        AtomicInteger asked = new AtomicInteger();
        OnDemand onDemand = OnDemand.allow(n -> {
            asked.incrementAndGet();
            return CompletableFuture.completedFuture(true);
        }).handshakeWait(Duration.ofSeconds(1)).build();
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).lazyLoadAbove(0).onDemand(onDemand);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            long t0 = System.nanoTime();
            Boolean ready = a.certificateReady(names.get(0)).get(5, TimeUnit.SECONDS);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(millis < 1_000, "completed within handshakeWait (1 s), so the handshake is not refused: " + millis + " ms");
            assertEquals(Boolean.TRUE, ready, "a configured name proceeds (with the fallback until it is loaded)");
            assertEquals(0, asked.get(), "never an on-demand decision for a configured name");
            slow.countDown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.status(names.get(0)).orElseThrow().state() != CertificateStatus.State.VALID && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(CertificateStatus.State.VALID, a.status(names.get(0)).orElseThrow().state(), "loaded once the store answers");
            assertEquals(names.size(), issuer.issueCalls(), "loaded, not ordered");
        } finally {
            slow.countDown();
        }
    }

    @Test
    void aNameAConfiguredWildcardCoversIsNeverAnOnDemandNameWhileItsLoadFails() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", java.time.Clock.systemUTC());
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/")) {
                    throw new IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.load(key);
            }
        };
        AtomicInteger asked = new AtomicInteger();
        OnDemand onDemand = OnDemand.allow(n -> {
            asked.incrementAndGet();
            return CompletableFuture.completedFuture(true);
        }).handshakeWait(Duration.ofSeconds(2)).build();
        try (AutoCert a = AutoCert.builder().issuer(issuer).store(store).certificate("w.lazy.test", "*.wild.lazy.test")
                .challengeSolver(CertificateReadyTest.DNS).lazyLoadAbove(0).onDemand(onDemand).build().start();
             ThreadedTlsServer server = new ThreadedTlsServer(a.sslContext())) {
            X509Certificate leaf = LazyLoadLockTest.leaf(server.address(), "foo.wild.lazy.test");
            assertEquals(leaf.getSubjectX500Principal(), leaf.getIssuerX500Principal(), "the self-signed fallback: " + leaf);
            assertEquals(Boolean.TRUE, a.certificateReady("bar.wild.lazy.test").get(5, TimeUnit.SECONDS));
            Thread.sleep(300);
            assertEquals(0, asked.get(), "no on-demand decision for a name the configured wildcard covers");
            assertEquals(0, issuer.issueCalls(), "nothing ordered: not on demand, and the configured certificate's read failed");
        }
    }
}
