package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.lang.reflect.Field;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.internal.assembly.Wiring;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code removeCertificate} with {@code revokeOnRemove} while a renewal's store write is held past the removal's 10 s
 * wait for the order (docs/operations.md, docs/security.md): the live certificate is revoked at once all the same; the
 * removal then waits for the store lock the order holds. If it gets it (the store's lock timeout, 10 minutes by
 * default, outlasts the write), it revokes and deletes what the order stored; if not (a store with a shorter lock
 * timeout), a WARN names the revoked serial and the fix, and what the order stores is stored whole (certificate and
 * metadata: nothing lost or half-deleted), not served, and kept for the CLI.
 */
@WithPebble
@Timeout(180)
class RemovalPastItsWaitPebbleTest {
    static final String APP = "removal-past-wait.autocert4j.test";

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();
    @TempDir
    Path dir;

    final AtomicBoolean armed = new AtomicBoolean();
    final CountDownLatch saving = new CountDownLatch(1);
    final CountDownLatch gate = new CountDownLatch(1);
    final List<CertEvent> events = new CopyOnWriteArrayList<>();

    /** Once {@link #armed}, holds the next write of the bundle at {@link #gate} (bounded); stop() must not interrupt it. */
    CertStore held(FileCertStore files) {
        return new DelegatingStore(files) {
            @Override
            public void store(String key, byte[] data) throws IOException {
                if (key.equals(StoreLayout.certBundle(APP)) && armed.getAndSet(false)) {
                    saving.countDown();
                    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                    while (gate.getCount() > 0 && System.nanoTime() < deadline) {
                        try {
                            gate.await(100, TimeUnit.MILLISECONDS);
                        } catch (InterruptedException e) {
                            throw new AssertionError("the removal interrupted a save in progress", e);
                        }
                    }
                }
                super.store(key, data);
            }
        };
    }

    /** Issues the first certificate, then holds its renewal's store write; returns the first serial. */
    BigInteger liveThenRenewalHeld(AutoCert a) throws Exception {
        a.start();
        BigInteger first = FaultMatrixTestAccess.await(events, CertEvent.Issued.class, Duration.ofSeconds(60)).serial();
        armed.set(true);
        a.renewNow(APP);
        assertTrue(saving.await(60, TimeUnit.SECONDS), "the renewal reached its save");
        return first;
    }

    @Test
    void aStoreLockFreedInTimeRevokesAndDeletesWhatTheOrderStored() throws Exception {
        try (AutoCert a = CA.build(CA.builder().certificate(APP).store(held(FileCertStore.of(dir))).listener(events::add)
                .revokeOnRemove("cessationOfOperation"))) {
            BigInteger first = liveThenRenewalHeld(a);
            AtomicBoolean removed = new AtomicBoolean();
            Thread removal = new Thread(() -> removed.set(a.removeCertificate(APP)), "test-removal");
            removal.start();
            // Past its 10 s wait for the order: the live certificate is revoked, then it waits for the store lock.
            awaitIn(removal, "FileCertStore", "lock", Duration.ofSeconds(40));
            assertEquals(List.of(first), revokedSerials(), "the live certificate was revoked before the store lock was had");
            gate.countDown();
            removal.join(TimeUnit.SECONDS.toMillis(30));
            assertTrue(removed.get(), "removed");

            List<BigInteger> revoked = revokedSerials();
            assertEquals(2, revoked.size(), "the live certificate and the one the order stored: " + events);
            assertNotEquals(first, revoked.get(1));
            for (BigInteger serial : revoked) {
                assertEquals("revoked", CA.pebble().certificateStatus(serial).orElse("").toLowerCase(Locale.ROOT), serial.toString(16));
            }
            FileCertStore files = FileCertStore.of(dir);
            assertEquals(Optional.empty(), files.load(StoreLayout.certBundle(APP)), "stored certificate deleted");
            assertEquals(Optional.empty(), files.load(StoreLayout.certMeta(APP)), "its metadata deleted");
            assertEquals(1, events.stream().filter(e -> e instanceof CertEvent.Issued).count(), "the renewal never went live: " + events);
        } finally {
            gate.countDown();
        }
    }

    @Test
    void aStoreLockNotHadInTimeRevokesTheLiveOneWarnsAndKeepsWhatTheOrderStoresWhole() throws Exception {
        try (AutoCert a = CA.build(CA.builder().certificate(APP).store(held(FileCertStore.of(dir, Duration.ofSeconds(3))))
                .listener(events::add).revokeOnRemove("cessationOfOperation"))) {
            BigInteger first = liveThenRenewalHeld(a);
            ManagedCertificate m = ((Wiring) WIRING.get(a)).managed(APP);
            PrintStream err = System.err;
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            boolean removed;
            try {
                removed = a.removeCertificate(APP); // 10 s for the order, then 3 s for the store lock it holds
            } finally {
                System.setErr(err);
            }
            assertTrue(removed, "removed");
            assertEquals(List.of(first), revokedSerials(), "the live certificate was revoked");
            assertEquals("revoked", CA.pebble().certificateStatus(first).orElse("").toLowerCase(Locale.ROOT));
            String text = log.toString(StandardCharsets.UTF_8);
            String warn = Arrays.stream(text.split("\n")).filter(l -> l.contains("WARN") && l.contains("stored copy could not be checked"))
                    .findFirst().orElseThrow(() -> new AssertionError("no WARN about the stored copy: " + text));
            assertTrue(warn.contains("serial " + first.toString(16) + ", was revoked") && warn.contains("Fix: ")
                    && warn.contains("autocert4j revoke") && warn.contains("no order still storing holds its lock"), warn);

            gate.countDown();
            assertTrue(m.awaitIdle(Duration.ofSeconds(30)), "the renewal's order ended");
            FileCertStore files = FileCertStore.of(dir);
            BigInteger stored = Pem.decodeBundle(files.load(StoreLayout.certBundle(APP)).orElseThrow()).serial();
            Properties meta = new Properties();
            meta.load(new StringReader(new String(files.load(StoreLayout.certMeta(APP)).orElseThrow(), StandardCharsets.UTF_8)));
            assertNotEquals(first, stored, "the renewal is stored, not lost");
            assertEquals(stored.toString(16), meta.getProperty("serial"), "stored whole: its metadata names it");
            assertEquals("valid", CA.pebble().certificateStatus(stored).orElse("").toLowerCase(Locale.ROOT), "kept for the CLI to revoke");
            assertEquals(1, events.stream().filter(e -> e instanceof CertEvent.Issued).count(), "the renewal never went live: " + events);
            assertFalse(a.status(APP).isPresent(), "no longer managed");
        } finally {
            gate.countDown();
        }
    }

    static final Field WIRING = wiringField();

    static Field wiringField() {
        try {
            Field f = AutoCert.class.getDeclaredField("wiring");
            f.setAccessible(true);
            return f;
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }

    List<BigInteger> revokedSerials() {
        return events.stream().filter(e -> e instanceof CertEvent.Revoked).map(e -> ((CertEvent.Revoked) e).serial()).toList();
    }

    /** Waits (bounded) until {@code t} runs {@code method} of a class whose name ends with {@code type}. */
    static void awaitIn(Thread t, String type, String method, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (Arrays.stream(t.getStackTrace()).noneMatch(e -> e.getClassName().endsWith(type) && e.getMethodName().equals(method))) {
            assertTrue(t.isAlive() && System.nanoTime() < deadline, t.getName() + " reached " + type + "." + method + " within " + max);
            Thread.sleep(10);
        }
    }
}
