package io.github.autocert4j;

import io.github.autocert4j.internal.renewal.StartupLoad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up never waits on the store: with a store that hangs like a pool waiting out its connection
 * timeout (HikariCP: 30 s), or refuses at once, {@code build()} and {@code start()} return within
 * seconds, the fallback is served, nothing is ordered, and the stored certificate is served within
 * seconds of the store answering. (With PostgreSQL and Netty: examples' StoreDownAtStartNettyTest.)
 */
class StoreDownAtStartTest {
    static final String APP = "app.storedown.test";
    /** What a pool with default settings waits for a connection before it gives up (HikariCP's connectionTimeout). */
    static final Duration POOL_TIMEOUT = Duration.ofSeconds(30);

    @TempDir
    Path dir;
    final List<AutoCert> opened = new ArrayList<>();

    @AfterEach
    void tearDown() {
        opened.forEach(AutoCert::close);
    }

    /** A store in front of {@code dir} whose every call waits (bounded by the pool timeout) while the "database" is down. */
    static final class OutageStore extends DelegatingStore {
        final CountDownLatch up = new CountDownLatch(1);
        final boolean hangs;
        final AtomicInteger callsWhileDown = new AtomicInteger();

        OutageStore(CertStore files, boolean hangs) {
            super(files);
            this.hangs = hangs;
        }

        private void database() throws IOException {
            if (up.getCount() == 0) {
                return;
            }
            callsWhileDown.incrementAndGet();
            try {
                if (!hangs || !up.await(POOL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
                    throw new CertStore.UnavailableException("connection is not available, request timed out", null);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CertStore.UnavailableException("interrupted", e);
            }
        }

        @Override
        public Optional<byte[]> load(String key) throws IOException {
            database();
            return super.load(key);
        }

        @Override
        public void store(String key, byte[] value) throws IOException {
            database();
            super.store(key, value);
        }

        @Override
        public Lock lock(String name) throws IOException {
            database();
            return super.lock(name);
        }

        @Override
        public void checkAccess() throws IOException {
            database();
            super.checkAccess();
        }
    }

    private AutoCertBuilder builder(Issuer issuer, CertStore store) {
        return AutoCert.builder().issuer(issuer).certificate(APP).store(store);
    }

    /** Issues a certificate into {@code dir} with a store that works; returns its serial. */
    private BigInteger stored(FakeIssuer issuer) throws Exception {
        try (AutoCert first = builder(issuer, FileCertStore.of(dir)).build().start()) {
            return await(() -> first.status(APP).orElseThrow().serial(), Duration.ofSeconds(10));
        }
    }

    private static <T> T await(Supplier<T> value, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            T v = value.get();
            if (v != null) {
                return v;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("nothing within " + max);
    }

    private void downAtStartThenUp(boolean hangs) throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        BigInteger serial = stored(issuer);
        assertEquals(1, issuer.issueCalls());

        OutageStore store = new OutageStore(FileCertStore.of(dir), hangs);
        long t0 = System.nanoTime();
        AutoCert a = builder(issuer, store).build();
        opened.add(a);
        long built = System.nanoTime();
        a.start();
        long started = System.nanoTime();
        long buildMillis = TimeUnit.NANOSECONDS.toMillis(built - t0);
        long startMillis = TimeUnit.NANOSECONDS.toMillis(started - built);
        // build() waits at most 2 s for the store's checkAccess (a store that answers reports its problems there);
        // start() does not wait again once that probe is still pending. Before: 30 s each, and 30 s more per read.
        assertTrue(buildMillis < 3000, "build() took " + buildMillis + " ms with the store " + (hangs ? "hanging" : "refusing"));
        assertTrue(startMillis < 1000, "start() took " + startMillis + " ms with the store " + (hangs ? "hanging" : "refusing"));
        assertNotEquals(serial, a.servedCertificate(APP).chain().get(0).getSerialNumber(), "the fallback is served meanwhile");
        assertEquals(CertificateStatus.State.PENDING, a.status(APP).orElseThrow().state());

        Thread.sleep(3000); // the store stays down for a while: nothing may be ordered (the stored certificate is not "missing")
        assertEquals(1, issuer.issueCalls(), "an unavailable store is not an empty one: no order");
        assertTrue(store.callsWhileDown.get() >= 2, "the store was asked while down: " + store.callsWhileDown.get());

        long upAt = System.nanoTime();
        store.up.countDown();
        await(() -> serial.equals(a.servedCertificate(APP).chain().get(0).getSerialNumber()) ? Boolean.TRUE : null, Duration.ofSeconds(10));
        long servedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
        // a refusing store is read again after at most StartupLoad.RETRY_MAX (2 s); a hanging one answers the waiting read
        assertTrue(servedMillis < StartupLoad.RETRY_MAX.toMillis() + 1000, "served " + servedMillis + " ms after the store answered");
        // The status is published when the load's unit of work ends, just after the key manager serves the certificate
        // (fast suite, 2 cores: PENDING was read in that gap once).
        await(() -> a.status(APP).orElseThrow().state() == CertificateStatus.State.VALID ? Boolean.TRUE : null, Duration.ofSeconds(2));
        Thread.sleep(500);
        assertEquals(1, issuer.issueCalls(), "the stored certificate was adopted, not ordered again");
    }

    @Test
    void aHangingStoreDelaysNeitherBuildNorStartAndItsCertificateIsServedOnceItAnswers() throws Exception {
        downAtStartThenUp(true);
    }

    @Test
    void aRefusingStoreDelaysNeitherBuildNorStartAndItsCertificateIsServedOnceItAnswers() throws Exception {
        downAtStartThenUp(false);
    }

    @Test
    void anEmptyStoreThatAnswersLateIsOrderedForOnceItAnswers() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        OutageStore store = new OutageStore(FileCertStore.of(dir), false);
        AutoCert a = builder(issuer, store).build();
        opened.add(a);
        a.start();
        Thread.sleep(1500);
        assertEquals(0, issuer.issueCalls(), "no order while the store cannot say whether it holds one");
        store.up.countDown();
        BigInteger serial = await(() -> a.status(APP).orElseThrow().serial(), Duration.ofSeconds(10));
        assertEquals(serial, a.servedCertificate(APP).chain().get(0).getSerialNumber());
        assertEquals(1, issuer.issueCalls());
    }
}
