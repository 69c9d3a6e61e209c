package io.github.autocert4j;

import io.github.autocert4j.internal.renewal.StartupLoad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file store variant of a start-up load interrupted by the store (PostgreSQL: the postgres-store
 * module's StartupLoadFaultPostgresTest): certificate files that cannot be read at start ({@link
 * AccessDeniedException}, a plain IOException: not "unavailable") are not "none stored". The readable
 * ones are served, the others are reported (status PENDING with lastError naming the store and the
 * fix, one {@link CertEvent.Failed} each), nothing is ordered while they cannot be read, and they are
 * served within {@link StartupLoad#RETRY_MAX} of becoming readable, without a restart.
 */
class StartupLoadReadFailureTest {
    static final int N = 20;
    static final int READABLE = 6; // about 30 %

    @TempDir
    Path dir;

    static String name(int i) {
        return "c" + i + ".loadfail.test";
    }

    /** The file store, with the certificate files of every name from {@link #READABLE} on unreadable until {@link #heal()}. */
    static final class UnreadableFiles extends DelegatingStore {
        private volatile boolean denied = true;
        private final CertStore files;

        UnreadableFiles(CertStore files) {
            super(files);
            this.files = files;
        }

        @Override
        public String toString() {
            return files.toString(); // the store the messages name
        }

        void heal() {
            denied = false;
        }

        @Override
        public Optional<byte[]> load(String key) throws IOException {
            for (int i = READABLE; denied && i < N; i++) {
                if (key.startsWith("certs/" + name(i) + "/")) {
                    throw new AccessDeniedException(key, null, "Permission denied (test)");
                }
            }
            return super.load(key);
        }
    }

    private static AutoCertBuilder builder(Issuer issuer, CertStore store, List<CertEvent> events) {
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).listener(events::add);
        for (int i = 0; i < N; i++) {
            b.certificate(name(i));
        }
        return b;
    }

    @Test
    void unreadableCertificateFilesAreReadAgainNotOrderedAndServedOnceReadable() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        Map<String, BigInteger> stored = new LinkedHashMap<>();
        try (AutoCert first = builder(issuer, FileCertStore.of(dir), new ArrayList<>()).build().start()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            for (int i = 0; i < N; i++) {
                while (first.status(name(i)).orElseThrow().serial() == null && System.nanoTime() < deadline) {
                    Thread.sleep(20);
                }
                stored.put(name(i), first.status(name(i)).orElseThrow().serial());
            }
        }
        assertEquals(N, issuer.issueCalls());

        UnreadableFiles store = new UnreadableFiles(FileCertStore.of(dir));
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert node = builder(issuer, store, events).build().start()) {
            // start() stops waiting once a read failed; the first round ends when each is live or reported
            long roundEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (node.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID && s.lastError() == null)
                    && System.nanoTime() < roundEnd) {
                Thread.sleep(10);
            }
            for (int i = 0; i < N; i++) {
                CertificateStatus s = node.status(name(i)).orElseThrow();
                if (i < READABLE) {
                    assertEquals(stored.get(name(i)), node.servedCertificate(name(i)).chain().get(0).getSerialNumber(), name(i));
                    assertEquals(CertificateStatus.State.VALID, s.state(), name(i));
                } else {
                    assertEquals(CertificateStatus.State.PENDING, s.state(), name(i));
                    assertTrue(s.lastError() != null && s.lastError().startsWith("not loaded from the store yet: the store FileCertStore[")
                            && s.lastError().contains("Permission denied") && s.lastError().contains("Fix: "), s.lastError());
                }
            }
            Thread.sleep(3_000); // several retry rounds while the files stay unreadable
            assertEquals(N, issuer.issueCalls(), "an unreadable file is not a missing certificate: no order");
            Map<String, Long> failed = events.stream().filter(e -> e instanceof CertEvent.Failed)
                    .collect(Collectors.groupingBy(CertEvent::certificate, Collectors.counting()));
            assertEquals(N - READABLE, failed.size(), "one Failed event per unreadable certificate: " + failed);
            assertTrue(failed.values().stream().allMatch(c -> c == 1), "once per outage, not per retry: " + failed);

            long healedAt = System.nanoTime();
            store.heal();
            long deadline = healedAt + StartupLoad.RETRY_MAX.toNanos() + TimeUnit.SECONDS.toNanos(2);
            while (node.status().stream().anyMatch(s -> s.state() != CertificateStatus.State.VALID) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            for (int i = 0; i < N; i++) {
                assertEquals(stored.get(name(i)), node.servedCertificate(name(i)).chain().get(0).getSerialNumber(), name(i));
                assertNull(node.status(name(i)).orElseThrow().lastError(), name(i));
            }
            assertEquals(N, issuer.issueCalls(), "the stored certificates were served, none ordered");
        }
    }
}
