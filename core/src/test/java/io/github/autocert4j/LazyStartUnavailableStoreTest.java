package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lazy loading while the store cannot be reached: a certificate the sweep could not read stays
 * NOT_LOADED (not PENDING: nothing is ordered for it), is read again, and is served from the store
 * without an order once the store answers.
 */
class LazyStartUnavailableStoreTest {
    @TempDir
    Path dir;

    @Test
    void aCertificateTheStoreCouldNotBeAskedAboutStaysNotLoadedAndIsLoadedWhenItAnswers() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        List<String> names = IntStream.range(0, 6).mapToObj(i -> "u" + i + ".lazy.test").toList();
        AutoCertBuilder seed = AutoCert.builder().issuer(issuer).storageDirectory(dir);
        names.forEach(seed::certificate);
        try (AutoCert a = seed.build().start()) {
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (a.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID) && System.nanoTime() < until) {
                Thread.sleep(20);
            }
        }
        assertEquals(names.size(), issuer.issueCalls());

        AtomicBoolean down = new AtomicBoolean(true);
        AtomicInteger refused = new AtomicInteger();
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (down.get() && key.startsWith("certs/")) {
                    refused.incrementAndGet();
                    throw new CertStore.UnavailableException("connection is not available, request timed out", null);
                }
                return super.load(key);
            }
        };
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).lazyLoadAbove(2);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (refused.get() < names.size() + 1 && System.nanoTime() < deadline) {
                Thread.sleep(20); // every certificate asked once, and read again at least once
            }
            assertTrue(refused.get() > names.size(), "read again while down: " + refused.get());
            assertEquals(names.size(), a.status().stream().filter(s -> s.state() == CertificateStatus.State.NOT_LOADED).count(),
                    "not loaded, not pending: " + a.status());
            assertEquals(names.size(), issuer.issueCalls(), "an unavailable store is not an empty one: no order");
            down.set(false);
            deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(names.size(), a.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count(), a.status().toString());
            Thread.sleep(300);
            assertEquals(names.size(), issuer.issueCalls(), "served from the store, not ordered again");
        }
    }
}
