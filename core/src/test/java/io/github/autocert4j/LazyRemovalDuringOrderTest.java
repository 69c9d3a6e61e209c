package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Revoking or removing a certificate while its order hangs at the CA (review of issue 23's lazy loading): a lazy start
 * ({@code lazyLoadAbove(0)}) of a file store written beforehand; {@code renewNow} loads the certificate and its order
 * then hangs in the (fake) CA, holding the certificate's lock. A revocation of the loaded certificate does not wait
 * for that order; a removal stops it first (bounded by the removal's 10 s wait) instead of waiting for the lock; a
 * removal of a certificate never loaded reads the store only to learn what to revoke: it never takes it live nor
 * schedules a check that could order for the removed name.
 */
@Timeout(90)
class LazyRemovalDuringOrderTest {
    @TempDir
    Path dir;

    final CountDownLatch sweepGate = new CountDownLatch(1);
    final CountDownLatch caGate = new CountDownLatch(1);
    final CountDownLatch inOrder = new CountDownLatch(1);

    /** The sweep's bundle reads wait at {@link #sweepGate}: what the test does not load stays not loaded. */
    CertStore store() throws IOException {
        return LazyLoadLockTest.sweepHeldAt(dir, sweepGate);
    }

    /** The next order hangs in the CA until {@link #caGate} opens (or stop() interrupts it). */
    void hangNextOrder(FakeIssuer issuer) {
        issuer.then((i, r) -> {
            inOrder.countDown();
            if (!caGate.await(60, TimeUnit.SECONDS)) {
                throw IssuanceException.transientFailure("the test never released the CA", null);
            }
            return i.valid(r);
        });
    }

    @Test
    void revokingALoadedCertificateDoesNotWaitForItsRunningOrder() throws Exception {
        List<String> names = LazyLoadLockTest.names("v");
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store()).lazyLoadAbove(0);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            hangNextOrder(issuer);
            a.renewNow(names.get(0)); // loads the stored certificate under the lock, then orders: hangs at the CA
            assertTrue(inOrder.await(20, TimeUnit.SECONDS), "the order reached the CA");
            assertEquals(CertificateStatus.State.VALID, a.status(names.get(0)).orElseThrow().state(), "loaded");

            long t0 = System.nanoTime();
            CompletableFuture<CompletableFuture<CertificateStatus>> call = CompletableFuture.supplyAsync(() -> a.revoke(names.get(0), "superseded"));
            CompletableFuture<CertificateStatus> revoked = call.get(5, TimeUnit.SECONDS); // before the fix: blocked until the order ended
            long millis = (System.nanoTime() - t0) / 1_000_000;
            // The fake CA is no ACME CA: the revocation fails at once, naming it, instead of waiting for the order.
            ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> revoked.get(5, TimeUnit.SECONDS));
            assertTrue(String.valueOf(e.getCause().getMessage()).contains("not an ACME CA"), e.getCause().toString());
            assertTrue(millis < 5_000, millis + " ms");
        } finally {
            caGate.countDown();
            sweepGate.countDown();
        }
    }

    @Test
    void removingACertificateStopsItsRunningOrderInsteadOfWaitingForIt() throws Exception {
        List<String> names = LazyLoadLockTest.names("m");
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store()).lazyLoadAbove(0).revokeOnRemove("cessationOfOperation");
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            hangNextOrder(issuer);
            a.renewNow(names.get(0));
            assertTrue(inOrder.await(20, TimeUnit.SECONDS), "the order reached the CA");
            int calls = issuer.issueCalls();

            long t0 = System.nanoTime();
            CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> a.removeCertificate(names.get(0)));
            // stop() interrupts the order; the removal's own bound is 10 s (awaitIdle), 5 s more for a loaded machine.
            assertTrue(removal.get(15, TimeUnit.SECONDS), "removed");
            long millis = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(millis < 8_000, "stopped, not waited for (the removal's own wait is 10 s): " + millis + " ms");
            assertTrue(a.status(names.get(0)).isEmpty(), "no longer managed");
            caGate.countDown();
            Thread.sleep(500);
            assertEquals(calls, issuer.issueCalls(), "nothing ordered for the removed name afterwards");
        } finally {
            caGate.countDown();
            sweepGate.countDown();
        }
    }

    @Test
    void removingACertificateNeverLoadedNeitherTakesItLiveNorSchedulesACheck() throws Exception {
        List<String> names = LazyLoadLockTest.names("n");
        FakeIssuer.seeded(dir, names);
        // 75 days later the stored 90-day certificates are due: a check of the removed one would order it.
        Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofDays(75));
        FakeIssuer issuer = new FakeIssuer("fake-ca", ahead);
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(store()).clock(ahead).lazyLoadAbove(0)
                .revokeOnRemove("cessationOfOperation").listener(events::add);
        names.forEach(b::certificate);
        try (AutoCert a = b.build().start()) {
            assertEquals(CertificateStatus.State.NOT_LOADED, a.status(names.get(0)).orElseThrow().state());
            assertTrue(a.removeCertificate(names.get(0)));
            Thread.sleep(1_000);
            List<CertEvent> removed = events.stream().filter(e -> e.certificate().equals(names.get(0))).toList();
            assertFalse(removed.stream().anyMatch(e -> e instanceof CertEvent.Loaded), "never taken live during its removal: " + removed);
            assertEquals(0, issuer.issueCalls(), "nothing ordered for the removed name: " + removed);
        } finally {
            sweepGate.countDown();
        }
    }

    /**
     * A handshake's load marks the certificate loaded before it releases the certificate's lock (review item 4): a unit of
     * work taking the lock right after it ({@code renewNow}) does not read the store a second time to load it again. The
     * loader thread is held just after the lock's release by a callback of the certificate's live waiter (run there).
     */
    @Test
    void aUnitOfWorkRightAfterAHandshakesLoadDoesNotLoadAgain() throws Exception {
        // The 4 sweep threads hold g0..g3 at the gate (a handshake would attach to their loads): the test uses g4.
        List<String> names = java.util.stream.IntStream.range(0, 5).mapToObj(i -> "g" + i + ".lazy.test").toList();
        String tested = names.get(4);
        FakeIssuer issuer = FakeIssuer.seeded(dir, names);
        java.util.concurrent.atomic.AtomicInteger unitReads = new java.util.concurrent.atomic.AtomicInteger();
        CertStore counting = new DelegatingStore(store()) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.equals("certs/" + tested + "/" + tested + ".pem") && Thread.currentThread().getName().startsWith("autocert4j-renewal")) {
                    unitReads.incrementAndGet();
                }
                return super.load(key);
            }
        };
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).store(counting).lazyLoadAbove(0);
        names.forEach(b::certificate);
        CountDownLatch inGap = new CountDownLatch(1);
        CountDownLatch gapGate = new CountDownLatch(1);
        try (AutoCert a = b.build().start()) {
            java.lang.reflect.Field f = AutoCert.class.getDeclaredField("wiring");
            f.setAccessible(true);
            io.github.autocert4j.internal.renewal.ManagedCertificate m =
                    ((io.github.autocert4j.internal.assembly.Wiring) f.get(a)).managed(tested);
            m.whenLive().thenRun(() -> {
                inGap.countDown(); // on the loader thread, after the load released the lock
                try {
                    gapGate.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            a.certificateReady(tested);
            assertTrue(inGap.await(10, TimeUnit.SECONDS), "the handshake's load went live");
            CertificateStatus renewed = a.renewNow(tested).get(30, TimeUnit.SECONDS);
            assertEquals(CertificateStatus.State.VALID, renewed.state(), renewed.toString());
            // One read: the order's adoption check. Before the fix the unit loaded the certificate again first (2 reads).
            assertEquals(1, unitReads.get(), "the unit of work did not read the stored certificate again to load it");
        } finally {
            gapGate.countDown();
            sweepGate.countDown();
        }
    }
}
