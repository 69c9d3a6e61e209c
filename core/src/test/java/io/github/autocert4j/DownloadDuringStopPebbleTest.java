package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * close() or a removal while an order waits for the CA after asking it to finalize, against Pebble behind a
 * {@link FaultProxy} that holds one request of the order until the certificate was stopped: the certificate the CA
 * signed is downloaded and stored all the same (lost, the next start would order a duplicate: Let's Encrypt allows 5 a
 * week), never goes live, and no Issued event is emitted; a removal with {@code revokeOnRemove} revokes it and deletes
 * it. Before: stop()'s interrupt (close()'s shutdownNow too) ended the held request and the certificate was lost.
 */
@WithPebble
@Timeout(120)
class DownloadDuringStopPebbleTest {
    static final String APP = "download-during-stop.autocert4j.test";

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path dir;

    final CountDownLatch held = new CountDownLatch(1);
    final CountDownLatch gate = new CountDownLatch(1);
    final List<CertEvent> events = new CopyOnWriteArrayList<>();

    /**
     * Holds the first request matching {@code which} at {@link #gate} (bounded); {@code answered}: after Pebble answered
     * it (the finalization request: the CA signs meanwhile), else before forwarding it (the download of a valid order).
     */
    void hold(Predicate<FaultProxy.Req> which, boolean answered) {
        AtomicBoolean first = new AtomicBoolean(true);
        CA.proxy().rule((req, fwd) -> {
            if (!which.test(req) || !first.getAndSet(false)) {
                return fwd.call();
            }
            FaultProxy.Resp resp = answered ? fwd.call() : null;
            held.countDown();
            gate.await(60, TimeUnit.SECONDS);
            return answered ? resp : fwd.call();
        });
    }

    @Test
    void closingWhileTheCertificateDownloadsStoresIt() throws Exception {
        hold(CA.proxy()::isCertDownload, false);
        closeWhileHeld();
    }

    /** stop() while the finalization's answer is awaited: the CA signs, the order polls until valid and downloads. */
    @Test
    void closingWhileFinalizingStoresTheCertificate() throws Exception {
        hold(r -> r.method().equals("POST") && r.pathStarts("/finalize-order/"), true);
        closeWhileHeld();
    }

    /**
     * With the host's own executor close() does not wait for the order at all and lets the CA's HTTP client go at once:
     * on Java 21+ that aborted the held download ({@code HttpClient.shutdownNow}) and the certificate was lost (this
     * class also runs on Java 25: core's pom). The client now stays until the order past its finalization ends.
     */
    @Test
    void closingWithTheHostsExecutorWhileTheCertificateDownloadsStoresIt() throws Exception {
        hold(CA.proxy()::isCertDownload, false);
        java.util.concurrent.ScheduledExecutorService own = java.util.concurrent.Executors.newScheduledThreadPool(1);
        try {
            closeWhileHeld(own);
        } finally {
            own.shutdownNow();
        }
    }

    void closeWhileHeld() throws Exception {
        closeWhileHeld(null);
    }

    void closeWhileHeld(java.util.concurrent.ScheduledExecutorService own) throws Exception {
        AutoCertBuilder builder = CA.builder().certificate(APP).storageDirectory(dir).listener(events::add);
        AutoCert a = CA.build(own == null ? builder : builder.executor(own));
        try {
            a.start();
            assertTrue(held.await(60, TimeUnit.SECONDS), "the order reached the held request");
            Thread close = new Thread(a::close, "test-close");
            close.start();
            if (own == null) {
                awaitIn(close, "awaitTermination"); // stop() and the executor's shutdownNow() have interrupted the order
            } else {
                close.join(TimeUnit.SECONDS.toMillis(30)); // nothing to wait for: the CA's client is let go, or kept for the order
                assertFalse(close.isAlive(), "close() returned while the download is held");
            }
            gate.countDown();
            close.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(close.isAlive(), "close() returned");
            Path bundle = dir.resolve(StoreLayout.certBundle(APP));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (!Files.exists(bundle) && System.nanoTime() < deadline) {
                Thread.sleep(50); // close() waits 5 s at most
            }
            assertTrue(Files.exists(bundle), "the certificate the CA signed is stored: the next start serves it instead of ordering");
            assertFalse(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "no Issued after close(): " + events);
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Failed), "not reported as a failure: " + events);
        } finally {
            gate.countDown();
            a.close();
        }
    }

    @Test
    void removingWhileTheCertificateDownloadsRevokesAndDeletesIt() throws Exception {
        hold(CA.proxy()::isCertDownload, false);
        try (AutoCert a = CA.build(CA.builder().certificate(APP).storageDirectory(dir).listener(events::add)
                .revokeOnRemove("cessationOfOperation"))) {
            a.start();
            assertTrue(held.await(60, TimeUnit.SECONDS), "the order reached the certificate's download");
            AtomicBoolean removed = new AtomicBoolean();
            Thread removal = new Thread(() -> removed.set(a.removeCertificate(APP)), "test-removal");
            removal.start();
            awaitIn(removal, "awaitIdle"); // stop() has interrupted the order
            gate.countDown();
            removal.join(TimeUnit.SECONDS.toMillis(30));
            assertTrue(removed.get(), "removed");

            assertFalse(events.stream().anyMatch(e -> e instanceof CertEvent.Issued), "never went live: " + events);
            CertEvent.Revoked revoked = events.stream().filter(e -> e instanceof CertEvent.Revoked).map(e -> (CertEvent.Revoked) e)
                    .findFirst().orElseThrow(() -> new AssertionError("the downloaded certificate was not stored and revoked: " + events));
            assertEquals("cessationOfOperation", revoked.reason());
            assertEquals("revoked", CA.pebble().certificateStatus(revoked.serial()).orElse("").toLowerCase(Locale.ROOT));
            assertEquals(Optional.empty(), FileCertStore.of(dir).load(StoreLayout.certBundle(APP)), "stored copy deleted");
        } finally {
            gate.countDown();
        }
    }

    /** Waits (bounded) until {@code t} is inside {@code method} or has ended: what it did before that has happened. */
    static void awaitIn(Thread t, String method) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (t.isAlive() && Arrays.stream(t.getStackTrace()).noneMatch(e -> e.getMethodName().equals(method))) {
            assertTrue(System.nanoTime() < deadline, t.getName() + " reached " + method + " within 20 s");
            Thread.sleep(10);
        }
    }
}
