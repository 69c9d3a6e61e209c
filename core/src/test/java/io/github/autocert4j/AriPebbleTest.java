package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.shredzone.acme4j.toolbox.AcmeUtils;
import org.shredzone.acme4j.toolbox.JSON;

/**
 * ARI (RFC 9773) against real Pebble 2.10 (and 2.4, which has none). A clock moved into the
 * CA's window makes the window, not the lifetime rule, decide; the renewal order carries
 * {@code replaces}. Pebble's window is only rewritten where the test needs a window Pebble
 * would not give (after the emergency point, a short Retry-After, an explanation URL).
 */
@IntegrationTest
class AriPebbleTest {
    static final String NAME = "ari.autocert4j.test";
    static final Duration T = Duration.ofSeconds(20);

    @TempDir
    Path work;

    /** Pebble, proxy, challenge port and a first certificate in {@code work/store}. */
    final class Setup implements AutoCloseable {
        final PebbleServer pebble;
        final FaultProxy proxy;
        final FaultProxy.ChallengeListener challenges;
        final Path store = work.resolve("store");
        final CertBundle first;
        final StoreLayout layout;

        final String profile;

        Setup(PebbleServer.Flavor flavor) throws Exception {
            int port = FreePorts.loopback();
            PebbleServer.Builder b = PebbleServer.builder().flavor(flavor).httpPort(port);
            // 90-day certificates, so that the ARI window and the lifetime rule fall on different days.
            profile = flavor.supportsProfiles() ? "ninety" : null;
            if (profile != null) {
                b.profile(profile, Duration.ofDays(90));
            }
            pebble = b.start();
            challenges = new FaultProxy.ChallengeListener(port);
            proxy = new FaultProxy(pebble, work);
            layout = new StoreLayout(proxy.directoryUri());
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert a = builder(events, Clock.systemUTC(), RenewalPolicy.defaults()).build()) {
                challenges.responder = a.http01();
                a.start();
                FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            }
            first = Pem.decodeBundle(Files.readAllBytes(store.resolve(layout.certBundle(NAME))));
            proxy.reset();
        }

        AutoCertBuilder builder(List<CertEvent> events, Clock clock, RenewalPolicy policy) {
            return AutoCert.builder().directory(proxy.directoryUri()).acmeServerTrust(proxy.caPem()).agreeToTermsOfService(true)
                    .certificate(NAME).storageDirectory(store).listener(events::add).clock(clock).renewal(policy).profile(profile);
        }

        AutoCert start(List<CertEvent> events, Clock clock, RenewalPolicy policy) {
            AutoCert a = builder(events, clock, policy).build();
            challenges.responder = a.http01();
            a.start();
            return a;
        }

        /** Pebble's own suggested window for {@code cert}, fetched directly. */
        Instant[] window(CertBundle cert) throws Exception {
            String path = proxy.dir.get("renewalInfo");
            URI uri = URI.create("https://127.0.0.1:" + pebble.directoryUri().getPort() + path + "/" + AcmeUtils.getRenewalUniqueIdentifier(cert.leaf()));
            HttpClient http = HttpClient.newBuilder().sslContext(pebble.acmeServerSslContext()).build();
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            JSON w = JSON.parse(r.body()).get("suggestedWindow").asObject();
            return new Instant[] {w.get("start").asInstant(), w.get("end").asInstant()};
        }

        @Override
        public void close() {
            challenges.close();
            proxy.close();
            pebble.close();
        }
    }

    /** Waits until the first check has rescheduled itself to after {@code threshold}. */
    static void awaitNextCheckAfter(AutoCert a, Instant threshold) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (System.nanoTime() < deadline) {
            Instant next = a.status(NAME).orElseThrow().nextCheck();
            if (next != null && next.isAfter(threshold)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no check rescheduled after " + threshold + ": " + a.status());
    }

    static Clock at(Instant t) {
        return FaultMatrixTest.at(t);
    }

    @Test
    void renewsAtARandomMomentInsidePebblesWindowWithReplaces() throws Exception {
        try (Setup s = new Setup(PebbleServer.Flavor.LATEST)) {
            Instant[] w = s.window(s.first);
            // The lifetime rule (renew with 20% left) would wait longer than the whole window: ARI must be what decides.
            RenewalPolicy policy = RenewalPolicy.defaults().withRenewalRatio(0.2);
            Instant lifetimeRule = s.first.notAfter().minus(Duration.ofMillis((long) (s.first.lifetime().toMillis() * 0.2)));
            assertTrue(w[1].isBefore(lifetimeRule), "Pebble's window " + w[0] + ".." + w[1] + " ends before the lifetime rule " + lifetimeRule);

            // Well before the window: no renewal.
            List<CertEvent> early = new CopyOnWriteArrayList<>();
            Instant before = w[0].minus(Duration.ofDays(2));
            try (AutoCert a = s.start(early, at(before), policy)) {
                awaitNextCheckAfter(a, before.plusSeconds(60));
                assertNull(a.status(NAME).orElseThrow().lastAttempt(), "not due before the window");
            }
            assertEquals(1, s.proxy.count("GET", "renewalInfo"), "ARI fetched once per check");
            assertEquals(0, s.proxy.count("POST", "newOrder"));

            // Fifteen seconds before the window ends: a moment in [now, end] is chosen and the renewal happens then (15 s, not
            // 3: build, start and the ARI fetch of a loaded 2-core machine must not carry the clock past the window's end).
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            Clock clock = at(w[1].minusSeconds(15));
            try (AutoCert a = s.start(events, clock, policy)) {
                CertEvent.Issued issued = FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T.plusSeconds(15));
                assertTrue(issued.renewal());
                Instant attempted = a.status(NAME).orElseThrow().lastAttempt();
                assertFalse(attempted.isBefore(w[0]) || attempted.isAfter(w[1].plusMillis(500)), "renewed at " + attempted + " inside " + w[0] + ".." + w[1]);
            }
            // (With the clock held in the window, each new certificate is due again at once: only the first order matters.)
            List<FaultProxy.Seen> orders = s.proxy.requests("POST", "newOrder");
            assertFalse(orders.isEmpty());
            String certId = AcmeUtils.getRenewalUniqueIdentifier(s.first.leaf());
            assertTrue(orders.get(0).payload().contains("\"replaces\":\"" + certId + "\""), orders.get(0).payload());
            if (FaultProxy.pebbleLostPaddedSerial(orders.get(0))) {
                // Pebble's own defect with this serial (letsencrypt/pebble#550): the same order without 'replaces' follows
                assertEquals(201, orders.get(1).status(), orders.toString());
                assertFalse(orders.get(1).payload().contains("replaces"), orders.toString());
            } else {
                assertEquals(201, orders.get(0).status(), "Pebble accepted the replacement order");
            }
        }
    }

    @Test
    void withoutAriTheLifetimeRuleDecidesAndNoReplacesIsSent() throws Exception {
        try (Setup s = new Setup(PebbleServer.Flavor.DEBIAN_12)) {
            assertFalse(s.proxy.dir.containsKey("renewalInfo"), "Pebble 2.4 has no ARI");
            Instant due = s.first.notAfter().minus(s.first.lifetime().dividedBy(3));
            List<CertEvent> quiet = new CopyOnWriteArrayList<>();
            Instant notYet = due.minus(Duration.ofHours(2));
            try (AutoCert a = s.start(quiet, at(notYet), RenewalPolicy.defaults())) {
                awaitNextCheckAfter(a, notYet.plusSeconds(60));
                assertNull(a.status(NAME).orElseThrow().lastAttempt(), "not due two hours before 1/3 of the lifetime remains");
                Instant next = a.status(NAME).orElseThrow().nextCheck();
                assertTrue(!next.isAfter(due.plusSeconds(1)), "the next check is no later than the due moment: " + next);
            }
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert a = s.start(events, at(due.plusSeconds(60)), RenewalPolicy.defaults())) {
                FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            }
            List<FaultProxy.Seen> orders = s.proxy.requests("POST", "newOrder");
            assertFalse(orders.isEmpty());
            assertTrue(orders.stream().noneMatch(o -> o.payload().contains("replaces")), orders.toString());
            assertEquals(0, s.proxy.seen.stream().filter(x -> x.path().contains("enewal")).count(), "no ARI requests");
        }
    }

    @Test
    void emergencyRenewalOverridesAWindowAfterExpiryAndRetryAfterIsClampedAndExplanationLogged() throws Exception {
        try (Setup s = new Setup(PebbleServer.Flavor.LATEST)) {
            Instant notAfter = s.first.notAfter();
            // The CA (rewritten) suggests renewing only after expiry, asks again in 5 s and links an explanation.
            String late = "{\"suggestedWindow\":{\"start\":\"" + notAfter.plus(Duration.ofDays(1)) + "\",\"end\":\"" + notAfter.plus(Duration.ofDays(2))
                    + "\"},\"explanationURL\":\"https://ca.autocert4j.test/incident/42\"}";
            s.proxy.rule((req, fwd) -> {
                FaultProxy.Resp r = fwd.call();
                if (req.method().equals("GET") && s.proxy.is("renewalInfo").test(req) && r.status() == 200) {
                    return FaultProxy.Resp.of(200, "application/json", late, "Retry-After", "5");
                }
                return r;
            });
            Duration twentieth = s.first.lifetime().dividedBy(20);

            // Just before the emergency point: ARI says "later", so nothing happens; next ARI fetch in 1 min (5 s clamped).
            Instant calm = notAfter.minus(twentieth).minus(Duration.ofHours(6));
            PrintStream err = System.err;
            ByteArrayOutputStream log = new ByteArrayOutputStream();
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            try (AutoCert a = s.start(new CopyOnWriteArrayList<>(), at(calm), RenewalPolicy.defaults())) {
                awaitNextCheckAfter(a, calm.plusSeconds(30));
                CertificateStatus st = a.status(NAME).orElseThrow();
                assertNull(st.lastAttempt(), "the window is later and the emergency point not reached");
                Duration untilNext = Duration.between(calm, st.nextCheck());
                assertTrue(untilNext.compareTo(Duration.ofSeconds(55)) > 0 && untilNext.compareTo(Duration.ofSeconds(70)) < 0,
                        "Retry-After 5 s clamped to 1 min: " + untilNext);
            } finally {
                System.setErr(err);
            }
            String text = log.toString(StandardCharsets.UTF_8);
            assertTrue(text.contains("https://ca.autocert4j.test/incident/42"), "explanation URL logged: " + text);

            // Inside the last 1/20 of the lifetime: renew at once, whatever ARI says.
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert a = s.start(events, at(notAfter.minus(twentieth).plus(Duration.ofHours(1))), RenewalPolicy.defaults())) {
                FaultMatrixTestAccess.await(events, CertEvent.Issued.class, T);
            }
        }
    }
}
