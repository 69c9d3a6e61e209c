package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Failed validations of one hostname never exceed the CA's hourly limit (Let's Encrypt: 5 failed
 * authorizations per hostname per account per hour), however often renewNow() is called and
 * whatever the backoff: virtual time (manual scheduler and clock), a fake issuer whose every
 * order fails validation, and the times at which the issuer was really asked.
 */
class FailedValidationBudgetTest {
    static final Instant T0 = Instant.parse("2026-03-01T00:00:00Z");
    static final String APP = "budget.example.test";
    static final Duration HOUR = Duration.ofHours(1);

    @TempDir
    Path dir;
    ManualScheduler sched;
    FakeIssuer issuer;
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

    static IssuanceException validationFailed(String name) {
        return new IssuanceException("the CA could not validate " + name + " by http-01: connection refused", false, null,
                "urn:ietf:params:acme:error:connection", "127.0.0.1: Connection refused", null);
    }

    AutoCert start(AutoCertBuilder b) {
        AutoCert a = b.build();
        opened.add(a);
        a.start();
        sched.runDue();
        return a;
    }

    AutoCertBuilder builder(String... names) {
        return AutoCert.builder().issuer(issuer).certificate(names).storageDirectory(dir).executor(sched).clock(sched.clock());
    }

    /** renewNow() and let it run; the failure it completed with. */
    Throwable renewNowFails(AutoCert a, String name) throws Exception {
        CompletableFuture<CertificateStatus> f = a.renewNow(name);
        sched.runDue();
        assertTrue(f.isDone());
        return assertThrows(ExecutionException.class, () -> f.get(1, TimeUnit.SECONDS)).getCause();
    }

    /** The most calls that reached the issuer within any window of length {@code w}. */
    static int mostWithin(List<Instant> times, Duration w) {
        int most = 0;
        for (int i = 0; i < times.size(); i++) {
            int n = 0;
            for (Instant t : times) {
                if (!t.isBefore(times.get(i)) && t.isBefore(times.get(i).plus(w))) {
                    n++;
                }
            }
            most = Math.max(most, n);
        }
        return most;
    }

    @Test
    void theSixthAttemptWithinAnHourIsNotSentAndWaitsForTheOldestFailureToLeaveTheWindow() throws Exception {
        for (int i = 0; i < 100; i++) {
            issuer.failNext(validationFailed(APP));
        }
        AutoCert a = start(builder(APP));                            // attempt 1 at T0
        List<Throwable> failures = new ArrayList<>();
        for (int i = 0; i < 10; i++) {                               // an operator (or a script) insists
            sched.advance(Duration.ofMinutes(2));
            failures.add(renewNowFails(a, APP));
        }
        assertEquals(5, issuer.issueCalls(), "5 failed validations in the first hour, then none: " + issuer.times);
        // The first refused attempt says why and until when; later ones are skipped by that Retry-After.
        int firstRefused = 0;
        while (firstRefused < failures.size() && failures.get(firstRefused).getMessage().startsWith("the CA could not validate")) {
            firstRefused++;
        }
        IssuanceException refused = (IssuanceException) failures.get(firstRefused);
        Instant freeAt = issuer.times.get(0).plus(HOUR);
        assertEquals(freeAt, refused.retryAfter().orElseThrow(), refused.getMessage());
        assertTrue(refused.getMessage().contains(APP + " failed validation 5 times within PT1H")
                && refused.getMessage().contains("Fix:"), refused.getMessage());
        for (Throwable later : failures.subList(firstRefused, 10)) {
            assertEquals(freeAt, ((IssuanceException) later).retryAfter().orElseThrow(), later.getMessage());
        }

        // After the oldest failure left the window, one more may go.
        sched.advanceTo(freeAt.plusSeconds(1));
        renewNowFails(a, APP);
        assertEquals(6, issuer.issueCalls());
        renewNowFails(a, APP);
        assertEquals(6, issuer.issueCalls(), "and the budget is used up again");
    }

    @Test
    void aLongOutageWithBackoffAndRenewNowNeverExceedsFivePerRollingHour() throws Exception {
        for (int i = 0; i < 1_000; i++) {
            issuer.failNext(validationFailed(APP));
        }
        AutoCert a = start(builder(APP));
        for (int minute = 0; minute < 6 * 60; minute += 7) {          // renewNow every 7 minutes for 6 hours, plus the backoff's own retries
            sched.advance(Duration.ofMinutes(7));
            a.renewNow(APP);
            sched.runDue();
        }
        assertTrue(issuer.issueCalls() >= 6 * 4, "it kept trying as the budget allowed: " + issuer.issueCalls());
        assertEquals(5, mostWithin(issuer.times, HOUR), "never more than 5 within any hour: " + issuer.times);
    }

    @Test
    void otherFailuresAndOtherNamesAreNotCounted() throws Exception {
        issuer.failNextTimes(8, "CA down");                           // no validation problem type: an outage
        AutoCert a = start(builder(APP));
        for (int i = 0; i < 7; i++) {
            renewNowFails(a, APP);
        }
        assertEquals(8, issuer.issueCalls(), "outages are the backoff's business, not this budget's");

        for (int i = 0; i < 5; i++) {
            issuer.failNext(validationFailed(APP));
        }
        for (int i = 0; i < 5; i++) {
            renewNowFails(a, APP);
        }
        assertEquals(13, issuer.issueCalls());
        renewNowFails(a, APP);
        assertEquals(13, issuer.issueCalls(), "budget used up for " + APP);

        a.addCertificate("other.example.test");                      // another hostname has its own budget
        sched.runDue();
        assertEquals(14, issuer.issueCalls());
        assertTrue(a.status("other.example.test").orElseThrow().serial() != null, "issued");
    }

    @Test
    void theBudgetIsKeptInTheStoreSoARestartOrAnotherServerDoesNotResetIt() throws Exception {
        for (int i = 0; i < 100; i++) {
            issuer.failNext(validationFailed(APP));
        }
        AutoCert first = start(builder(APP));
        for (int i = 0; i < 6; i++) {
            renewNowFails(first, APP);
        }
        assertEquals(5, issuer.issueCalls());
        first.close();
        java.nio.file.Path record = dir.resolve("validation-failures/fake-ca/" + APP);
        assertTrue(java.nio.file.Files.exists(record), "kept in the store");
        assertEquals(5, java.nio.file.Files.readAllLines(record).size());

        // A restarted process (or a second server on the same store) starts with the same budget: used up.
        AutoCert second = start(builder(APP));
        renewNowFails(second, APP);
        assertEquals(5, issuer.issueCalls(), "no order after the restart within the hour");

        sched.advance(HOUR.plusSeconds(1));
        assertTrue(issuer.issueCalls() >= 6, "after the hour it tries again: " + issuer.issueCalls());
    }

    @Test
    void theLimitIsConfigurableAndCheckedByBuild() throws Exception {
        for (int i = 0; i < 10; i++) {
            issuer.failNext(validationFailed(APP));
        }
        AutoCert a = start(builder(APP).failedValidationLimit(2, Duration.ofMinutes(10)));
        renewNowFails(a, APP);
        renewNowFails(a, APP);
        assertEquals(2, issuer.issueCalls());
        sched.advance(Duration.ofMinutes(10).plusSeconds(1));
        assertEquals(3, issuer.issueCalls(), "the retry scheduled for the end of the window went");
        renewNowFails(a, APP);
        assertEquals(4, issuer.issueCalls(), "one failure in the window: one more may go");
        renewNowFails(a, APP);
        assertEquals(4, issuer.issueCalls(), "2 within 10 minutes: used up");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder(APP).failedValidationLimit(0, HOUR).build());
        assertTrue(e.getMessage().contains("failedValidationLimit: 0 per PT1H") && e.getMessage().contains("Fix:"), e.getMessage());
    }
}
