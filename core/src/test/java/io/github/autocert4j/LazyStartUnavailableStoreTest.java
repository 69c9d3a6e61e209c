package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lazy loading while the store cannot be read — unavailable (a pool timeout) or failing another way (a
 * statement timeout, SQLState 57014, a plain IOException: review of issue 23 found that this one was
 * ordered): nothing is ordered for it, the status says why (PENDING, lastError "not loaded from the store
 * yet"), the store is not asked once per certificate while it fails, it is read again, and everything is
 * served from the store without an order once it answers.
 */
class LazyStartUnavailableStoreTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void aCertificateTheStoreCouldNotBeAskedAboutIsNeverOrderedAndIsLoadedWhenItAnswers(boolean unavailable) throws Exception {
        List<String> names = IntStream.range(0, 6).mapToObj(i -> "u" + i + ".lazy.test").toList();
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        assertEquals(names.size(), issuer.issueCalls());

        AtomicBoolean down = new AtomicBoolean(true);
        AtomicInteger refused = new AtomicInteger();
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (down.get() && key.startsWith("certs/")) {
                    refused.incrementAndGet();
                    throw unavailable ? new CertStore.UnavailableException("connection is not available, request timed out", null)
                            : new IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.load(key);
            }
        };
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).lazyLoadAbove(2);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            // The sweep's threads read in parallel, so several first reads may fail at once: wait until a failure
            // shows in the status, then for one more read (a retry pass: 0.5 s, 1 s, 2 s apart).
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (a.status().stream().noneMatch(s -> s.state() == CertificateStatus.State.PENDING) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            int firstReads = refused.get();
            while (refused.get() <= firstReads && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(refused.get() > firstReads, "read again while down: " + refused.get() + " after " + firstReads);
            // One failed read holds the others back (a store that fails is not asked once per certificate): the
            // certificates read show why, the rest are not loaded; none is VALID, none is ordered.
            List<CertificateStatus> during = a.status();
            assertTrue(during.stream().allMatch(s -> s.state() == CertificateStatus.State.NOT_LOADED
                    || s.state() == CertificateStatus.State.PENDING && String.valueOf(s.lastError()).startsWith("not loaded from the store yet")), during.toString());
            assertTrue(during.stream().anyMatch(s -> s.state() == CertificateStatus.State.PENDING), "the outage shows: " + during);
            assertTrue(refused.get() < 3 * names.size(), "not every certificate on every pass: " + refused.get());
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
