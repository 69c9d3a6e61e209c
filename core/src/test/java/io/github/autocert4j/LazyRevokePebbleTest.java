package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
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

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Revocation of a certificate lazy loading has not loaded yet (review of issue 23), against Pebble: the stored
 * certificate is loaded first and revoked at the CA, then replaced; before, the revocation failed with "no
 * CA-issued certificate live to revoke" although one was stored and valid. The background sweep is held at a gate
 * so that the certificate is still not loaded when {@code revoke} is called.
 */
@WithPebble
class LazyRevokePebbleTest {
    static final String APP = "lazy-revoke.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path dir;

    AutoCertBuilder builder(CertStore store, List<CertEvent> events) {
        return AutoCert.builder().directory(CA.proxy().directoryUri()).acmeServerTrust(CA.proxy().caPem()).agreeToTermsOfService(true)
                .certificate(APP).store(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withOrderTimeout(Duration.ofSeconds(20)));
    }

    @Test
    void revokingACertificateNotLoadedYetLoadsTheStoredOneRevokesAndReplacesIt() throws Exception {
        BigInteger stored;
        List<CertEvent> seeding = new CopyOnWriteArrayList<>();
        try (AutoCert a = builder(FileCertStore.of(dir), seeding).build()) {
            CA.challenges().responder = a.http01();
            CompletableFuture<CertificateStatus> live = a.managed(APP).whenLive();
            a.start();
            stored = live.get(T.toSeconds(), TimeUnit.SECONDS).serial();
        }

        CountDownLatch sweepGate = new CountDownLatch(1);
        CertStore gated = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                if (key.startsWith("certs/") && key.endsWith(".pem") && Thread.currentThread().getName().startsWith("autocert4j-lazy-sweep")) {
                    LazyLoadLockTest.await(sweepGate);
                }
                return super.load(key);
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = builder(gated, events).lazyLoadAbove(0).build()) {
            CA.challenges().responder = a.http01();
            a.start();
            assertEquals(CertificateStatus.State.NOT_LOADED, a.status(APP).orElseThrow().state());

            CertificateStatus replaced = a.revoke(APP, "keyCompromise").get(T.toSeconds(), TimeUnit.SECONDS);

            CertEvent.Revoked revoked = FaultMatrixTestAccess.await(events, CertEvent.Revoked.class, T);
            assertEquals(stored, revoked.serial(), "the stored certificate was revoked");
            assertEquals("revoked", CA.pebble().certificateStatus(stored).orElse("").toLowerCase(java.util.Locale.ROOT),
                    "Pebble's management API says so");
            assertEquals(CertificateStatus.State.VALID, replaced.state(), replaced.toString());
            assertNotEquals(stored, replaced.serial(), "a replacement went live");
            assertTrue(events.stream().anyMatch(e -> e instanceof CertEvent.Loaded l && l.serial().equals(stored)), events.toString());
        } finally {
            sweepGate.countDown();
        }
    }
}
