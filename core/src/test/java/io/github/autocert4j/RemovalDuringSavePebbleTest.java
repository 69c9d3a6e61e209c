package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code removeCertificate} with {@code revokeOnRemove} as the certificate's first order returns (review of issue 23),
 * against Pebble: the order's save of the new certificate is held until the removal has stopped the certificate, so
 * the certificate is stored but never goes live. Before, the removal found nothing live to revoke, logged "removed but
 * not revoked" and kept the stored copy: a valid certificate nobody served or revoked. Now the stored one is revoked
 * and deleted.
 */
@WithPebble
@Timeout(120)
class RemovalDuringSavePebbleTest {
    static final String APP = "removal-during-save.autocert4j.test";

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();
    @TempDir
    Path dir;

    @Test
    void removingACertificateWhoseOrderIsStoringRevokesAndDeletesTheStoredOne() throws Exception {
        CountDownLatch saving = new CountDownLatch(1);
        CountDownLatch saveGate = new CountDownLatch(1);
        CertStore held = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public void store(String key, byte[] data) throws IOException {
                if (key.equals(StoreLayout.certBundle(APP))) {
                    saving.countDown();
                    awaitUninterruptibly(saveGate); // as a store that ignores interrupts (JDBC): the write lands after stop()
                }
                super.store(key, data);
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = CA.build(CA.builder().certificate(APP).store(held).listener(events::add)
                .revokeOnRemove("cessationOfOperation"))) {
            a.start();
            assertTrue(saving.await(60, TimeUnit.SECONDS), "the order reached its save");
            CompletableFuture<Boolean> removal = CompletableFuture.supplyAsync(() -> a.removeCertificate(APP));
            Thread.sleep(300); // the removal has stopped the certificate and waits for the order
            saveGate.countDown();
            assertTrue(removal.get(30, TimeUnit.SECONDS), "removed");

            assertFalse(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "never went live: " + events);
            CertEvent.Revoked revoked = events.stream().filter(e -> e instanceof CertEvent.Revoked).map(e -> (CertEvent.Revoked) e)
                    .findFirst().orElseThrow(() -> new AssertionError("the stored certificate was not revoked: " + events));
            assertEquals("cessationOfOperation", revoked.reason());
            assertEquals(Optional.empty(), FileCertStore.of(dir).load(StoreLayout.certBundle(APP)), "stored copy deleted");
            BigInteger serial = revoked.serial();
            assertTrue(serial.signum() > 0, serial.toString());
        } finally {
            saveGate.countDown();
        }
    }

    /** Waits for {@code latch} through interrupts, and swallows them (the test's store ignores interrupts). */
    static void awaitUninterruptibly(CountDownLatch latch) {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (latch.getCount() > 0 && System.nanoTime() < deadline) {
            try {
                latch.await(100, TimeUnit.MILLISECONDS);
            } catch (InterruptedException ignored) {
                // on: the write lands after stop() all the same
            }
        }
    }
}
