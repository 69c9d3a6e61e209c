package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.testkit.Await;
import io.github.autocert4j.testkit.ForgedBundle;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lazy loading (issue 23), threshold set low: 50 configured certificates in a file store written
 * beforehand by Pebble (two of them under Pebble's 6-day "shortlived" profile, due under a clock 5
 * days ahead; one replaced by a forged self-signed bundle claiming Pebble issued it), started with
 * {@code lazyLoadAbove(10)}. {@code start()} reads no bundle; a real TLS client (verifying the chain
 * to Pebble's root) gets the right certificate for a name not loaded yet at its first handshake;
 * 8 concurrent first handshakes for one name read its bundle once; the background sweep (held at a
 * gate by the test until then) loads the rest; the due ones are renewed against Pebble, the forged
 * one is rejected, never served, and ordered; status() counts NOT_LOADED, then VALID.
 */
@WithPebble
class LazyStartPebbleTest {
    static final int N = 50;
    static final Duration T = Duration.ofSeconds(10);
    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    static String name(int i) {
        return "l" + i + ".lazy.autocert4j.test";
    }

    AutoCertBuilder builder(CertStore store, List<String> names, CertEventListener listener) {
        AutoCertBuilder b = CA.builder().store(store).listener(listener);
        names.forEach(b::certificate);
        return b;
    }

    void seed(Path dir, List<String> names, String profile) throws Exception {
        AutoCertBuilder b = builder(FileCertStore.of(dir), names, e -> { });
        if (profile != null) {
            b.profile(profile);
        }
        try (AutoCert a = CA.build(b)) {
            a.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
            while (a.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID) && System.nanoTime() < deadline) {
                Thread.sleep(100);
            }
            assertTrue(a.status().stream().allMatch(s -> s.state() == CertificateStatus.State.VALID), "seeded: " + a.status());
        }
    }

    @Test
    void startReadsNoBundleFirstHandshakesLoadOnceAndTheSweepLoadsAndRenewsTheRest(@TempDir Path dir) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < N; i++) {
            names.add(name(i));
        }
        seed(dir, names.subList(0, N - 2), "default"); // 90 days (without a profile Pebble picks one at random)
        seed(dir, names.subList(N - 2, N), "shortlived"); // 6 days: due under a clock 5 days ahead
        String forgedName = name(7);
        ForgedBundle forged = ForgedBundle.selfSigned(forgedName);
        Files.write(dir.resolve(StoreLayout.certBundle(forgedName)), forged.pem());
        Files.write(dir.resolve(StoreLayout.certMeta(forgedName)), forged.meta(StoreLayout.caId(CA.pebble().directoryUri())));

        // Counts every bundle read; the sweep's reads wait at a gate until the test opens it.
        Map<String, AtomicInteger> bundleReads = new ConcurrentHashMap<>();
        CountDownLatch gate = new CountDownLatch(1);
        CertStore counting = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem")) {
                    if (Thread.currentThread().getName().startsWith("autocert4j-lazy-sweep")) {
                        try {
                            assertTrue(gate.await(120, TimeUnit.SECONDS), "the test opens the gate");
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new IOException("interrupted at the gate", e);
                        }
                    }
                    bundleReads.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                }
                return super.load(key);
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(5));
        try (AutoCert a = CA.build(builder(counting, names, events::add).clock(ahead).lazyLoadAbove(10));
             ThreadedTlsServer server = new ThreadedTlsServer(a.sslContext())) {
            a.start();
            assertEquals(Map.of(), bundleReads, "start() read no bundle");
            assertEquals(N, count(a, CertificateStatus.State.NOT_LOADED), "all not loaded, none missing: " + a.status());
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Loaded), events.toString());

            // A first handshake for a name not loaded yet: the right certificate, chain verified to Pebble's root.
            String first = name(20);
            TlsProbe.Result r = TlsProbe.handshake(server.address(), first, CA.pebble().issuanceRoot(), T);
            assertTrue(r.leaf().getSubjectAlternativeNames().toString().contains(first), r.leaf().toString());
            assertEquals(1, reads(bundleReads, first));
            assertEquals(CertificateStatus.State.VALID, a.status(first).orElseThrow().state());
            assertEquals(r.serial(), a.status(first).orElseThrow().serial());

            // 8 concurrent first handshakes for another name: one load.
            String together = name(21);
            ExecutorService clients = Executors.newFixedThreadPool(8);
            try {
                CountDownLatch go = new CountDownLatch(1);
                List<Future<BigInteger>> served = new ArrayList<>();
                for (int c = 0; c < 8; c++) {
                    served.add(clients.submit(() -> {
                        go.await(10, TimeUnit.SECONDS);
                        return TlsProbe.handshake(server.address(), together, CA.pebble().issuanceRoot(), T).serial();
                    }));
                }
                go.countDown();
                List<BigInteger> serials = new ArrayList<>();
                for (Future<BigInteger> f : served) {
                    serials.add(f.get(30, TimeUnit.SECONDS));
                }
                assertEquals(java.util.Collections.nCopies(8, a.status(together).orElseThrow().serial()), serials);
            } finally {
                clients.shutdownNow();
            }
            assertEquals(1, reads(bundleReads, together), "concurrent first handshakes read the bundle once");
            assertEquals(N - 2, count(a, CertificateStatus.State.NOT_LOADED), a.status().toString());

            // The sweep loads the rest.
            gate.countDown();
            awaitTrue(() -> count(a, CertificateStatus.State.NOT_LOADED) == 0, 60, () -> "sweep: " + a.status());
            CertEvent.Rejected rejected = (CertEvent.Rejected) Await.first(events, e -> e instanceof CertEvent.Rejected, 10);
            assertEquals(forged.leaf().getSerialNumber(), rejected.serial());
            for (String due : names.subList(N - 2, N)) {
                CertEvent.Issued renewed = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued i && i.certificate().equals(due), 90);
                assertTrue(renewed.renewal(), "the stored near-expiry certificate was live, then renewed: " + renewed);
            }
            CertEvent.Issued replacement = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued i
                    && i.certificate().equals(forgedName), 90);
            assertNotEquals(forged.leaf().getSerialNumber(), replacement.serial());
            assertEquals(replacement.serial(), TlsProbe.handshake(server.address(), forgedName, CA.pebble().issuanceRoot(), T).serial());
            assertThrows(IOException.class, () -> TlsProbe.handshake(server.address(), forgedName, forged.trustAnchor(), T),
                    "the forged bundle is never served");
            assertEquals(N, count(a, CertificateStatus.State.VALID), a.status().toString());
            assertEquals(java.util.Set.of(forgedName, name(N - 2), name(N - 1)), events.stream().filter(e -> e instanceof CertEvent.Issued)
                    .map(e -> ((CertEvent.Issued) e).certificate()).collect(java.util.stream.Collectors.toSet()),
                    "only the due and the forged ones were ordered");
            assertEquals(N - 1, events.stream().filter(e -> e instanceof CertEvent.Loaded).count(), "every stored certificate but the forged one");
            for (String n : names) {
                assertTrue(reads(bundleReads, n) >= 1, n);
            }
        }
    }

    static int reads(Map<String, AtomicInteger> reads, String name) {
        AtomicInteger n = reads.get(StoreLayout.certBundle(name));
        return n == null ? 0 : n.get();
    }

    static long count(AutoCert a, CertificateStatus.State state) {
        return a.status().stream().filter(s -> s.state() == state).count();
    }

    static void awaitTrue(java.util.function.BooleanSupplier p, int seconds, java.util.function.Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (!p.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within " + seconds + " s: " + what.get());
            }
            Thread.sleep(20);
        }
    }
}
