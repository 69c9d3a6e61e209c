package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loads of first handshakes on a slow or hanging store (review of issue 23's lazy loading): a lazy start
 * ({@code lazyLoadAbove(0)}) of a file store written beforehand, the background sweep held at a gate; the handshakes
 * are {@code certificateReady} calls (the same load as the key manager's link, without sockets). Many handshakes for
 * one certificate queue one load (not one per handshake, each of which would hold a loader thread for up to 10 s
 * waiting for the first); with the store hanging, the loads waiting for a thread stay bounded (16 running, 64
 * waiting) and every handshake still completes within its bound (1 s), the ones beyond with the fallback.
 */
@Timeout(120)
class LazyLoadQueueTest {
    @TempDir
    Path dir;

    final CountDownLatch sweepGate = new CountDownLatch(1);
    /** Bundle reads on the loader threads, by key. */
    final Map<String, AtomicInteger> reads = new ConcurrentHashMap<>();

    static List<String> names(String prefix, int n) {
        return IntStream.range(0, n).mapToObj(i -> prefix + i + ".queue.test").toList();
    }

    /** Loader-thread bundle reads are counted, and those of a name {@code hold} matches wait at its gate. */
    CertStore store(Predicate<String> hold, CountDownLatch gate) throws IOException {
        return new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem")) {
                    String thread = Thread.currentThread().getName();
                    if (thread.startsWith("autocert4j-lazy-sweep")) {
                        LazyLoadLockTest.await(sweepGate);
                    } else if (thread.startsWith("autocert4j-lazy-load")) {
                        reads.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
                        if (hold.test(key)) {
                            LazyLoadLockTest.await(gate);
                        }
                    }
                }
                return super.load(key);
            }
        };
    }

    int readsOf(String name) {
        return reads.entrySet().stream().filter(e -> e.getKey().contains("/" + name + "/")).mapToInt(e -> e.getValue().get()).sum();
    }

    @Test
    void manyHandshakesForOneCertificateQueueOneLoad() throws Exception {
        // o0..o3: the sweep's first reads, held at its gate; o4: the certificate under test; o5..o20: busy every loader
        // thread; o21: another certificate.
        List<String> names = names("o", 22);
        String tested = names.get(4);
        String other = names.get(21);
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        CountDownLatch busyGate = new CountDownLatch(1);
        CountDownLatch testedGate = new CountDownLatch(1);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(storeWithGates(tested, other, busyGate, testedGate)).lazyLoadAbove(0);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            for (int i = 5; i <= 20; i++) {
                a.certificateReady(names.get(i));
            }
            waitFor(() -> IntStream.rangeClosed(5, 20).allMatch(i -> readsOf(names.get(i)) >= 1), () -> "16 loads hang in the store: " + reads);

            List<CompletableFuture<Boolean>> handshakes = new ArrayList<>();
            for (int i = 0; i < 200; i++) {
                handshakes.add(a.certificateReady(tested)); // while every loader thread is busy
            }
            busyGate.countDown(); // the 16 loads end; the tested certificate's load starts and hangs
            waitFor(() -> readsOf(tested) >= 1, "the tested certificate's load reads the store");

            // Another certificate's load gets a loader thread at once: none is held by a duplicate of the tested one's load.
            long t0 = System.nanoTime();
            a.certificateReady(other);
            waitFor(() -> readsOf(other) >= 1, () -> "another load starts within 3 s, not behind 199 duplicates: " + reads);
            long millis = (System.nanoTime() - t0) / 1_000_000;
            for (CompletableFuture<Boolean> h : handshakes) {
                assertTrue(h.get(5, TimeUnit.SECONDS), "a configured name always proceeds");
            }
            testedGate.countDown();
            waitFor(() -> a.status(tested).orElseThrow().state() == CertificateStatus.State.VALID, "the tested certificate loaded");
            Thread.sleep(300);
            assertEquals(1, readsOf(tested), "one store read for 200 handshakes: " + reads);
            assertTrue(millis < 3_000, millis + " ms");
            assertEquals(names.size(), issuer.issueCalls(), "loaded, not ordered");
        } finally {
            busyGate.countDown();
            testedGate.countDown();
            sweepGate.countDown();
        }
    }

    @Test
    void withTheStoreHangingTheWaitingLoadsStayBoundedAndHandshakesGetTheFallbackInTime() throws Exception {
        List<String> names = names("h", 100);
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        CountDownLatch hang = new CountDownLatch(1);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store(key -> true, hang)).lazyLoadAbove(0);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            long t0 = System.nanoTime();
            List<CompletableFuture<Boolean>> handshakes = names.stream().map(a::certificateReady).toList();
            for (CompletableFuture<Boolean> h : handshakes) {
                assertTrue(h.get(5, TimeUnit.SECONDS), "a configured name always proceeds");
            }
            long millis = (System.nanoTime() - t0) / 1_000_000;
            // Each waits at most LazyStart's bound (1 s, run concurrently; one after the other would be 100 s); 2 s more for a
            // loaded 2-core machine.
            assertTrue(millis < 3_000, "handshakes completed within the bound: " + millis + " ms");
            hang.countDown();
            waitFor(() -> reads.values().stream().mapToInt(AtomicInteger::get).sum() >= 80, "the queued loads ran");
            Thread.sleep(500);
            int total = reads.values().stream().mapToInt(AtomicInteger::get).sum();
            // 16 loader threads and 64 waiting loads: the 20 handshakes beyond got the fallback without a queued read.
            assertEquals(80, total, "loads bounded while the store hung: " + total);
        } finally {
            hang.countDown();
            sweepGate.countDown();
        }
    }

    /** Like {@link #store}; loader-thread reads of {@code tested} wait at {@code testedGate}, of others (but {@code other}) at {@code busyGate}. */
    CertStore storeWithGates(String tested, String other, CountDownLatch busyGate, CountDownLatch testedGate) throws IOException {
        return new DelegatingStore(store(key -> false, null)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                Optional<byte[]> out = super.load(key); // counted (and the sweep held) by the inner store
                if (key.startsWith("certs/") && key.endsWith(".pem") && Thread.currentThread().getName().startsWith("autocert4j-lazy-load")) {
                    if (key.contains("/" + tested + "/")) {
                        LazyLoadLockTest.await(testedGate);
                    } else if (!key.contains("/" + other + "/")) {
                        LazyLoadLockTest.await(busyGate);
                    }
                }
                return out;
            }
        };
    }

    static void waitFor(java.util.function.BooleanSupplier condition, String what) throws InterruptedException {
        waitFor(condition, () -> what);
    }

    static void waitFor(java.util.function.BooleanSupplier condition, java.util.function.Supplier<String> what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not within 3 s: " + what.get());
            }
            Thread.sleep(10);
        }
    }
}
