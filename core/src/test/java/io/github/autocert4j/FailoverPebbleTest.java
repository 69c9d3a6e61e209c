package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two real Pebbles as two CAs: {@code directory(first)} and {@code acmeCa(second)}. When the first
 * is down (connection refused) or rate-limits (429 rateLimited with Retry-After, injected by a
 * {@link FaultProxy}), the certificate comes from the second; a rate-limited CA is not asked again
 * for that certificate before its Retry-After; the stored certificate remembers its CA and a
 * restart serves it without any order.
 */
@IntegrationTest
class FailoverPebbleTest {
    static final String NAME = "failover.autocert4j.test";

    static PebbleServer first;
    static PebbleServer second;
    static FaultProxy firstProxy;
    static FaultProxy secondProxy;
    static FaultProxy.ChallengeListener challenges;
    static int httpPort;
    @TempDir
    static Path work;

    @BeforeAll
    static void start() throws Exception {
        httpPort = FreePorts.loopback();
        first = PebbleServer.builder().httpPort(httpPort).start();
        second = PebbleServer.builder().httpPort(httpPort).start();
        challenges = new FaultProxy.ChallengeListener(httpPort);
        firstProxy = new FaultProxy(first, Files.createDirectories(work.resolve("first")));
        secondProxy = new FaultProxy(second, Files.createDirectories(work.resolve("second")));
    }

    @AfterAll
    static void stop() {
        challenges.close();
        firstProxy.close();
        secondProxy.close();
        first.close();
        second.close();
    }

    @BeforeEach
    void reset() {
        firstProxy.reset();
        secondProxy.reset();
    }

    static AcmeCa secondCa() {
        return AcmeCa.of(secondProxy.directoryUri()).withServerTrust(secondProxy.caPem());
    }

    @Test
    void aCaThatIsDownFailsOverToTheNextAndTheStoredCertificateRemembersItsCa(@TempDir Path store) throws Exception {
        // A real Pebble, stopped: its port refuses connections.
        Path deadCa = Files.copy(first.acmeServerCaPem(), work.resolve("dead-ca.pem"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        java.net.URI deadDirectory;
        try (PebbleServer dead = PebbleServer.builder().httpPort(httpPort).start()) {
            deadDirectory = dead.directoryUri();
        }
        String secondId = StoreLayout.caId(secondProxy.directoryUri());
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCertBuilder builder = AutoCert.builder().directory(deadDirectory).acmeServerTrust(deadCa).acmeCa(secondCa())
                .agreeToTermsOfService(true).certificate(NAME).storageDirectory(store).listener(events::add);
        try (AutoCert autoCert = builder.build()) {
            challenges.responder = autoCert.http01();
            autoCert.start();
            CertificateStatus s = autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
            assertEquals(secondId, s.issuerId(), s.toString());
            assertTrue(events.stream().anyMatch(e -> e instanceof CertEvent.Issued i && secondId.equals(i.issuerId())), events.toString());
        }
        String meta = Files.readString(store.resolve(StoreLayout.certMeta(NAME)), StandardCharsets.UTF_8);
        assertTrue(meta.contains("issuer=" + secondId), meta);
        assertTrue(Files.isDirectory(store.resolve("acme/" + secondId + "/account")), "account kept per CA");

        // Restart: served from the store, issuer known, no order anywhere.
        secondProxy.reset();
        List<CertEvent> again = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder.listener(again::add).build()) {
            autoCert.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            while (System.nanoTime() < deadline && autoCert.status(NAME).orElseThrow().nextCheck() == null) {
                Thread.sleep(20);
            }
            Thread.sleep(300);
            CertificateStatus s = autoCert.status(NAME).orElseThrow();
            assertEquals(CertificateStatus.State.VALID, s.state());
            assertEquals(secondId, s.issuerId());
            assertNull(s.lastAttempt(), "no order after the restart");
            assertEquals(0, secondProxy.count("POST", "newOrder"), "no order at the second CA");
            assertTrue(again.stream().allMatch(e -> e instanceof CertEvent.Loaded), again.toString());
        }
    }

    @Test
    void aRateLimitingCaIsSkippedUntilItsRetryAfterAndAskedAgainAfterwards(@TempDir Path store) throws Exception {
        firstProxy.rule((req, fwd) -> firstProxy.is("newOrder").test(req)
                ? FaultProxy.Resp.problem(429, "rateLimited", "too many new orders", "Retry-After", "3600") : fwd.call());
        OffsetClock clock = new OffsetClock();
        String firstId = StoreLayout.caId(firstProxy.directoryUri());
        String secondId = StoreLayout.caId(secondProxy.directoryUri());
        try (AutoCert autoCert = AutoCert.builder().directory(firstProxy.directoryUri()).acmeServerTrust(firstProxy.caPem())
                .acmeCa(secondCa()).agreeToTermsOfService(true).certificate(NAME).storageDirectory(store).clock(clock).build()) {
            challenges.responder = autoCert.http01();
            java.util.concurrent.CompletableFuture<CertificateStatus> live = autoCert.managed(NAME).whenLive();
            autoCert.start();
            CertificateStatus s = live.get(30, TimeUnit.SECONDS);
            assertEquals(secondId, s.issuerId(), "the rate-limited CA was passed over");
            assertEquals(1, firstProxy.count("POST", "newOrder"), "the first CA was asked once");

            // Within its Retry-After the first CA is not asked at all; the second issues again.
            s = autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
            assertEquals(secondId, s.issuerId());
            assertEquals(1, firstProxy.count("POST", "newOrder"), "not asked again before its Retry-After");
            assertEquals(2, secondProxy.orders().size()); // its certificate replaced: less Pebble's own refusal (FaultProxy.orders)

            // After its Retry-After it is first in line again (and now issues).
            firstProxy.rule(null);
            clock.offset = Duration.ofHours(2);
            s = autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
            assertEquals(firstId, s.issuerId());
            assertEquals(2, firstProxy.count("POST", "newOrder"));
            assertEquals(2, secondProxy.orders().size()); // its certificate replaced: less Pebble's own refusal (FaultProxy.orders)
        }
    }

    /** The system clock plus an offset the test sets: time passes (Pebble does not backdate) and can jump. */
    static final class OffsetClock extends java.time.Clock {
        volatile Duration offset = Duration.ZERO;

        @Override
        public java.time.ZoneId getZone() {
            return java.time.ZoneOffset.UTC;
        }

        @Override
        public java.time.Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return Instant.now().plus(offset);
        }
    }
}
