package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.internal.assembly.Wiring;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate stopped as its first order stores what the CA issued (review of issue 23), against Pebble: the store's
 * write of the new bundle is held until {@code removeCertificate} or {@code close()} has stopped the certificate.
 * The certificate the CA issued is stored all the same (dropped, the next start would order a duplicate), never goes
 * live, and no Issued event is emitted; a removal with {@code revokeOnRemove} revokes that stored certificate and
 * deletes it. Before: the removal found nothing live to revoke and kept the stored copy (a valid certificate nobody
 * served or revoked), and an interrupt during the write (close()'s shutdownNow) lost the certificate.
 */
@WithPebble
@Timeout(120)
class RemovalDuringSavePebbleTest {
    static final String APP = "removal-during-save.autocert4j.test";

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();
    @TempDir
    Path dir;

    final CountDownLatch saving = new CountDownLatch(1);
    final CountDownLatch saveGate = new CountDownLatch(1);
    final List<CertEvent> events = new CopyOnWriteArrayList<>();

    /** Holds the first write of the bundle at {@link #saveGate}; then, if {@code interrupt}, writes with the thread interrupted. */
    CertStore held(boolean interrupt) throws IOException {
        AtomicBoolean first = new AtomicBoolean(true);
        return new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public void store(String key, byte[] data) throws IOException {
                if (key.equals(StoreLayout.certBundle(APP)) && first.getAndSet(false)) {
                    saving.countDown();
                    boolean interrupted = false;
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                    while (saveGate.getCount() > 0 && System.nanoTime() < deadline) {
                        try {
                            saveGate.await(100, TimeUnit.MILLISECONDS);
                        } catch (InterruptedException e) {
                            interrupted = true; // close()'s shutdownNow(); removal's stop() must not interrupt (asserted below)
                        }
                    }
                    if (!interrupt && interrupted) {
                        throw new AssertionError("stop() interrupted a save in progress");
                    }
                    if (interrupt) {
                        Thread.currentThread().interrupt(); // an interrupt during the write: the file channel fails
                    }
                }
                super.store(key, data);
            }
        };
    }

    @Test
    void removingACertificateWhoseOrderIsStoringRevokesAndDeletesTheStoredOne() throws Exception {
        try (AutoCert a = CA.build(CA.builder().certificate(APP).store(held(false)).listener(events::add)
                .revokeOnRemove("cessationOfOperation"))) {
            a.start();
            assertTrue(saving.await(60, TimeUnit.SECONDS), "the order reached its save");
            ManagedCertificate m = managed(a);
            CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> a.removeCertificate(APP));
            awaitStopped(m);
            saveGate.countDown();
            assertTrue(removal.get(30, TimeUnit.SECONDS), "removed");

            assertFalse(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "never went live: " + events);
            CertEvent.Revoked revoked = events.stream().filter(e -> e instanceof CertEvent.Revoked).map(e -> (CertEvent.Revoked) e)
                    .findFirst().orElseThrow(() -> new AssertionError("the stored certificate was not revoked: " + events));
            assertEquals("cessationOfOperation", revoked.reason());
            assertEquals("revoked", CA.pebble().certificateStatus(revoked.serial()).orElse("").toLowerCase(java.util.Locale.ROOT));
            assertEquals(Optional.empty(), FileCertStore.of(dir).load(StoreLayout.certBundle(APP)), "stored copy deleted");
        } finally {
            saveGate.countDown();
        }
    }

    @Test
    void closingAsTheOrderStoresKeepsTheIssuedCertificateThoughTheWriteIsInterrupted() throws Exception {
        AutoCert a = CA.build(CA.builder().certificate(APP).store(held(true)).listener(events::add));
        try {
            a.start();
            assertTrue(saving.await(60, TimeUnit.SECONDS), "the order reached its save");
            ManagedCertificate m = managed(a);
            CompletableFuture<Void> close = CompletableFuture.runAsync(a::close);
            awaitStopped(m);
            saveGate.countDown();
            close.get(30, TimeUnit.SECONDS);
            Path bundle = dir.resolve(StoreLayout.certBundle(APP));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(bundle) && System.nanoTime() < deadline) {
                Thread.sleep(50); // close() does not wait for the save's retry (500 ms after the interrupted write)
            }
            assertTrue(Files.exists(bundle), "the certificate the CA issued is stored: the next start serves it instead of ordering");
            Thread.sleep(200);
            assertFalse(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "no event after close(): " + events);
        } finally {
            saveGate.countDown();
            a.close();
        }
    }

    /**
     * The live certificate is revoked without the store lock (review: revoking under it left the live certificate valid
     * whenever the lock could not be taken: a store that is down, or a removal from a listener on the thread holding it).
     */
    @Test
    void removingWhileTheStoreLockCannotBeTakenStillRevokesTheLiveCertificate() throws Exception {
        AtomicBoolean locksFail = new AtomicBoolean();
        CertStore store = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Lock lock(String name) throws IOException {
                if (locksFail.get()) {
                    throw new CertStore.UnavailableException("store down (test)", null);
                }
                return super.lock(name);
            }
        };
        try (AutoCert a = CA.build(CA.builder().certificate(APP).store(store).listener(events::add)
                .revokeOnRemove("cessationOfOperation"))) {
            a.start();
            CertEvent.Issued issued = FaultMatrixTestAccess.await(events, CertEvent.Issued.class, java.time.Duration.ofSeconds(30));
            locksFail.set(true);
            assertTrue(a.removeCertificate(APP), "removed");
            CertEvent.Revoked revoked = events.stream().filter(e -> e instanceof CertEvent.Revoked).map(e -> (CertEvent.Revoked) e)
                    .findFirst().orElseThrow(() -> new AssertionError("the live certificate was not revoked: " + events));
            assertEquals(issued.serial(), revoked.serial());
            assertEquals("revoked", CA.pebble().certificateStatus(revoked.serial()).orElse("").toLowerCase(java.util.Locale.ROOT));
            assertTrue(Files.exists(dir.resolve(StoreLayout.certBundle(APP))), "the stored copy is kept: the lock to delete it was not had");
        }
    }

    /** The manager's state machine of {@link #APP} (held before removal takes it out of the set). */
    static ManagedCertificate managed(AutoCert a) throws ReflectiveOperationException {
        Field f = AutoCert.class.getDeclaredField("wiring");
        f.setAccessible(true);
        return ((Wiring) f.get(a)).managed(APP);
    }

    /** Waits (bounded) until stop() has marked {@code m} stopped. */
    static void awaitStopped(ManagedCertificate m) throws Exception {
        Field stopped = ManagedCertificate.class.getDeclaredField("stopped");
        stopped.setAccessible(true);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!stopped.getBoolean(m)) {
            assertTrue(System.nanoTime() < deadline, "stop() within 20 s");
            Thread.sleep(10);
        }
    }
}
