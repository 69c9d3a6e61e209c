package io.github.autocert4j;

import io.github.autocert4j.internal.ondemand.OnDemandIndex;
import io.github.autocert4j.internal.store.MemoryCertStore;
import io.github.autocert4j.internal.tls.LiveKeyManager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.TrustManagerFactory;
import java.security.KeyStore;
import java.security.cert.X509Certificate;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-demand TLS in the core, with a fake issuer: the decision function (deny by default, cached
 * both ways), name validation, the abuse limits, one order for concurrent requests, lazy loading
 * from the store after a restart, least-recently-used eviction, and real JSSE handshakes through
 * the key manager (allowed name served, denied name refused with an alert).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class OnDemandCertificatesTest {
    static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    final FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
    final List<String> asked = new CopyOnWriteArrayList<>();
    final List<AutoCert> opened = new ArrayList<>();

    @AfterEach
    void close() {
        opened.forEach(AutoCert::close);
    }

    OnDemand.Builder allowing(Predicate<String> allowed) {
        return OnDemand.allow(name -> {
            asked.add(name);
            return CompletableFuture.completedFuture(allowed.test(name));
        }).handshakeWait(T);
    }

    AutoCert start(OnDemand onDemand) {
        AutoCert a = AutoCert.builder().issuer(issuer).onDemand(onDemand).storageDirectory(dir).build();
        opened.add(a);
        return a.start();
    }

    static boolean ready(AutoCert a, String name) throws Exception {
        return a.certificateReady(name).get(T.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void anAllowedNameIsObtainedOnceForManyConcurrentHandshakes() throws Exception {
        AutoCert a = start(allowing(n -> true).build());
        List<CompletableFuture<Boolean>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(a.certificateReady("Shop.Example.Test"));
        }
        for (CompletableFuture<Boolean> f : all) {
            assertTrue(f.get(T.toSeconds(), TimeUnit.SECONDS));
        }
        assertEquals(1, issuer.issueCalls(), "one order for twenty handshakes");
        assertEquals(List.of("shop.example.test"), issuer.requests.get(0).names(), "normalized");
        assertEquals("shop.example.test", a.status("shop.example.test").orElseThrow().certificate());
        assertEquals(a.status("shop.example.test").orElseThrow().serial(),
                a.servedCertificate("shop.example.test").chain().get(0).getSerialNumber());
    }

    @Test
    void aDeniedNameIsNeverOrderedAndTheDecisionIsCached() throws Exception {
        AutoCert a = start(allowing(n -> false).build());
        for (int i = 0; i < 5; i++) {
            assertFalse(ready(a, "nope.example.test"));
        }
        assertEquals(0, issuer.issueCalls());
        assertEquals(1, asked.size(), "asked once, then cached: " + asked);
    }

    @Test
    void namesThatCannotBeCertifiedNeverReachTheDecisionFunction() throws Exception {
        AutoCert a = start(allowing(n -> true).build());
        for (String bad : List.of("*.example.test", "localhost", "192.0.2.1", "a..example.test", "under_score.example.test",
                "x".repeat(64) + ".example.test")) {
            assertFalse(ready(a, bad), bad);
        }
        assertTrue(asked.isEmpty(), "never asked: " + asked);
        assertEquals(0, issuer.issueCalls());
    }

    @Test
    void aFailingOrSlowDecisionFunctionMeansNo() throws Exception {
        AutoCert a = start(OnDemand.allow(name -> name.startsWith("boom")
                ? CompletableFuture.failedFuture(new IllegalStateException("db down"))
                : new CompletableFuture<>()).handshakeWait(Duration.ofMillis(300)).build());
        assertFalse(ready(a, "boom.example.test"));
        assertFalse(ready(a, "slow.example.test"));
        assertEquals(0, issuer.issueCalls());
    }

    @Test
    void theGlobalBurstBoundsAFloodOfAllowedNames() throws Exception {
        AutoCert a = start(allowing(n -> true).orderRate(1, 3).build());
        int yes = 0;
        for (int i = 0; i < 30; i++) {
            yes += ready(a, "random" + i + ".example.test") ? 1 : 0;
        }
        assertEquals(3, yes);
        assertEquals(3, issuer.issueCalls(), "the burst, then nothing until the hourly rate refills");
    }

    @Test
    void concurrentOrdersAreCapped() throws Exception {
        AtomicInteger inside = new AtomicInteger();
        AtomicInteger max = new AtomicInteger();
        for (int i = 0; i < 12; i++) {
            issuer.then((is, r) -> {
                max.accumulateAndGet(inside.incrementAndGet(), Math::max);
                Thread.sleep(50);
                inside.decrementAndGet();
                return is.valid(r);
            });
        }
        AutoCert a = start(allowing(n -> true).maxConcurrentOrders(3).build());
        List<CompletableFuture<Boolean>> all = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            all.add(a.certificateReady("c" + i + ".example.test"));
        }
        for (CompletableFuture<Boolean> f : all) {
            assertTrue(f.get(T.toSeconds(), TimeUnit.SECONDS));
        }
        assertEquals(12, issuer.issueCalls());
        assertTrue(max.get() <= 3 && max.get() >= 2, "at most three orders at once: " + max.get());
    }

    @Test
    void aNameWhoseOrderFailedBacksOff() throws Exception {
        issuer.failNext(IssuanceException.transientFailure("CA down", null));
        AutoCert a = start(allowing(n -> true).failedNameBackoff(Duration.ofMinutes(5), Duration.ofHours(1)).build());
        assertFalse(ready(a, "flaky.example.test"));
        assertFalse(ready(a, "flaky.example.test"));
        assertEquals(1, issuer.issueCalls(), "no second order inside the backoff");
        assertTrue(a.status("flaky.example.test").isEmpty(), "a failed name is not kept retrying in the background");
        assertTrue(ready(a, "other.example.test"), "other names are not affected");
    }

    @Test
    void afterARestartStoredCertificatesAreLoadedLazilyWithoutOrders() throws Exception {
        AutoCert first = start(allowing(n -> true).build());
        for (int i = 0; i < 5; i++) {
            assertTrue(ready(first, "s" + i + ".example.test"));
        }
        first.close();
        assertEquals(5, issuer.issueCalls());

        AutoCert second = start(allowing(n -> true).build());
        assertTrue(second.status().isEmpty(), "nothing loaded at start-up");
        assertTrue(ready(second, "s3.example.test"));
        assertEquals(5, issuer.issueCalls(), "served from the store");
        assertEquals(1, second.status().size(), "exactly the one that was asked for");
    }

    @Test
    void theLeastRecentlyUsedAreDroppedAndComeBackFromTheStore() throws Exception {
        AutoCert a = start(allowing(n -> true).maxCertificatesInMemory(4).build());
        for (int i = 0; i < 10; i++) {
            assertTrue(ready(a, "l" + i + ".example.test"));
        }
        assertTrue(a.status().size() <= 4, "bounded: " + a.status().size());
        assertEquals(10, issuer.issueCalls());
        assertTrue(ready(a, "l0.example.test"), "an evicted one comes back");
        assertEquals(10, issuer.issueCalls(), "from the store, not by an order");
    }

    @Test
    void evictingWhileHandshakesTouchTheCacheNeverRefusesALoad() throws Exception {
        // Eviction sorts the cache by last use while handshakes keep updating it: the sort must see
        // one consistent value per name, or it throws ("Comparison method violates its general
        // contract") and the name whose load triggered the eviction is refused. Found by the
        // on-demand benchmark (random SNI names over 10,000 cached certificates).
        AutoCert a = AutoCert.builder().issuer(issuer).store(new MemoryCertStore())
                .onDemand(allowing(n -> true).orderRate(100_000, 100_000).maxOrdersPerRegistrableDomain(100_000).maxCertificatesInMemory(500).build()).build();
        opened.add(a);
        a.start();
        LiveKeyManager km = (LiveKeyManager) a.keyManager();
        List<String> names = new CopyOnWriteArrayList<>();
        for (int i = 0; i < 500; i++) {
            names.add("t" + i + ".example.test");
        }
        assertEquals(0, loadAll(a, names), "refused while filling the cache");
        // What a handshake does to the certificate it chose (LiveKeyManager.chooseAlias), as often as many of them would.
        java.util.concurrent.atomic.AtomicBoolean touching = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread toucher = new Thread(() -> {
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            while (touching.get()) {
                LiveKeyManager.Entry e = km.find(names.get(r.nextInt(names.size())));
                if (e != null) {
                    e.lastUsedNanos = System.nanoTime();
                }
            }
        });
        toucher.start();
        int refused = 0;
        try {
            for (int batch = 0; batch < 100; batch++) {
                List<String> more = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    more.add("u" + batch + "-" + i + ".example.test");
                }
                refused += loadAll(a, more);
                names.addAll(more);
            }
        } finally {
            touching.set(false);
            toucher.join();
        }
        assertEquals(0, refused, "names refused while the cache was evicting");
        assertTrue(a.status().size() <= 500, "bounded: " + a.status().size());
    }

    @Test
    void aBurstOfConcurrentNewNamesLeavesTheCacheBounded() throws Exception {
        // While names are pending they cannot be evicted; once the burst is over the bound must hold again.
        AutoCert a = AutoCert.builder().issuer(issuer).store(new MemoryCertStore())
                .onDemand(allowing(n -> true).orderRate(100_000, 100_000).maxOrdersPerRegistrableDomain(100_000).maxCertificatesInMemory(100).build()).build();
        opened.add(a);
        a.start();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < 600; i++) {
            names.add("b" + i + ".example.test");
        }
        assertEquals(0, loadAll(a, names));
        assertEquals(600, issuer.issueCalls());
        assertTrue(a.status().size() <= 100, "bounded after the burst: " + a.status().size());
    }

    /** certificateReady for all of {@code names} at once; returns how many were refused. */
    static int loadAll(AutoCert a, List<String> names) throws Exception {
        List<CompletableFuture<Boolean>> all = new ArrayList<>();
        for (String n : names) {
            all.add(a.certificateReady(n));
        }
        int refused = 0;
        for (CompletableFuture<Boolean> f : all) {
            refused += f.get(T.toSeconds(), TimeUnit.SECONDS) ? 0 : 1;
        }
        return refused;
    }

    @Test
    void theSweepRenewsStoredCertificatesNobodyAskedForAndAsksTheApplicationAgain() throws Exception {
        issuer.lifetime = Duration.ofSeconds(8);
        issuer.backdate = Duration.ofSeconds(1); // renewal due 3.5 s after issuance (half of 9 s left)
        AutoCert first = start(allowing(n -> true).build());
        assertTrue(ready(first, "kept.example.test"));
        assertTrue(ready(first, "dropped.example.test"));
        first.close();
        assertEquals(2, issuer.issueCalls());
        asked.clear();
        // After a restart nothing is loaded; the sweep finds both due (1/2 of an 8 s lifetime left)
        // and renews only the one the application still allows.
        AutoCert second = start(allowing(n -> n.startsWith("kept")).sweepInterval(Duration.ofSeconds(1)).build());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        // The sweep asks about the names one after the other, in the index's order: the allowed one's renewal can
        // finish before the sweep has asked about the other one, so wait for both.
        while ((issuer.issueCalls() < 3 || !asked.contains("dropped.example.test")) && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertEquals(3, issuer.issueCalls(), "the allowed one was renewed in the background");
        assertEquals(List.of("kept.example.test"), issuer.requests.get(2).names());
        assertTrue(asked.contains("dropped.example.test"), "renewal asked the application again: " + asked);
        Thread.sleep(1500);
        assertEquals(3, issuer.issueCalls(), "the name no longer allowed is not renewed");
        assertTrue(new OnDemandIndex(FileCertStore.of(dir)).dueBefore(Instant.now().plus(Duration.ofDays(1)), RenewalPolicy.defaults())
                .stream().noneMatch(e -> e.name().equals("dropped.example.test")), "and left the index");
    }

    @Test
    void onDemandNeedsADecisionFunctionAndValidSettings() {
        String msg = assertThrows(IllegalArgumentException.class, () -> OnDemand.allow(null).maxConcurrentOrders(0)
                .orderRate(0, 1).handshakeWait(Duration.ZERO).build()).getMessage();
        assertTrue(msg.contains("no decider") && msg.contains("maxConcurrentOrders") && msg.contains("orderRate")
                && msg.contains("handshakeWait") && msg.contains("Fix:"), msg);
        String none = assertThrows(IllegalArgumentException.class, () -> AutoCert.builder().issuer(issuer).storageDirectory(dir).build())
                .getMessage();
        assertTrue(none.contains(".onDemand("), none);
    }

    // ------------------------------------------------------------------ through the key manager (JSSE)

    @Test
    void aJsseHandshakeForAnAllowedNameWaitsForItsCertificate() throws Exception {
        AutoCert a = start(allowing(n -> n.endsWith(".ok.test")).build());
        X509Certificate leaf = handshake(a.sslContext(), "new.ok.test", issuer.pki.ca);
        assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> "new.ok.test".equals(s.get(1))));
        assertEquals(1, issuer.issueCalls());
    }

    @Test
    void aJsseHandshakeForADeniedNameEndsWithAnAlert() throws Exception {
        AutoCert a = start(allowing(n -> n.endsWith(".ok.test")).build());
        SSLException e = assertThrows(SSLException.class, () -> handshake(a.sslContext(), "evil.test", issuer.pki.ca));
        // The server finds no certificate for the name, so it cannot authenticate: a handshake_failure alert.
        assertTrue(String.valueOf(e.getMessage()).contains("No available authentication scheme"), e.toString());
        assertEquals(0, issuer.issueCalls());
    }

    @Test
    void withServeFallbackADeniedNameGetsTheFallbackCertificate() throws Exception {
        AutoCert a = start(allowing(n -> false).onTimeout(OnDemand.OnTimeout.SERVE_FALLBACK).build());
        X509Certificate leaf = handshakeUntrusted(a.sslContext(), "evil.test");
        assertTrue(leaf.getSubjectX500Principal().getName().contains("autocert4j fallback"), leaf.getSubjectX500Principal().getName());
    }

    /** A TLS 1.3 handshake between two in-memory engines; returns the server's leaf as the client saw it. */
    static X509Certificate handshake(SSLContext server, String sni, X509Certificate trust) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("ca", trust);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, tmf.getTrustManagers(), null);
        return run(server, client, sni);
    }

    static X509Certificate handshakeUntrusted(SSLContext server, String sni) throws Exception {
        SSLContext client = SSLContext.getInstance("TLS");
        client.init(null, new javax.net.ssl.TrustManager[] {new javax.net.ssl.X509TrustManager() {
            public void checkClientTrusted(X509Certificate[] c, String a) {
            }

            public void checkServerTrusted(X509Certificate[] c, String a) {
            }

            public X509Certificate[] getAcceptedIssuers() {
                return new X509Certificate[0];
            }
        }}, null);
        return run(server, client, sni);
    }

    private static X509Certificate run(SSLContext server, SSLContext client, String sni) throws Exception {
        SSLEngine c = client.createSSLEngine(sni, 443);
        c.setUseClientMode(true);
        SSLParameters p = c.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(sni)));
        c.setSSLParameters(p);
        SSLEngine s = server.createSSLEngine();
        s.setUseClientMode(false);
        ByteBuffer cToS = ByteBuffer.allocate(1 << 17);
        ByteBuffer sToC = ByteBuffer.allocate(1 << 17);
        ByteBuffer app = ByteBuffer.allocate(1 << 17);
        ByteBuffer empty = ByteBuffer.allocate(0);
        c.beginHandshake();
        s.beginHandshake();
        for (int i = 0; i < 200; i++) {
            step(c, empty, cToS, sToC, app);
            step(s, empty, sToC, cToS, app);
            if (!isHandshaking(c) && !isHandshaking(s)) {
                return (X509Certificate) c.getSession().getPeerCertificates()[0];
            }
        }
        throw new AssertionError("handshake did not finish");
    }

    private static boolean isHandshaking(SSLEngine e) {
        SSLEngineResult.HandshakeStatus h = e.getHandshakeStatus();
        return h != SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING && h != SSLEngineResult.HandshakeStatus.FINISHED;
    }

    /** Runs delegated tasks, wraps into {@code out}, unwraps what the peer wrote into {@code in}. */
    private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer app) throws SSLException {
        Runnable task;
        while ((task = e.getDelegatedTask()) != null) {
            task.run();
        }
        e.wrap(empty, out);
        in.flip();
        while (in.hasRemaining()) {
            SSLEngineResult r = e.unwrap(in, app);
            while ((task = e.getDelegatedTask()) != null) {
                task.run();
            }
            if (r.bytesConsumed() == 0 && r.getStatus() != SSLEngineResult.Status.OK) {
                break;
            }
            if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NEED_WRAP) {
                break;
            }
        }
        in.compact();
    }
}
