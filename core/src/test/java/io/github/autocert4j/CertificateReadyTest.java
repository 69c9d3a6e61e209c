package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AutoCert#certificateReady} does what its Javadoc says: a configured name (exactly or by its
 * wildcard) is ready at once, with the self-signed fallback while its first order is still running
 * (an event-loop server must serve it, not refuse the handshake), and it never starts an on-demand
 * order for it; a name nothing covers is not ready without on-demand TLS.
 */
@Timeout(60)
class CertificateReadyTest {
    @TempDir
    Path dir;

    /** A dns-01 solver that is never asked (the fake issuer answers no challenge): it only allows the wildcard. */
    static final ChallengeSolver DNS = new ChallengeSolver() {
        @Override
        public String challengeType() {
            return "dns-01";
        }

        @Override
        public void present(Challenge challenge) {
        }

        @Override
        public void cleanUp(Challenge challenge) {
        }
    };

    @Test
    void aConfiguredNameIsReadyWithTheFallbackWhileItsOrderRuns() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        issuer.then((i, r) -> {
            release.await(30, TimeUnit.SECONDS);
            return i.valid(r);
        });
        AtomicInteger asked = new AtomicInteger();
        OnDemand onDemand = OnDemand.allow(n -> {
            asked.incrementAndGet();
            return CompletableFuture.completedFuture(true);
        }).build();
        try (AutoCert a = AutoCert.builder().issuer(issuer).certificate("ready.test", "*.wild.ready.test")
                .challengeSolver(DNS).onDemand(onDemand).storageDirectory(dir).build().start()) {
            assertEquals("fallback#0", a.servedCertificate("ready.test").alias(), "the first order is still running");

            CompletableFuture<Boolean> exact = a.certificateReady("ready.test");
            CompletableFuture<Boolean> upper = a.certificateReady("READY.test");
            CompletableFuture<Boolean> wildcard = a.certificateReady("foo.wild.ready.test");
            assertTrue(exact.isDone() && exact.get(), "configured: ready at once (with the fallback)");
            assertTrue(upper.isDone() && upper.get(), "names are case-insensitive");
            assertTrue(wildcard.isDone() && wildcard.get(), "covered by the configured wildcard");
            assertEquals(0, asked.get(), "no on-demand decision, so no on-demand order, for configured names");

            release.countDown();
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (a.servedCertificate("ready.test").alias().startsWith("fallback") && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertFalse(a.servedCertificate("ready.test").alias().startsWith("fallback"), "issued");
            assertTrue(a.certificateReady("ready.test").get());
            assertEquals(1, issuer.issueCalls(), "one order: the configured certificate's");
        }
    }

    @Test
    void aNameNothingCoversIsNotReadyWithoutOnDemand() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        try (AutoCert a = AutoCert.builder().issuer(issuer).certificate("ready.test").storageDirectory(dir).build().start()) {
            assertFalse(a.certificateReady("other.test").get(5, TimeUnit.SECONDS));
            assertFalse(a.certificateReady("sub.ready.test").get(5, TimeUnit.SECONDS), "no wildcard configured");
            assertTrue(a.certificateReady(null).get(), "no SNI: the default certificate");
        }
    }
}
