package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.LiveKeyManager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fault matrix: one test per fault, against real Pebble behind {@link FaultProxy}. Every test
 * starts from the same stored, valid certificate ("old"), injects one fault and checks that the
 * old certificate stays live and in the store, that the failure reaches the listener and the
 * status with the CA's detail, and that the retry is scheduled as the fault demands.
 */
// Only a 90-day profile, so every certificate has the same lifetime (the expiry-warning row depends on it).
@WithPebble(profiles = @WithPebble.Profile(name = "default", seconds = 90 * 24 * 3600))
class FaultMatrixTest {
    static final String APP = "app.autocert4j.test";
    static final Duration T = Duration.ofSeconds(20);
    static final List<Duration> BACKOFF = List.of(Duration.ofMinutes(5), Duration.ofMinutes(50), Duration.ofHours(8));

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    static Path seed;
    static BigInteger oldSerial;
    static byte[] oldBundle;
    static String bundleKey;

    @TempDir
    static Path shared;
    @TempDir
    Path store;

    List<CertEvent> events = new CopyOnWriteArrayList<>();
    AutoCert autoCert;

    @BeforeAll
    static void issueTheOldCertificate() throws Exception {
        seed = shared.resolve("seed");
        List<CertEvent> ev = new CopyOnWriteArrayList<>();
        try (AutoCert first = CA.build(builder(seed, ev))) {
            first.start();
            awaitEvent(ev, CertEvent.Issued.class);
            oldSerial = first.status(APP).orElseThrow().serial();
        }
        bundleKey = new StoreLayout(CA.proxy().directoryUri()).certBundle(APP);
        oldBundle = Files.readAllBytes(seed.resolve(bundleKey));
    }

    @BeforeEach
    void copySeed() throws IOException {
        copyTree(seed, store);   // the proxy is reset by FaultProxyExtension
    }

    @AfterEach
    void closeIt() {
        CA.proxy().rule(null);
        if (autoCert != null) {
            autoCert.close();
        }
    }

    static AutoCertBuilder builder(Path dir, List<CertEvent> events) {
        return CA.builder()
                .certificate(APP)
                .storageDirectory(dir)
                .renewal(RenewalPolicy.defaults().withBackoff(BACKOFF).withHttpTimeout(Duration.ofSeconds(1)).withOrderTimeout(Duration.ofSeconds(8)))
                .listener(events::add);
    }

    /** Starts on the copied store (the old certificate goes live), arms {@code rule}, forces a renewal and expects it to fail. */
    Failure renewUnder(FaultProxy.Rule rule) throws Exception {
        return renewUnder(builder(store, events), rule);
    }

    Failure renewUnder(AutoCertBuilder b, FaultProxy.Rule rule) throws Exception {
        autoCert = b.build();
        CA.answering(autoCert);
        CA.proxy().rule(rule);
        autoCert.start();
        assertEquals(oldSerial, autoCert.status(APP).orElseThrow().serial(), "the stored certificate is live at once");
        Instant before = Instant.now();
        ExecutionException e = assertThrows(ExecutionException.class, () -> autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
        Instant after = Instant.now();
        CertificateStatus s = autoCert.status(APP).orElseThrow();
        CertEvent.Failed failed = (CertEvent.Failed) events.stream().filter(ev -> ev instanceof CertEvent.Failed).reduce((a, c) -> c).orElseThrow();
        assertOldCertificateStaysLive();
        assertEquals(failed.error(), s.lastError(), "the status carries the same error as the event");
        return new Failure(e.getCause(), s, failed, before, after);
    }

    record Failure(Throwable cause, CertificateStatus status, CertEvent.Failed event, Instant before, Instant after) {
    }

    void assertOldCertificateStaysLive() throws IOException {
        CertificateStatus s = autoCert.status(APP).orElseThrow();
        assertEquals(oldSerial, s.serial(), "the old certificate stays live");
        LiveKeyManager km = (LiveKeyManager) autoCert.keyManager();
        X509Certificate[] chain = km.currentChain(APP);
        assertEquals(oldSerial, chain[0].getSerialNumber(), "the key manager serves the old certificate");
        assertArrayEquals(oldBundle, Files.readAllBytes(store.resolve(bundleKey)), "the stored bundle is untouched");
    }

    static void assertBetween(Instant expected0, Instant expected1, Instant actual, String what) {
        assertNotNull(actual, what + " is null");
        assertFalse(actual.isBefore(expected0) || actual.isAfter(expected1), what + " " + actual + " not in [" + expected0 + ", " + expected1 + "]");
    }

    // ------------------------------------------------------------------------------------ the matrix

    @Test
    void http503WithRetryAfterSecondsDefersExactly() throws Exception {
        Failure f = renewUnder((req, fwd) -> CA.proxy().is("newOrder").test(req)
                ? FaultProxy.Resp.of(503, "text/plain", "down for maintenance", "Retry-After", "137") : fwd.call());
        assertFalse(f.event.permanent());
        assertTrue(f.event.error().contains("503"), f.event.error());
        assertBetween(f.before.plusSeconds(137), f.after.plusSeconds(137), f.status.nextCheck(), "nextCheck");
        assertEquals(f.status.nextCheck(), f.event.nextAttempt());
    }

    @Test
    void http503WithRetryAfterDateDefersExactly() throws Exception {
        Instant at = Instant.now().plusSeconds(1000).truncatedTo(ChronoUnit.SECONDS);
        String date = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.ofInstant(at, ZoneOffset.UTC));
        Failure f = renewUnder((req, fwd) -> CA.proxy().is("newOrder").test(req)
                ? FaultProxy.Resp.problem(503, "serverInternal", "overloaded", "Retry-After", date) : fwd.call());
        assertFalse(f.event.permanent());
        assertTrue(f.event.error().contains("overloaded"), f.event.error());
        assertEquals(at, f.status.nextCheck());
    }

    @Test
    void rateLimitedDefersExactlyAsAsked() throws Exception {
        Failure f = renewUnder((req, fwd) -> CA.proxy().is("newOrder").test(req)
                ? FaultProxy.Resp.problem(429, "rateLimited", "too many certificates for this name", "Retry-After", "321") : fwd.call());
        assertFalse(f.event.permanent());
        assertTrue(f.event.error().contains("too many certificates for this name"), f.event.error());
        // acme4j counts delta-seconds from the response's Date header, which has whole seconds: up to 1 s earlier.
        assertBetween(f.before.plusSeconds(320), f.after.plusSeconds(321), f.status.nextCheck(), "nextCheck");
    }

    @Test
    void serverErrorBacksOffWithJitterAndGrows() throws Exception {
        FaultProxy.Rule rule = (req, fwd) -> CA.proxy().is("newOrder").test(req)
                ? FaultProxy.Resp.problem(500, "serverInternal", "database on fire") : fwd.call();
        Failure f = renewUnder(rule);
        assertTrue(f.event.error().contains("database on fire"), f.event.error());
        assertEquals(1, f.status.consecutiveFailures());
        Duration b0 = BACKOFF.get(0);
        assertBetween(f.before.plus(b0.multipliedBy(8).dividedBy(10)), f.after.plus(b0.multipliedBy(12).dividedBy(10)), f.status.nextCheck(), "1st retry");
        Instant b = Instant.now();
        assertThrows(ExecutionException.class, () -> autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
        CertificateStatus s2 = autoCert.status(APP).orElseThrow();
        assertEquals(2, s2.consecutiveFailures());
        Duration b1 = BACKOFF.get(1);
        assertBetween(b.plus(b1.multipliedBy(8).dividedBy(10)), Instant.now().plus(b1.multipliedBy(12).dividedBy(10)), s2.nextCheck(), "2nd retry");
        assertOldCertificateStaysLive();
    }

    @Test
    void caThatNeverAnswersIsCutOffByHttpTimeout() throws Exception {
        Failure f = renewUnder((req, fwd) -> {
            if (CA.proxy().is("newOrder").test(req)) {
                Thread.sleep(6_000);
                return FaultProxy.Resp.of(504, "text/plain", "gave up");
            }
            return fwd.call();
        });
        // renewNow only (build and start excluded): the CA stalls 6 s, the 1 s httpTimeout answers well before that
        assertTrue(Duration.between(f.before(), f.after()).compareTo(Duration.ofSeconds(5)) < 0, "bounded by the 1 s httpTimeout: "
                + Duration.between(f.before(), f.after()));
        assertTrue(f.event.error().toLowerCase().contains("timed out") || f.event.error().contains("httpTimeout"), f.event.error());
        assertFalse(f.event.permanent());
    }

    @Test
    void caThatStallsMidBodyIsCutOffByHttpTimeout() throws Exception {
        Failure f = renewUnder((req, fwd) -> CA.proxy().is("newOrder").test(req) ? fwd.call().stallBody(6_000) : fwd.call());
        // renewNow only (build and start excluded): the CA stalls 6 s, the 1 s httpTimeout answers well before that
        assertTrue(Duration.between(f.before(), f.after()).compareTo(Duration.ofSeconds(5)) < 0, "bounded by the 1 s httpTimeout: "
                + Duration.between(f.before(), f.after()));
        assertTrue(f.event.error().contains("httpTimeout"), f.event.error());
        assertFalse(f.event.permanent());
    }

    @Test
    void rejectedIdentifierIsPermanentAndStopsRetrying() throws Exception {
        // Checks run on a manual scheduler: "no retry" is proven by running a year of scheduled work, not by sleeping.
        ManualScheduler sched = new ManualScheduler(Instant.now());
        autoCert = builder(store, events).executor(sched).build();
        CA.answering(autoCert);
        CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req)
                ? FaultProxy.Resp.problem(400, "rejectedIdentifier", "Policy forbids issuing for name app.autocert4j.test") : fwd.call());
        autoCert.start();
        sched.runDue(); // the first check: the stored certificate is not due
        assertEquals(oldSerial, autoCert.status(APP).orElseThrow().serial(), "the stored certificate is live at once");
        java.util.concurrent.CompletableFuture<CertificateStatus> renewal = autoCert.renewNow(APP);
        sched.runDue();
        ExecutionException e = assertThrows(ExecutionException.class, () -> renewal.get(T.toSeconds(), TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IssuanceException ie && ie.permanent(), "a permanent IssuanceException: " + e.getCause());
        CertEvent.Failed failed = (CertEvent.Failed) events.stream().filter(ev -> ev instanceof CertEvent.Failed).reduce((a, c) -> c).orElseThrow();
        CertificateStatus s = autoCert.status(APP).orElseThrow();
        assertTrue(failed.permanent(), "no automatic retry");
        assertNull(failed.nextAttempt());
        assertEquals(CertificateStatus.State.FAILED, s.state());
        assertNull(s.nextCheck());
        assertTrue(failed.error().contains("Policy forbids issuing"), failed.error());
        assertEquals(1, CA.proxy().count("POST", "newOrder"), CA.proxy().seen::toString);
        assertEquals(0, sched.pending(), "nothing is scheduled for a permanently refused certificate");
        int ran = sched.tasksRun();
        sched.advance(Duration.ofDays(400)); // past every backoff step and every renewal window of the old certificate
        assertEquals(ran, sched.tasksRun(), "no check ran in a year");
        assertEquals(1, CA.proxy().count("POST", "newOrder"), () -> "no further order for a permanently refused certificate: " + CA.proxy().seen + events);
        assertOldCertificateStaysLive();
    }

    @Test
    void chainForAnotherKeyIsDiscarded() throws Exception {
        Failure f = renewUnder(forgeLeaf((realKey, now) -> CA.proxy().pki.leaf(FaultPki.ecKey().getPublic(), now.minusSeconds(60), now.plusSeconds(86_400), APP)));
        assertTrue(f.event.error().contains("does not match the private key"), f.event.error());
        assertFalse(f.event.permanent());
    }

    @Test
    void chainMissingANameIsDiscarded() throws Exception {
        Failure f = renewUnder(forgeLeaf((realKey, now) -> CA.proxy().pki.leaf(realKey, now.minusSeconds(60), now.plusSeconds(86_400), "other.autocert4j.test")));
        assertTrue(f.event.error().contains("does not cover " + APP), f.event.error());
    }

    @Test
    void expiredChainIsDiscarded() throws Exception {
        Failure f = renewUnder(forgeLeaf((realKey, now) -> CA.proxy().pki.leaf(realKey, now.minus(Duration.ofDays(10)), now.minus(Duration.ofDays(1)), APP)));
        assertTrue(f.event.error().contains("has expired"), f.event.error());
    }

    @Test
    void notYetValidChainIsDiscarded() throws Exception {
        Failure f = renewUnder(forgeLeaf((realKey, now) -> CA.proxy().pki.leaf(realKey, now.plus(Duration.ofDays(1)), now.plus(Duration.ofDays(9)), APP)));
        assertTrue(f.event.error().contains("not valid yet"), f.event.error());
    }

    @Test
    void challengeNotAnsweredFailsWithTheCasDetail() throws Exception {
        freshAccount();
        AutoCertBuilder b = builder(store, events);
        autoCert = b.build();
        CA.challenges().responder = null; // the host's port 80 answers 404 for every token
        autoCert.start();
        ExecutionException e = assertThrows(ExecutionException.class, () -> autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
        CertificateStatus s = autoCert.status(APP).orElseThrow();
        assertTrue(s.lastError().contains("could not validate " + APP) && s.lastError().contains("unauthorized"), s.lastError());
        assertTrue(s.lastError().contains("404"), "the CA's own detail is kept: " + s.lastError());
        assertNotNull(s.nextCheck());
        assertOldCertificateStaysLive();
    }

    /**
     * A fresh account for a test whose fault needs a pending authorization: Pebble may hand an
     * account a still-valid authorization from an earlier order (about 1 % even with reuse off),
     * and triggering its challenge is then refused ("Cannot update challenge with status valid").
     */
    void freshAccount() throws IOException {
        StoreLayout layout = new StoreLayout(CA.proxy().directoryUri());
        Files.delete(store.resolve(layout.accountKey()));
        Files.delete(store.resolve(layout.accountLocation()));
    }

    @Test
    void authorizationStuckPendingEndsAtOrderTimeout() throws Exception {
        freshAccount();
        long t0 = System.nanoTime();
        Failure f = renewUnder((req, fwd) -> {
            FaultProxy.Resp r = fwd.call();
            if (req.pathStarts("/authZ/")) {
                return r.withBody(r.bodyText().replaceAll("\"status\":\\s*\"(valid|invalid)\"", "\"status\": \"pending\"").getBytes(StandardCharsets.UTF_8));
            }
            return r;
        });
        long took = System.nanoTime() - t0;
        assertTrue(f.event.error().contains("still PENDING when the order timeout ran out"), f.event.error());
        assertTrue(took < TimeUnit.SECONDS.toNanos(15), "bounded by orderTimeout (8 s)");
        assertFalse(f.event.permanent());
    }

    @Test
    void caRefusingReplacesIsAskedAgainWithout() throws Exception {
        autoCert = builder(store, events).build();
        CA.answering(autoCert);
        CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req) && req.payload().contains("\"replaces\"")
                ? FaultProxy.Resp.problem(409, "alreadyReplaced", "certificate already replaced") : fwd.call());
        autoCert.start();
        CertificateStatus s = autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
        assertFalse(s.serial().equals(oldSerial), "renewed");
        List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
        assertEquals(2, orders.size(), "one order with replaces, one without: " + orders);
        assertTrue(orders.get(0).payload().contains("\"replaces\"") && orders.get(0).status() == 409);
        assertFalse(orders.get(1).payload().contains("\"replaces\""));
    }

    @Test
    void caRefusingReplacesWithAServerErrorIsAskedAgainWithout() throws Exception {
        // Pebble's own answer when it cannot find the order of the replaced certificate.
        autoCert = builder(store, events).build();
        CA.answering(autoCert);
        CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req) && req.payload().contains("\"replaces\"")
                ? FaultProxy.Resp.problem(500, "serverInternal", "could not find an order for the given certificate") : fwd.call());
        autoCert.start();
        CertificateStatus s = autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
        assertFalse(s.serial().equals(oldSerial), "renewed");
        List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
        assertEquals(2, orders.size(), "one order with replaces, one without: " + orders);
        assertTrue(orders.get(0).payload().contains("\"replaces\"") && orders.get(0).status() == 500);
        assertFalse(orders.get(1).payload().contains("\"replaces\""));
    }

    @Test
    void accountTheCaLostIsRegisteredAgainWithTheSameKey() throws Exception {
        Path accountKey = store.resolve(new StoreLayout(CA.proxy().directoryUri()).accountKey());
        byte[] keyBefore = Files.readAllBytes(accountKey);
        // Whether the shared seed certificate was already replaced depends on which rows ran before (Pebble then
        // refuses 'replaces'); this row renews from a certificate of its own, which nothing has replaced yet.
        try (AutoCert own = builder(store, new CopyOnWriteArrayList<>()).build()) {
            CA.answering(own);
            own.start();
            own.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
        }
        CA.proxy().reset();
        autoCert = builder(store, events).build();
        CA.answering(autoCert);
        java.util.concurrent.atomic.AtomicBoolean once = new java.util.concurrent.atomic.AtomicBoolean();
        CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req) && once.compareAndSet(false, true)
                ? FaultProxy.Resp.problem(400, "accountDoesNotExist", "no such account") : fwd.call());
        autoCert.start();
        CertificateStatus s = autoCert.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
        assertFalse(s.serial().equals(oldSerial), "renewed");
        assertEquals(1, CA.proxy().requests("POST", "newAccount").size(), "the stored key was registered again, once");
        List<FaultProxy.Seen> orders = CA.proxy().orders();
        assertEquals(2, orders.size(), "refused, then accepted: " + CA.proxy().seen);
        assertEquals(400, orders.get(0).status(), orders.toString());
        assertEquals(201, orders.get(1).status(), orders.toString());
        // (unless Pebble could not look this serial up: letsencrypt/pebble#550, see FaultProxy.pebbleLostPaddedSerial)
        assertTrue(orders.get(1).payload().contains("\"replaces\"") || CA.proxy().sawPebbleLosePaddedSerial(),
                "the accepted order still replaces this row's own certificate");
        org.junit.jupiter.api.Assertions.assertArrayEquals(keyBefore, Files.readAllBytes(accountKey), "the account key is never replaced");
        assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Failed), events.toString());
    }

    @Test
    void badNonceIsRetriedTransparently() throws Exception {
        // Pebble itself rejects 30% of nonces here; acme4j retries each request with a fresh one.
        int port = FreePorts.loopback();
        try (PebbleServer noisy = PebbleServer.builder().httpPort(port).env("PEBBLE_WFE_NONCEREJECT", "30").start();
             FaultProxy p = new FaultProxy(noisy, store);
             FaultProxy.ChallengeListener l = new FaultProxy.ChallengeListener(port);
             AutoCert ac = PebbleAutoCerts.builderFor(p.directoryUri(), p.caPem())
                     .certificate(APP).storageDirectory(store.resolve("noisy")).listener(events::add).build()) {
            l.responder = ac.http01();
            ac.start();
            awaitEvent(events, CertEvent.Issued.class);
            ac.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
            long rejected = p.seen.stream().filter(s -> s.status() == 400 && s.responseBody().contains("badNonce")).count();
            assertTrue(rejected > 0, "Pebble rejected some nonces: " + p.seen.size() + " requests");
            assertEquals(2, events.stream().filter(e -> e instanceof CertEvent.Issued).count());
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Failed), events.toString());
        }
    }

    @Test
    void expiryWarningFiresInsideTheConfiguredWindowWhileRenewalFails() throws Exception {
        Instant notAfter = Pem.decodeBundle(Files.readAllBytes(store.resolve(bundleKey))).notAfter();
        FaultProxy.Rule down = (req, fwd) -> CA.proxy().is("newOrder").test(req) ? FaultProxy.Resp.problem(500, "serverInternal", "CA down") : fwd.call();
        RenewalPolicy policy = RenewalPolicy.defaults().withBackoff(BACKOFF).withExpiryWarning(Duration.ofDays(12)).withHttpTimeout(Duration.ofSeconds(1));
        // 13 days left: due for renewal (1/3 rule), failing, but outside the 12-day warning window.
        List<CertEvent> quiet = new CopyOnWriteArrayList<>();
        try (AutoCert ac = builder(store, quiet).renewal(policy).clock(at(notAfter.minus(Duration.ofDays(13)))).build()) {
            CA.proxy().rule(down);
            ac.start();
            awaitEvent(quiet, CertEvent.Failed.class);
            assertTrue(quiet.stream().noneMatch(e -> e instanceof CertEvent.ExpiryWarning), quiet.toString());
        }
        // 11 days left: inside the window.
        PrintStream err = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        Failure f;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            f = renewUnder(builder(store, events).renewal(policy).clock(at(notAfter.minus(Duration.ofDays(11)))), down);
        } finally {
            System.setErr(err);
        }
        CertEvent.ExpiryWarning w = (CertEvent.ExpiryWarning) events.stream().filter(e -> e instanceof CertEvent.ExpiryWarning).findFirst()
                .orElseThrow(() -> new AssertionError("no ExpiryWarning: " + events));
        assertEquals(notAfter, w.notAfter());
        assertTrue(w.remaining().compareTo(Duration.ofDays(11)) <= 0 && w.remaining().compareTo(Duration.ofDays(11).minusMinutes(1)) > 0, w.toString());
        String log = captured.toString(StandardCharsets.UTF_8);
        assertTrue(log.lines().anyMatch(l -> l.contains("WARN") && l.contains("renewal keeps failing") && l.contains(APP)), log);
        assertTrue(f.event.error().contains("CA down"));
    }

    // ------------------------------------------------------------------------------------ helpers

    interface Forger {
        X509Certificate forge(PublicKey realKey, Instant now) throws Exception;
    }

    /** Replaces the certificate Pebble issued by a forged one (leaf + the proxy's CA) in the download. */
    static FaultProxy.Rule forgeLeaf(Forger forger) {
        return (req, fwd) -> {
            FaultProxy.Resp r = fwd.call();
            if (CA.proxy().isCertDownload(req) && r.status() == 200) {
                X509Certificate real = Pem.decodeCertificates(r.body()).get(0);
                X509Certificate fake = forger.forge(real.getPublicKey(), Instant.now());
                return r.withBody(FaultPki.pem(List.of(fake, CA.proxy().pki.ca)).getBytes(StandardCharsets.US_ASCII));
            }
            return r;
        };
    }

    static Clock at(Instant instant) {
        Duration offset = Duration.between(Instant.now(), instant);
        return Clock.offset(Clock.systemUTC(), offset);
    }

    static <E extends CertEvent> E awaitEvent(List<CertEvent> events, Class<E> type) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            for (CertEvent e : events) {
                if (type.isInstance(e)) {
                    return type.cast(e);
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no " + type.getSimpleName() + " within " + T + ": " + events + "\n" + CA.pebble().logTail(20));
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.sorted(Comparator.naturalOrder()).toList()) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.toString().contains("/locks/")) {
                    Files.copy(p, target);
                }
            }
        }
    }
}
