package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.testkit.Await;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A renewal's adoption check (outside start-up) whose read of the stored certificate fails: another server
 * sharing the store may have stored the renewal already, so ordering would duplicate it (Let's Encrypt allows 5
 * duplicate certificates a week). The renewal fails with the store's reason (a {@code Failed} event, the status's
 * lastError naming the store and the fix), orders nothing, and is retried along the backoff before expiry.
 * A file store written beforehand, started under a clock 75 days ahead (its 90-day certificates are due); the
 * fault: bundle reads on the renewal thread fail (a statement timeout), the start-up load reads normally.
 */
@Timeout(60)
class RenewalAdoptionReadFailureTest {
    @TempDir
    Path dir;

    @Test
    void aRenewalWhoseAdoptionReadFailsOrdersNothingAndFailsNamingTheStore() throws Exception {
        List<String> names = List.of("a0.adopt.test", "a1.adopt.test");
        FakeIssuer.seeded(dir, names);
        AtomicBoolean failing = new AtomicBoolean(true);
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (failing.get() && key.startsWith("certs/") && key.endsWith(".pem")
                        && Thread.currentThread().getName().startsWith("autocert4j-renewal")) {
                    throw new IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.load(key);
            }

            @Override
            public String toString() {
                return "TestStore[" + dir.getFileName() + "]";
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(75));
        FakeIssuer issuer = new FakeIssuer("fake-ca", ahead); // the same CA id, on the test's clock: a renewal is not due at once
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).clock(ahead).listener(events::add);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            CertEvent.Failed failed = (CertEvent.Failed) Await.first(events, e -> e instanceof CertEvent.Failed, 20);
            String message = failed.failure().getMessage();
            assertTrue(message.contains(store.toString()) && message.contains("57014") && message.contains("Fix:"), message);
            assertEquals(0, issuer.issueCalls(), "no order while the store cannot say whether a renewal is stored");
            CertificateStatus s = a.status(failed.certificate()).orElseThrow();
            assertEquals(message, s.lastError(), s.toString());
            assertEquals(CertificateStatus.State.VALID, s.state(), "the stored certificate stays live: " + s);
            assertTrue(s.nextCheck() != null && s.nextCheck().isAfter(ahead.instant()) && s.nextCheck().isBefore(s.notAfter()),
                    "retried along the backoff, before expiry: " + s);
            Thread.sleep(500);
            assertEquals(0, issuer.issueCalls(), "still no order");
        }
    }

    /**
     * Near expiry (85 days into a 90-day certificate: 5 days left, inside its last stretch of max(1/10 of the lifetime,
     * 2 days) = 9 days) a failed adoption read no longer blocks the order: waiting longer risks an outage. It is ordered,
     * with a WARN naming the risk of a duplicate certificate and the store's reason.
     */
    @Test
    void nearExpiryAFailedAdoptionReadOrdersAnywayWithAWarning() throws Exception {
        String log = orderNearExpiry(() -> new IOException("ERROR: canceling statement due to statement timeout (57014)"));
        assertTrue(log.contains("WARN") && log.contains("duplicate certificate") && log.contains("57014") && log.contains("last stretch"), log);
    }

    /** The same with a store that throws a RuntimeException: treated as a failed read, and logged as the store's bug. */
    @Test
    void aRuntimeExceptionFromTheStoreIsAFailedReadAndLoggedAsItsBug() throws Exception {
        String log = orderNearExpiry(() -> new IllegalStateException("pool closed"));
        assertTrue(log.contains("a bug of the store") && log.contains("pool closed") && log.contains("Fix:"), log);
        assertTrue(log.contains("duplicate certificate"), log);
    }

    /**
     * A first issuance (nothing stored or served: the self-signed fallback) whose adoption read keeps failing is blocked
     * while fewer than 3 blocked attempts span 2 hours: 3 and more attempts within seconds (a short backoff here) order
     * nothing; once the clock is 2 hours on, it is ordered with the WARN. Before the fix, 3 failures of any kind within
     * minutes ordered.
     */
    @Test
    void aFirstIssuanceOrdersOnlyAfterBlockedAttemptsSpanningTwoHours() throws Exception {
        CertStore store = renewalReadsTimeOut();
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        MovableClock clock = new MovableClock();
        FakeIssuer issuer = new FakeIssuer("fake-ca", clock);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).clock(clock).listener(events::add).certificate("first.adopt.test")
                .renewal(RenewalPolicy.defaults().withBackoff(List.of(Duration.ofMillis(200))));
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        try (AutoCert a = b.build().start()) {
            awaitFailures(events, 4, 20);
            assertEquals(0, issuer.issueCalls(), "4 blocked attempts within seconds order nothing: " + events);
            clock.advance(Duration.ofHours(2));
            Await.first(events, e -> e instanceof CertEvent.Issued, 20);
            assertEquals(1, issuer.issueCalls());
        } finally {
            System.setErr(err);
        }
        String text = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(text.contains("WARN") && text.contains("no certificate is served yet") && text.contains("duplicate certificate"), text);
    }

    /**
     * In the last stretch with a store that can neither be read nor written (the new certificate cannot be stored and is
     * discarded), one certificate is ordered despite the store, not one per retry: the following attempts are blocked
     * (Failed naming the store) until a store read or save succeeds. Before the fix every retry ordered, burning Let's
     * Encrypt's 5 duplicates a week within minutes.
     */
    @Test
    void aStoreThatCanNeitherBeReadNorWrittenCostsOneOrderNotOnePerRetry() throws Exception {
        List<String> names = List.of("w0.adopt.test");
        FakeIssuer.seeded(dir, names);
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem") && renewalThread()) {
                    throw new IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.load(key);
            }

            @Override
            public void store(String key, byte[] value) throws IOException {
                if (key.startsWith("certs/") && renewalThread()) {
                    throw new CertStore.LockLostException("ERROR: the lease expired while the database was unreachable");
                }
                super.store(key, value);
            }

            private boolean renewalThread() {
                return Thread.currentThread().getName().startsWith("autocert4j-renewal");
            }

            @Override
            public String toString() {
                return "TestStore[" + dir.getFileName() + "]";
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(85));
        FakeIssuer issuer = new FakeIssuer("fake-ca", ahead);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).clock(ahead).listener(events::add)
                .renewal(RenewalPolicy.defaults().withBackoff(List.of(Duration.ofMillis(200))));
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            awaitFailures(events, 5, 30);
            assertEquals(1, issuer.issueCalls(), "one order despite the store, not one per retry: " + events);
            CertEvent.Failed last = (CertEvent.Failed) events.stream().filter(e -> e instanceof CertEvent.Failed).reduce((x, y) -> y).orElseThrow();
            String message = last.failure().getMessage();
            assertTrue(message.contains(store.toString()) && message.contains("57014") && message.contains("nothing was ordered"), message);
        }
    }

    /**
     * A renewal that replaces a named serial (a store renewal request, as a revocation writes) is in its last stretch at
     * once: 15 days left of 90 (not the last stretch) and the adoption read failing, the due renewal is blocked, the
     * request orders with the WARN.
     */
    @Test
    void aRenewalReplacingANamedSerialOrdersDespiteAFailedAdoptionRead() throws Exception {
        List<String> names = List.of("r0.adopt.test");
        FakeIssuer.seeded(dir, names);
        CertStore store = renewalReadsTimeOut();
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(75));
        FakeIssuer issuer = new FakeIssuer("fake-ca", ahead);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).clock(ahead).listener(events::add);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            CertEvent.Failed failed = (CertEvent.Failed) Await.first(events, e -> e instanceof CertEvent.Failed, 20);
            assertEquals(0, issuer.issueCalls(), "blocked outside the last stretch");
            StoreAdmin.of(store).requestRenewal(failed.certificate(), "revoke(keyCompromise)", ahead.instant());
            Await.first(events, e -> e instanceof CertEvent.Issued, 20);
            assertEquals(1, issuer.issueCalls());
        }
    }

    /** Waits (bounded) for {@code n} Failed events. */
    static void awaitFailures(List<CertEvent> events, int n, int seconds) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        while (events.stream().filter(e -> e instanceof CertEvent.Failed).count() < n) {
            if (System.nanoTime() > end) {
                throw new AssertionError("fewer than " + n + " Failed events in " + seconds + " s: " + events);
            }
            Thread.sleep(20);
        }
    }

    /** A clock whose instant can be moved forward by a test. */
    static final class MovableClock extends Clock {
        private final java.util.concurrent.atomic.AtomicReference<Duration> offset = new java.util.concurrent.atomic.AtomicReference<>(Duration.ZERO);

        void advance(Duration d) {
            offset.updateAndGet(o -> o.plus(d));
        }

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public java.time.Instant instant() {
            return Clock.systemUTC().instant().plus(offset.get());
        }
    }

    interface Fault {
        Exception next();
    }

    /** Starts 85 days ahead with adoption reads failing with {@code fault}; returns the log once both certificates were ordered. */
    String orderNearExpiry(Fault fault) throws Exception {
        List<String> names = List.of("n0.adopt.test", "n1.adopt.test");
        FakeIssuer.seeded(dir, names);
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem") && Thread.currentThread().getName().startsWith("autocert4j-renewal")) {
                    Exception e = fault.next();
                    if (e instanceof IOException io) {
                        throw io;
                    }
                    throw (RuntimeException) e;
                }
                return super.load(key);
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(85));
        FakeIssuer issuer = new FakeIssuer("fake-ca", ahead);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store).clock(ahead).listener(events::add);
        names.forEach(b::certificate);
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        try (AutoCert a = b.build().start()) {
            for (String name : names) {
                CertEvent.Issued issued = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued && e.certificate().equals(name), 20);
                assertTrue(issued.renewal(), issued.toString());
            }
            assertEquals(names.size(), issuer.issueCalls(), "one order each");
        } finally {
            System.setErr(err);
        }
        return log.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    /** The file store of {@link #dir} whose certificate reads by the renewal thread time out (a PostgreSQL statement timeout's message). */
    CertStore renewalReadsTimeOut() throws IOException {
        return new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem") && Thread.currentThread().getName().startsWith("autocert4j-renewal")) {
                    throw new IOException("ERROR: canceling statement due to statement timeout (57014)");
                }
                return super.load(key);
            }
        };
    }
}
