package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The renewal state machine driven by a fake issuer and a manual clock: every rule of scheduling,
 * renewal, backoff, failure and the run-time certificate set, in virtual time, without Pebble.
 * Each defect the core v2 review found has a test here that fails on the code before the fix.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class RenewalSchedulerTest {
    static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    static final String APP = "app.sched.test";
    static final Duration MIN = Duration.ofMinutes(1);
    static final Duration HOUR = Duration.ofHours(1);
    static final Duration DAY = Duration.ofDays(1);

    @TempDir
    Path dir;
    ManualScheduler sched;
    FakeIssuer issuer;
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
    final List<AutoCert> opened = new ArrayList<>();

    @BeforeEach
    void setUp() {
        sched = new ManualScheduler(T0);
        issuer = new FakeIssuer("fake-ca", sched.clock());
    }

    @AfterEach
    void tearDown() {
        opened.forEach(AutoCert::close);
    }

    AutoCertBuilder builder(Issuer is, String... names) {
        return AutoCert.builder().issuer(is).certificate(names.length == 0 ? new String[] {APP} : names).storageDirectory(dir)
                .executor(sched).clock(sched.clock()).listener(events::add);
    }

    AutoCert start(AutoCertBuilder b) {
        AutoCert a = b.build();
        opened.add(a);
        a.start();
        sched.runDue();
        return a;
    }

    AutoCert start() {
        return start(builder(issuer));
    }

    <E extends CertEvent> List<E> events(Class<E> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    static CertificateStatus status(AutoCert a) {
        return a.status(APP).orElseThrow();
    }

    static BigInteger served(AutoCert a, String name) {
        return a.servedCertificate(name).chain().get(0).getSerialNumber();
    }

    static Throwable failure(CompletableFuture<?> f) {
        assertTrue(f.isDone(), "future is done");
        ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(1, TimeUnit.SECONDS));
        return e.getCause();
    }

    // ------------------------------------------------------------------ issuance and schedule

    @Test
    void firstStartOrdersOnceAndServesTheCertificate() {
        AutoCert a = start();
        assertEquals(1, issuer.issueCalls());
        CertificateStatus s = status(a);
        assertEquals(CertificateStatus.State.VALID, s.state());
        assertEquals("fake-ca", s.issuerId());
        assertEquals(s.serial(), served(a, APP));
        CertEvent.Issued issued = events(CertEvent.Issued.class).get(0);
        assertFalse(issued.renewal());
        assertEquals(s.serial(), issued.serial());
        assertNotNull(issued.took());
        // the check after the order: not due, next look within the check interval (12 h, -10 %)
        assertTrue(!s.nextCheck().isBefore(T0.plus(Duration.ofMinutes(648))) && !s.nextCheck().isAfter(T0.plus(Duration.ofHours(12))),
                s.nextCheck().toString());
    }

    @Test
    void aValidStoredCertificateIsServedAtStartWithoutAnOrder() {
        AutoCert first = start();
        BigInteger serial = status(first).serial();
        first.close();
        events.clear();
        AutoCert second = builder(issuer).build();
        opened.add(second);
        second.start();
        assertEquals(CertificateStatus.State.VALID, status(second).state(), "served before any check ran");
        assertEquals(serial, served(second, APP));
        assertEquals(1, events(CertEvent.Loaded.class).size());
        sched.runDue();
        assertEquals(1, issuer.issueCalls(), "no order for a valid stored certificate");
    }

    @Test
    void aCertificateThatIsNotDueIsLookedAtAboutEveryCheckInterval() {
        AutoCert a = start();
        int before = issuer.windowCalls.get();
        sched.advance(Duration.ofDays(5));
        assertEquals(1, issuer.issueCalls());
        int checks = issuer.windowCalls.get() - before;
        assertTrue(checks >= 9 && checks <= 12, "about two checks a day: " + checks);
        assertTrue(status(a).nextCheck().isAfter(sched.now()) && !status(a).nextCheck().isAfter(sched.now().plus(Duration.ofHours(12))));
    }

    static Instant aThirdLeft(CertificateStatus s) {
        return s.notAfter().minus(Duration.between(s.notBefore(), s.notAfter()).dividedBy(3));
    }

    @Test
    void withoutAriTheRenewalComesWhenAThirdOfTheLifetimeRemains() {
        AutoCert a = start();
        Instant renewAt = aThirdLeft(status(a));
        sched.advanceTo(renewAt.minusSeconds(1));
        assertEquals(1, issuer.issueCalls(), "not before");
        sched.advance(Duration.ofSeconds(2));
        assertEquals(2, issuer.issueCalls());
        assertEquals(renewAt, issuer.times.get(1), "exactly at notAfter - lifetime/3");
        assertTrue(events(CertEvent.Issued.class).get(1).renewal());
    }

    @Test
    void shortLivedCertificatesRenewAtHalfTheirLifetime() {
        issuer.lifetime = Duration.ofDays(6);
        AutoCert a = start();
        CertificateStatus s = status(a);
        Instant half = s.notAfter().minus(Duration.between(s.notBefore(), s.notAfter()).dividedBy(2));
        sched.advanceTo(half.plusSeconds(1));
        assertEquals(2, issuer.issueCalls());
        assertEquals(half, issuer.times.get(1));
    }

    @Test
    void theCasAriWindowDecidesAndTheOrderCarriesReplaces() {
        issuer.windowFor = cert -> new Issuer.Window(cert.getNotBefore().toInstant().plus(Duration.ofDays(20)),
                cert.getNotBefore().toInstant().plus(Duration.ofDays(22)), null, null);
        AutoCert a = start();
        var firstLeaf = a.servedCertificate(APP).chain().get(0);
        sched.advance(Duration.ofDays(19));
        assertEquals(1, issuer.issueCalls(), "not before the window");
        sched.advance(Duration.ofDays(4));
        assertEquals(2, issuer.issueCalls());
        Instant at = issuer.times.get(1);
        assertFalse(at.isBefore(T0.plus(Duration.ofDays(20)).minusSeconds(60)) || at.isAfter(T0.plus(Duration.ofDays(22))), "inside the window: " + at);
        assertEquals(firstLeaf, issuer.requests.get(1).replaces());
        assertNull(issuer.requests.get(0).replaces(), "nothing to replace at first");
    }

    @Test
    void anAriWindowAfterExpiryIsOverriddenByTheEmergencyRule() {
        issuer.window = new Issuer.Window(T0.plus(Duration.ofDays(100)), T0.plus(Duration.ofDays(101)), "https://ca.test/why", null);
        AutoCert a = start();
        CertificateStatus s = status(a);
        Instant emergency = s.notAfter().minus(Duration.between(s.notBefore(), s.notAfter()).dividedBy(20));
        sched.advance(Duration.ofDays(70));
        assertEquals(1, issuer.issueCalls(), "the window, not the lifetime rule, decides: no renewal at 2/3");
        sched.advanceTo(emergency.plusSeconds(1));
        assertEquals(2, issuer.issueCalls());
        assertEquals(emergency, issuer.times.get(1), "renewed the moment 1/20 of the lifetime remains");
    }

    @Test
    void ariRetryAfterIsClampedBetweenAMinuteAndADay() {
        issuer.window = new Issuer.Window(T0.plus(Duration.ofDays(50)), T0.plus(Duration.ofDays(51)), null, T0.plusSeconds(5));
        start();
        int before = issuer.windowCalls.get();
        sched.advance(HOUR);
        int perHour = issuer.windowCalls.get() - before;
        assertTrue(perHour >= 55 && perHour <= 61, "a Retry-After of 5 s is clamped to one fetch a minute: " + perHour);

        issuer.window = new Issuer.Window(T0.plus(Duration.ofDays(50)), T0.plus(Duration.ofDays(51)), null, T0.plus(Duration.ofDays(30)));
        sched.advance(Duration.ofMinutes(2));
        before = issuer.windowCalls.get();
        sched.advance(Duration.ofDays(3));
        int perThreeDays = issuer.windowCalls.get() - before;
        assertTrue(perThreeDays >= 2 && perThreeDays <= 4, "a Retry-After of 30 days is clamped to one fetch a day: " + perThreeDays);
    }

    @Test
    void aFailingAriFetchLeavesTheLifetimeRuleInCharge() {
        issuer.windowFailure = IssuanceException.transientFailure("renewalInfo answered 500", null);
        AutoCert a = start();
        Instant renewAt = aThirdLeft(status(a));
        sched.advanceTo(renewAt.plusSeconds(1));
        assertEquals(2, issuer.issueCalls());
        assertEquals(renewAt, issuer.times.get(1));
    }

    @Test
    void anAriWindowInThePastRightAfterIssuanceCannotCauseAnOrderLoop() {
        // A confused CA answers every certificate, however new, with "renew now".
        issuer.windowFor = cert -> new Issuer.Window(cert.getNotBefore().toInstant(), cert.getNotBefore().toInstant().plusSeconds(1), null, null);
        start();
        sched.advance(Duration.ofHours(10));
        assertTrue(issuer.issueCalls() <= 11, "at most one ARI-driven order an hour: " + issuer.issueCalls());
        issuer.windowFor = cert -> new Issuer.Window(T0.minus(Duration.ofDays(10)), T0.minus(Duration.ofDays(9)), null, null);
        sched.advance(Duration.ofDays(1)); // the decision already taken on the old window may still run once
        int calls = issuer.issueCalls();
        sched.advance(Duration.ofDays(5));
        assertEquals(calls, issuer.issueCalls(), "a window that closed before the certificate existed is ignored");
    }

    @Test
    void aShortLivedCertificateFollowsAnAriWindowThatOpensRightAfterIssuance() {
        // Demo-length certificates: the CA's window opens as soon as the certificate exists.
        issuer.lifetime = Duration.ofSeconds(30);
        issuer.backdate = Duration.ZERO;
        issuer.windowFor = cert -> new Issuer.Window(cert.getNotBefore().toInstant().plusSeconds(5),
                cert.getNotAfter().toInstant().minusSeconds(5), null, null);
        start();
        sched.advance(Duration.ofSeconds(26));
        assertTrue(issuer.issueCalls() >= 2, "renewed inside the window, not an hour later: " + issuer.times);
        Instant second = issuer.times.get(1);
        assertFalse(second.isBefore(T0.plusSeconds(3)) || second.isAfter(T0.plusSeconds(25)), second.toString());
    }

    @Test
    void aBrokenAriAnswerNeverStopsRenewal() {
        issuer.windowCrash = new IllegalStateException("ARI parser bug");
        AutoCert a = start();
        Instant renewAt = aThirdLeft(status(a));
        sched.advanceTo(renewAt.plusSeconds(1));
        assertEquals(2, issuer.issueCalls(), "renewed by the lifetime rule");
        assertNotNull(status(a).nextCheck());
    }

    // ------------------------------------------------------------------ failures

    @Test
    void failuresBackOffAlongThePolicyAndRepeatTheLastStep() {
        issuer.failNextTimes(6, "CA down");
        AutoCert a = start();
        sched.advance(Duration.ofDays(4));
        assertEquals(7, issuer.issueCalls(), "six failures, then success");
        List<Duration> steps = List.of(MIN, Duration.ofMinutes(10), Duration.ofMinutes(100), DAY, DAY, DAY);
        for (int i = 0; i < steps.size(); i++) {
            Duration gap = Duration.between(issuer.times.get(i), issuer.times.get(i + 1));
            Duration base = steps.get(i);
            assertTrue(gap.compareTo(base.multipliedBy(8).dividedBy(10)) >= 0 && gap.compareTo(base.multipliedBy(12).dividedBy(10)) <= 0,
                    "gap " + (i + 1) + " = " + gap + " is " + base + " ±20 %");
        }
        List<CertEvent.Failed> failed = events(CertEvent.Failed.class);
        assertEquals(6, failed.size());
        for (int i = 0; i < failed.size(); i++) {
            assertEquals(i + 1, failed.get(i).consecutiveFailures());
            assertEquals(issuer.times.get(i + 1), failed.get(i).nextAttempt(), "the reported next attempt is the real one");
        }
        assertEquals(CertificateStatus.State.VALID, status(a).state());
    }

    @Test
    void theCasRetryAfterIsHonouredExactly() {
        Instant retry = T0.plus(Duration.ofHours(3)).plusSeconds(7);
        issuer.failNext(new IssuanceException("rate limited by the CA", false, retry, "urn:ietf:params:acme:error:rateLimited",
                "too many certificates", null));
        AutoCert a = start();
        CertEvent.Failed f = events(CertEvent.Failed.class).get(0);
        assertEquals(retry, f.nextAttempt());
        assertEquals(retry, status(a).nextCheck());
        assertEquals(Optional.of("urn:ietf:params:acme:error:rateLimited"), f.failure().problemType());
        sched.advanceTo(retry.minusSeconds(1));
        assertEquals(1, issuer.issueCalls());
        sched.advance(Duration.ofSeconds(2));
        assertEquals(2, issuer.issueCalls());
        assertEquals(retry, issuer.times.get(1));
    }

    @Test
    void aPermanentFailureStopsRetryingAndIsReported() {
        issuer.failNext(new IssuanceException("the CA refused: rejectedIdentifier", true, null,
                "urn:ietf:params:acme:error:rejectedIdentifier", "not allowed", null));
        AutoCert a = start();
        CertificateStatus s = status(a);
        assertEquals(CertificateStatus.State.FAILED, s.state());
        assertNull(s.nextCheck());
        assertTrue(events(CertEvent.Failed.class).get(0).permanent());
        assertTrue(s.lastFailure().orElseThrow().permanent());
        sched.advance(Duration.ofDays(30));
        assertEquals(1, issuer.issueCalls(), "never retried on its own");
        assertEquals(0, sched.pending(), "nothing scheduled");
    }

    @Test
    void renewNowAfterAPermanentFailureOrdersAgain() throws Exception {
        issuer.failNext(IssuanceException.permanentFailure("profile not offered"));
        AutoCert a = start();
        assertEquals(CertificateStatus.State.FAILED, status(a).state());
        CompletableFuture<CertificateStatus> f = a.renewNow(APP);
        sched.runDue();
        assertEquals(CertificateStatus.State.VALID, f.get(1, TimeUnit.SECONDS).state());
        assertNotNull(status(a).nextCheck(), "scheduling resumed");
    }

    @Test
    void expiryWarningsFireOnlyInsideTheWarningWindow() {
        AutoCert a = start();
        Instant notAfter = status(a).notAfter();
        issuer.failNextTimes(500, "CA down");
        Instant windowStart = notAfter.minus(Duration.ofDays(14));
        sched.advanceTo(windowStart.minusSeconds(1));
        assertTrue(events(CertEvent.Failed.class).size() > 10, "renewal has been failing for days");
        assertTrue(events(CertEvent.ExpiryWarning.class).isEmpty(), "no warning before the window");
        sched.advance(Duration.ofDays(3));
        List<CertEvent.ExpiryWarning> warnings = events(CertEvent.ExpiryWarning.class);
        assertFalse(warnings.isEmpty());
        assertTrue(warnings.stream().allMatch(w -> !w.at().isBefore(windowStart) && w.notAfter().equals(notAfter)));
    }

    @Test
    void aSuccessResetsTheFailureCountAndTheBackoff() {
        issuer.failNextTimes(2, "flaky");
        AutoCert a = start();
        sched.advance(Duration.ofMinutes(15));
        assertEquals(3, issuer.issueCalls());
        CertificateStatus s = status(a);
        assertEquals(0, s.consecutiveFailures());
        assertNull(s.lastError());
        // the next failure starts the backoff at its first step again
        Instant renewAt = aThirdLeft(s);
        issuer.failNextTimes(1, "flaky again");
        sched.advanceTo(renewAt.plusSeconds(1));
        CertEvent.Failed f = events(CertEvent.Failed.class).get(2);
        assertEquals(1, f.consecutiveFailures());
        Duration wait = Duration.between(f.at(), f.nextAttempt());
        assertTrue(wait.compareTo(Duration.ofSeconds(48)) >= 0 && wait.compareTo(Duration.ofSeconds(72)) <= 0, wait.toString());
    }

    @Test
    void aFailedRenewNowOfACertificateThatIsNotDueIsRetriedWhenTheLogSays() throws Exception {
        AutoCert a = start();
        sched.advance(DAY);
        issuer.failNext(IssuanceException.transientFailure("CA hiccup", null));
        CompletableFuture<CertificateStatus> f = a.renewNow(APP);
        sched.runDue();
        assertInstanceOf(IssuanceException.class, failure(f));
        CertEvent.Failed failed = events(CertEvent.Failed.class).get(0);
        Instant promised = failed.nextAttempt();
        assertNotNull(promised);
        assertEquals(promised, status(a).nextCheck(), "status and event agree");
        assertTrue(Duration.between(sched.now(), promised).compareTo(Duration.ofMinutes(2)) < 0, "the backoff's first step, not hours");
        sched.advanceTo(promised);
        assertEquals(3, issuer.issueCalls(), "retried at the promised moment");
        assertEquals(promised, issuer.times.get(2));
        assertEquals(0, status(a).consecutiveFailures());
    }

    @Test
    void textFromTheCaIsEscapedInStatusEventsAndMessages() {
        issuer.failNext(new IssuanceException("the CA refused: evil\u0000\nINFO forged line\u001b[31m", false, null,
                "urn:x:\nbad", "detail\r\nwith\tcontrols", null));
        AutoCert a = start();
        CertEvent.Failed f = events(CertEvent.Failed.class).get(0);
        for (String text : List.of(f.error(), status(a).lastError(), f.failure().problemType().orElseThrow(),
                f.failure().detail().orElseThrow(), status(a).toString())) {
            assertTrue(text.chars().noneMatch(Character::isISOControl), "no control characters: " + text);
        }
        assertTrue(f.error().contains("\\u0000") && f.error().contains("\\u000a"), f.error());
    }

    @Test
    void aCertificateThatFailsVerificationIsNeverServed() {
        issuer.then((i, r) -> new Issuer.Result(i.chainFor(r, T0.minusSeconds(60), T0.plus(Duration.ofDays(90)), "other.sched.test"), null));
        AutoCert a = start();
        CertificateStatus s = status(a);
        assertEquals(CertificateStatus.State.PENDING, s.state());
        assertTrue(s.lastError().contains("failed verification") && s.lastError().contains(APP), s.lastError());
        assertTrue(a.servedCertificate(APP).alias().startsWith("fallback"), "still the self-signed fallback");
        sched.advance(Duration.ofMinutes(2));
        assertEquals(CertificateStatus.State.VALID, status(a).state(), "the retry gets a good one");
    }

    // ------------------------------------------------------------------ review defects 1-6, 10

    @Test
    void renewNowRejectedByTheExecutorFailsAtOnceAndLaterCallsStillWork() throws Exception {
        AutoCert a = start();
        sched.rejectFromNowOn();
        CompletableFuture<CertificateStatus> f1 = a.renewNow(APP);
        assertTrue(failure(f1).getMessage().contains("executor"), failure(f1).getMessage());
        CompletableFuture<CertificateStatus> f2 = a.renewNow(APP);
        assertNotEquals(f1, f2);
        assertTrue(f2.isDone(), "no future is left hanging behind a rejected one");
        sched.acceptAgain();
        CompletableFuture<CertificateStatus> f3 = a.renewNow(APP);
        sched.runDue();
        assertEquals(2, issuer.issueCalls());
        assertEquals(CertificateStatus.State.VALID, f3.get(1, TimeUnit.SECONDS).state());
    }

    @Test
    void closeFailsARenewNowThatWasQueued() {
        AutoCert a = start();
        CompletableFuture<CertificateStatus> queued = a.renewNow(APP);
        assertFalse(queued.isDone());
        a.close();
        assertTrue(failure(queued).getMessage().contains("closed"), "a caller blocked on get() is released");
        sched.runDue();
        assertEquals(1, issuer.issueCalls(), "the queued renewal never ran");
    }

    @Test
    void anUnexpectedErrorOutsideAnOrderStillSchedulesTheNextCheck() {
        AtomicInteger lockCalls = new AtomicInteger();
        CertStore flaky = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Lock lock(String name) throws IOException {
                if (name.startsWith("cert-") && lockCalls.incrementAndGet() == 1) {
                    throw new IllegalStateException("store bug");
                }
                return super.lock(name);
            }
        };
        AutoCert a = start(builder(issuer).store(flaky));
        assertEquals(0, issuer.issueCalls());
        Instant next = status(a).nextCheck();
        assertNotNull(next, "not silently stopped");
        sched.advanceTo(next);
        assertEquals(1, issuer.issueCalls());
        assertEquals(CertificateStatus.State.VALID, status(a).state());
    }

    @Test
    void aRejectedScheduleIsReportedInsteadOfSilentlyStoppingRenewal() {
        AutoCert a = builder(issuer).build();
        opened.add(a);
        a.start();
        sched.rejectSchedulesFromNowOn();
        sched.runDue(); // the first check orders, then cannot schedule the next one
        CertificateStatus s = status(a);
        assertEquals(CertificateStatus.State.VALID, s.state());
        assertNull(s.nextCheck());
        assertTrue(s.lastError().contains("executor refused"), s.lastError());
    }

    @Test
    void aCheckWaitingBehindRenewNowDoesNotOrderAgain() throws Exception {
        AutoCert a = start();
        Instant renewAt = aThirdLeft(status(a));
        sched.advanceTo(renewAt.minus(HOUR));
        CountDownLatch inOrder = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        issuer.then((i, r) -> {
            inOrder.countDown();
            release.await(10, TimeUnit.SECONDS);
            return i.valid(r);
        });
        CompletableFuture<CertificateStatus> forced = a.renewNow(APP);
        Thread first = new Thread(sched::runDue, "worker-1");
        first.start();
        assertTrue(inOrder.await(5, TimeUnit.SECONDS));
        // the scheduled check becomes due and runs on a second worker while the forced order is in flight
        ((ManualScheduler.MutableClock) sched.clock()).set(renewAt.plusSeconds(1));
        Thread second = new Thread(sched::runDue, "worker-2");
        second.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (second.getState() != Thread.State.WAITING && second.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertEquals(Thread.State.WAITING, second.getState(), "the check waits for the certificate's lock");
        release.countDown();
        first.join(5000);
        second.join(5000);
        forced.get(1, TimeUnit.SECONDS);
        assertEquals(2, issuer.issueCalls(), "one initial order and the forced one; the check saw the new certificate");
    }

    @Test
    void concurrentRenewNowCallsShareOneOrder() throws Exception {
        AutoCert a = start();
        CompletableFuture<CertificateStatus> f1 = a.renewNow(APP);
        CompletableFuture<CertificateStatus> f2 = a.renewNow(APP);
        assertSame(f1, f2, "the second call joins the first");
        sched.runDue();
        assertEquals(f1.get(1, TimeUnit.SECONDS).serial(), f2.get(1, TimeUnit.SECONDS).serial());
        assertEquals(2, issuer.issueCalls(), "the first issuance and one renewal");
        CompletableFuture<CertificateStatus> f3 = a.renewNow(APP);
        assertNotEquals(f1, f3, "a call after the order finished starts a new one");
        sched.runDue();
        assertEquals(3, issuer.issueCalls());
    }

    @Test
    void renewNowBeforeStartIsRefused() {
        AutoCert a = builder(issuer).build();
        opened.add(a);
        Throwable t = failure(a.renewNow(APP));
        assertTrue(t instanceof IllegalStateException && t.getMessage().contains("start()"), t.toString());
    }

    @Test
    void anOlderStoredCertificateNeverReplacesANewerLiveOne() throws Exception {
        AutoCert a = start();
        BigInteger live = status(a).serial();
        // A stale copy (valid, but expiring earlier) appears in the store, e.g. written by a slow peer.
        CertificateStorage storage = new CertificateStorage(FileCertStore.of(dir));
        var key = KeyType.EC_P256.generate();
        CertBundle older = new CertBundle(key, List.of(issuer.pki.leaf(key.getPublic(), T0.minus(DAY), T0.plus(Duration.ofDays(60)), APP), issuer.pki.ca));
        try (CertStore.Lock lock = storage.lock(APP)) {
            storage.save(APP, older, List.of(APP), null, "fake-ca", T0, lock);
        }
        assertNull(a.managed(APP).loadStored(), "not loaded");
        a.managed(APP).peerChanged();
        sched.runDue();
        assertEquals(live, status(a).serial());
        assertEquals(live, served(a, APP));
    }

    /** A builder (fake issuer, manual clock and executor) for {@code count} certificates {prefix}0.sched.test ... in order. */
    private AutoCertBuilder manyCertificates(String prefix, int count) {
        AutoCertBuilder b = AutoCert.builder().issuer(issuer).storageDirectory(dir).executor(sched).clock(sched.clock());
        for (int i = 0; i < count; i++) {
            b.certificate(prefix + i + ".sched.test");
        }
        return b;
    }

    /** Issues every certificate of {@code b} into the store with a first manager, closed again; the serials by name, in order. */
    private Map<String, BigInteger> issueAndStore(AutoCertBuilder b) {
        AutoCert first = b.build();
        first.start();
        sched.runDue();
        Map<String, BigInteger> serials = new LinkedHashMap<>();
        first.status().forEach(st -> serials.put(st.names().get(0), st.serial()));
        first.close();
        return serials;
    }

    @Test
    void theListenerIsCalledOneEventAtATimeEvenWhenManyCertificatesLoadInParallel() {
        AutoCertBuilder b = manyCertificates("c", 100);
        issueAndStore(b);
        assertEquals(100, issuer.issueCalls());

        AtomicInteger inside = new AtomicInteger();
        AtomicInteger maxInside = new AtomicInteger();
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AtomicInteger loaded = new AtomicInteger();
        b.listener(e -> {
            int now = inside.incrementAndGet();
            maxInside.accumulateAndGet(now, Math::max);
            threads.add(Thread.currentThread().getName());
            try {
                Thread.sleep(1); // widen any overlap
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            if (e instanceof CertEvent.Loaded) {
                loaded.incrementAndGet();
            }
            inside.decrementAndGet();
        });
        AutoCert second = b.build();
        opened.add(second);
        second.start();
        assertEquals(100, loaded.get());
        assertEquals(1, maxInside.get(), "never two listener calls at once");
        assertEquals(Set.of(Thread.currentThread().getName()), threads, "start-up events come from the thread that called start()");
    }

    @Test
    void aParallelLoadServesEveryGoodCertificateAndOrdersOnlyTheDamagedAndMissingOnes() throws Exception {
        AutoCertBuilder b = manyCertificates("p", 150);
        Map<String, BigInteger> stored = issueAndStore(b);
        List<String> names = new ArrayList<>(stored.keySet());
        FileCertStore files = FileCertStore.of(dir);
        String damaged = names.get(70);
        String missing = names.get(140);
        String noMetadata = names.get(10);
        files.store(StoreLayout.certBundle(damaged), "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".getBytes(StandardCharsets.US_ASCII));
        files.delete(StoreLayout.certBundle(missing));
        files.delete(StoreLayout.certMeta(noMetadata));
        int ordersBefore = issuer.issueCalls();

        AutoCert second = b.build();
        opened.add(second);
        second.start();
        for (String n : names) {
            CertificateStatus st = second.status(n).orElseThrow();
            if (n.equals(damaged) || n.equals(missing)) {
                assertNotEquals(CertificateStatus.State.VALID, st.state(), n + " has no usable stored certificate: " + st);
            } else {
                assertEquals(CertificateStatus.State.VALID, st.state(), n + ": " + st);
                assertEquals(stored.get(n), st.serial(), n + " serves what the store held");
                assertEquals(stored.get(n), served(second, n), n);
            }
        }
        sched.runDue();
        assertEquals(ordersBefore + 2, issuer.issueCalls(), "only the damaged and the missing certificate are ordered");
        assertEquals(CertificateStatus.State.VALID, second.status(damaged).orElseThrow().state());
        assertEquals(CertificateStatus.State.VALID, second.status(missing).orElseThrow().state());
    }

    // ------------------------------------------------------------------ the certificate set at run time

    @Test
    void anAddedCertificateIsServedFromTheStoreAtOnce() throws Exception {
        String other = "b.sched.test";
        AutoCert seed = start(builder(issuer, other));
        BigInteger stored = seed.status(other).orElseThrow().serial();
        seed.close();
        AutoCert a = start();
        int calls = issuer.issueCalls();
        CompletableFuture<CertificateStatus> f = a.addCertificate(other);
        assertTrue(f.isDone(), "live before any check ran");
        assertEquals(stored, f.get().serial());
        assertEquals(stored, served(a, other));
        sched.runDue();
        assertEquals(calls, issuer.issueCalls(), "no order");
    }

    @Test
    void anAddedCertificateIsOrderedAndItsFutureCompletesWhenLive() throws Exception {
        AutoCert a = start();
        CompletableFuture<CertificateStatus> f = a.addCertificate("C.Sched.Test", "www.c.sched.test");
        assertFalse(f.isDone());
        sched.runDue();
        CertificateStatus s = f.get(1, TimeUnit.SECONDS);
        assertEquals("c.sched.test", s.certificate());
        assertEquals(List.of("c.sched.test", "www.c.sched.test"), issuer.requests.get(1).names());
        assertEquals(s.serial(), served(a, "www.c.sched.test"));
        assertEquals(2, a.status().size());
    }

    @Test
    void addCertificateValidatesLikeTheBuilder() {
        AutoCert a = start();
        String bad = assertThrows(IllegalArgumentException.class, () -> a.addCertificate("no_underscores.test")).getMessage();
        assertTrue(bad.contains("invalid label") && bad.contains("Fix:"), bad);
        String dup = assertThrows(IllegalArgumentException.class, () -> a.addCertificate("x.sched.test", APP)).getMessage();
        assertTrue(dup.contains("already managed") && dup.contains("removeCertificate"), dup);
        String wild = assertThrows(IllegalArgumentException.class, () -> a.addCertificate("*.sched.test")).getMessage();
        assertTrue(wild.contains("DNS-01"), wild);
        assertThrows(IllegalArgumentException.class, () -> a.addCertificate());
        assertEquals(1, a.status().size(), "nothing was added");
    }

    @Test
    void aRemovedCertificateIsNeitherRenewedNorServed() {
        AutoCert a = start(builder(issuer, APP).certificate("gone.sched.test"));
        BigInteger appSerial = status(a).serial();
        assertNotEquals(appSerial, served(a, "gone.sched.test"));
        assertTrue(a.removeCertificate("gone.sched.test"));
        assertFalse(a.removeCertificate("gone.sched.test"));
        assertTrue(a.status("gone.sched.test").isEmpty());
        assertEquals(appSerial, served(a, "gone.sched.test"), "its name now gets the default certificate");
        sched.advance(Duration.ofDays(100));
        assertTrue(issuer.requests.stream().skip(2).noneMatch(r -> r.names().contains("gone.sched.test")), "never renewed again");
    }

    @Test
    void removingTheFirstCertificateMakesTheNextOneTheDefault() {
        AutoCert a = start(builder(issuer, APP).certificate("second.sched.test"));
        BigInteger second = a.status("second.sched.test").orElseThrow().serial();
        assertTrue(a.removeCertificate(APP));
        assertEquals(second, a.servedCertificate(null).chain().get(0).getSerialNumber(), "clients without SNI get the next one");
    }

    @Test
    void closeDuringAnOrderInterruptsItAndFailsItsFuture() throws Exception {
        AutoCert a = start();
        AtomicBoolean interrupted = new AtomicBoolean();
        CountDownLatch inOrder = new CountDownLatch(1);
        issuer.then((i, r) -> {
            inOrder.countDown();
            try {
                Thread.sleep(60_000);
            } catch (InterruptedException e) {
                interrupted.set(true);
                throw e;
            }
            return i.valid(r);
        });
        CompletableFuture<CertificateStatus> f = a.renewNow(APP);
        Thread worker = new Thread(sched::runDue, "worker");
        worker.start();
        assertTrue(inOrder.await(5, TimeUnit.SECONDS));
        long t0 = System.nanoTime();
        a.close();
        worker.join(5000);
        assertFalse(worker.isAlive());
        assertTrue(interrupted.get(), "the order was interrupted");
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(5)) < 0);
        assertTrue(failure(f).getMessage().contains("closed"));
        assertTrue(events(CertEvent.Failed.class).isEmpty(), "closing is not a failure to report");
    }

    // ------------------------------------------------------------------ issuers, names, peers

    @Test
    void failoverUsesTheNextIssuerAndTheCertificateRemembersWhichOne() {
        FakeIssuer second = new FakeIssuer("backup-ca", sched.clock());
        issuer.failNext(IssuanceException.transientFailure("primary CA down", null));
        AutoCert a = start(builder(issuer).issuer(second));
        CertificateStatus s = status(a);
        assertEquals(CertificateStatus.State.VALID, s.state());
        assertEquals("backup-ca", s.issuerId());
        assertTrue(events(CertEvent.Failed.class).isEmpty(), "a failover that succeeds is not a failed attempt");
        // Renewal tries the primary again first; ARI's replaces only goes to the CA that issued the old one.
        sched.advanceTo(aThirdLeft(s).plusSeconds(1));
        assertEquals(2, issuer.issueCalls());
        assertNull(issuer.requests.get(1).replaces(), "not the primary's certificate");
        assertEquals("fake-ca", status(a).issuerId());
    }

    @Test
    void whenEveryIssuerFailsTheFailureNamesEachOne() {
        FakeIssuer second = new FakeIssuer("backup-ca", sched.clock());
        issuer.failNext(IssuanceException.transientFailure("primary down", null));
        second.failNext(IssuanceException.transientFailure("backup down", null));
        AutoCert a = start(builder(issuer).issuer(second));
        String error = status(a).lastError();
        assertTrue(error.contains("fake-ca: primary down") && error.contains("backup-ca: backup down"), error);
    }

    @Test
    void namesAddedToTheConfigurationAreOrderedWhileTheOldCertificateIsServed() {
        AutoCert first = start();
        BigInteger old = status(first).serial();
        first.close();
        AutoCert a = builder(issuer, APP, "www.sched.test").build();
        opened.add(a);
        a.start();
        assertEquals(old, served(a, APP), "the old certificate is served at once");
        sched.runDue();
        assertEquals(2, issuer.issueCalls());
        assertEquals(List.of(APP, "www.sched.test"), issuer.requests.get(1).names());
        assertNotEquals(old, served(a, "www.sched.test"));
    }

    @Test
    void aCertificateFromAnIssuerNoLongerConfiguredIsReplacedAtTheFirstCheck() {
        FakeIssuer staging = new FakeIssuer("staging-ca", sched.clock());
        AutoCert first = start(builder(staging));
        BigInteger fromStaging = status(first).serial();
        first.close();
        AutoCert a = builder(issuer).build();
        opened.add(a);
        a.start();
        assertEquals(fromStaging, served(a, APP), "served meanwhile");
        sched.runDue();
        assertEquals(1, issuer.issueCalls());
        assertEquals("fake-ca", status(a).issuerId());
    }

    @Test
    void aRenewalByAPeerSharingTheStoreIsAdoptedWithoutAnOrder() throws Exception {
        FakeIssuer peerIssuer = new FakeIssuer("fake-ca", sched.clock());
        AutoCert peer = start(builder(peerIssuer));
        AutoCert self = start();
        assertEquals(0, issuer.issueCalls(), "the second server loaded the first one's certificate");
        sched.advance(DAY);
        CompletableFuture<CertificateStatus> renewed = peer.renewNow(APP);
        sched.runDue();
        BigInteger peerSerial = renewed.get(1, TimeUnit.SECONDS).serial();
        CertificateStatus before = status(self);
        assertNotEquals(peerSerial, before.serial());
        // at this server's renewal moment it finds the peer's newer certificate in the store and adopts it
        sched.advanceTo(aThirdLeft(before).plusSeconds(1));
        assertEquals(0, issuer.issueCalls(), "no order from this server");
        assertEquals(peerSerial, status(self).serial());
        assertEquals(peerSerial, served(self, APP));
    }

    @Test
    void aPeersRenewalWithAShorterLifetimeIsAdoptedAllTheSame() throws Exception {
        // A CA may pick another profile per order (Pebble: a 6-day certificate after a 90-day one):
        // the peer's renewal is newer (issued later) although it expires sooner than the live one.
        FakeIssuer peerIssuer = new FakeIssuer("fake-ca", sched.clock());
        AutoCert peer = start(builder(peerIssuer));
        AutoCert self = start();
        CertificateStatus before = status(self);
        // the peer renews a day before this server's renewal moment, so its 6-day certificate is still young then
        sched.advanceTo(aThirdLeft(before).minus(DAY));
        peerIssuer.lifetime = Duration.ofDays(6);
        CompletableFuture<CertificateStatus> renewed = peer.renewNow(APP);
        sched.runDue();
        CertificateStatus peerStatus = renewed.get(1, TimeUnit.SECONDS);
        assertTrue(peerStatus.notAfter().isBefore(before.notAfter()), "the renewal expires sooner than the live certificate");
        sched.advanceTo(aThirdLeft(before).plusSeconds(1));
        assertEquals(0, issuer.issueCalls(), "no order from this server");
        assertEquals(peerStatus.serial(), status(self).serial(), "the shorter-lived renewal is adopted");
        assertEquals(peerStatus.serial(), served(self, APP));
    }

    @Test
    void renewNowOnEveryServerAtOnceMakesOneOrderAndTheOthersAdoptIt() throws Exception {
        FakeIssuer peerIssuer = new FakeIssuer("fake-ca", sched.clock());
        AutoCert peer = start(builder(peerIssuer));
        AutoCert self = start();
        BigInteger first = status(self).serial();
        // an operator broadcasts "renew now" to the fleet: both requests are queued before either runs;
        // the clock stands still, so the renewal expires in the same second as the first certificate
        CompletableFuture<CertificateStatus> onPeer = peer.renewNow(APP);
        CompletableFuture<CertificateStatus> onSelf = self.renewNow(APP);
        sched.runDue();
        BigInteger renewed = onPeer.get(1, TimeUnit.SECONDS).serial();
        assertNotEquals(first, renewed);
        assertEquals(renewed, onSelf.get(1, TimeUnit.SECONDS).serial(), "the second request is satisfied by the first one's order");
        assertEquals(2, peerIssuer.issueCalls(), "initial order and the renewal");
        assertEquals(0, issuer.issueCalls(), "no second order");
        assertEquals(renewed, served(self, APP));
        assertTrue(events(CertEvent.Loaded.class).stream().anyMatch(l -> l.serial().equals(renewed)), "adopted, reported as Loaded");
    }

    @Test
    void renewNowStillOrdersWhenThePeersCertificateWasStoredBeforeTheRequest() throws Exception {
        FakeIssuer peerIssuer = new FakeIssuer("fake-ca", sched.clock());
        AutoCert peer = start(builder(peerIssuer));
        AutoCert self = start();
        sched.advance(DAY);
        CompletableFuture<CertificateStatus> onPeer = peer.renewNow(APP);
        sched.runDue();
        BigInteger peers = onPeer.get(1, TimeUnit.SECONDS).serial();
        sched.advance(MIN);
        CompletableFuture<CertificateStatus> onSelf = self.renewNow(APP);
        sched.runDue();
        BigInteger own = onSelf.get(1, TimeUnit.SECONDS).serial();
        assertEquals(1, issuer.issueCalls(), "renewNow() asked after the peer's renewal orders a new certificate");
        assertNotEquals(peers, own);
        assertEquals(own, served(self, APP));
    }

    @Test
    void anUnreachableStoreIsAskedAgainAtTheFirstBackoffStepNotAlongTheEscalatingSchedule() {
        AtomicInteger unreachable = new AtomicInteger(4);
        List<Instant> lockCalls = new CopyOnWriteArrayList<>();
        CertStore flaky = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Lock lock(String name) throws IOException {
                if (issuer.issueCalls() == 0) { // later ones share the ARI window with peers
                    lockCalls.add(sched.clock().instant());
                }
                if (unreachable.getAndDecrement() > 0) {
                    throw new CertStore.UnavailableException("database down", null);
                }
                return super.lock(name);
            }
        };
        AutoCert a = start(builder(issuer).store(flaky));
        sched.advance(Duration.ofMinutes(10));
        assertEquals(5, lockCalls.size(), "four refusals, then the lock: " + lockCalls);
        for (int i = 0; i + 1 < lockCalls.size(); i++) {
            Duration gap = Duration.between(lockCalls.get(i), lockCalls.get(i + 1));
            assertTrue(gap.compareTo(MIN.multipliedBy(8).dividedBy(10)) >= 0 && gap.compareTo(MIN.multipliedBy(12).dividedBy(10)) <= 0,
                    "gap " + (i + 1) + " = " + gap + " is the first backoff step (1 min ±20 %), not 10 or 100 min");
        }
        assertEquals(1, issuer.issueCalls(), "ordered once the store answered");
        assertEquals(CertificateStatus.State.VALID, status(a).state());
    }

    @Test
    void buildStartsWithAStoreThatIsDownButRefusesOneThatIsMisconfigured() {
        CertStore down = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public void checkAccess() throws IOException {
                throw new CertStore.UnavailableException("connection refused", null);
            }
        };
        AutoCert a = builder(issuer).store(down).build();
        opened.add(a);
        CertStore broken = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public void checkAccess() throws IOException {
                throw new IOException("password authentication failed");
            }
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder(issuer).store(broken).build());
        assertTrue(e.getMessage().contains("password authentication failed"), e.getMessage());
    }

    /** A store that forwards everything, for tests that inject a fault into one call. */
    static <T> Consumer<T> ignore() {
        return t -> { };
    }
}
