package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Retries while a CA is down never land after expiry (issue 17): with a manual clock, 6-, 45- and
 * 90-day certificates (and the 240 s one of the report) go through CA outages that end before the
 * safety margin, inside it, and after expiry. Every attempt time is checked against the rule
 * written out here independently of the code:
 *
 * <ul>
 *   <li>deadline D = notAfter - margin, margin = lifetime/50, at least min(1 min, lifetime/10), at most 1 day;</li>
 *   <li>min gap = lifetime/200 within [min(1 min, lifetime/20), 10 min];</li>
 *   <li>before D: gap = min(backoff step ±20 %, max(min gap, (D - t)/4)), and never past D;</li>
 *   <li>at or past D (and after expiry): gap = min(step ±20 %, min gap ±20 %);</li>
 *   <li>a Retry-After is honoured exactly, even past D, and then reported.</li>
 * </ul>
 *
 * Plus: the attempt that follows the outage's end succeeds, the reported next attempt is the real
 * one, and the number of attempts stays under a bound computed from the rule.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ExpiryClampTest {
    static final Instant T0 = Instant.parse("2027-03-01T00:00:00Z");
    static final String APP = "app.clamp.test";
    static final Duration MIN = Duration.ofMinutes(1);
    static final Duration HOUR = Duration.ofHours(1);
    static final Duration DAY = Duration.ofDays(1);
    static final List<Duration> BACKOFF = RenewalPolicy.defaults().backoff();

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
        issuer.backdate = Duration.ZERO;
    }

    @AfterEach
    void tearDown() {
        opened.forEach(AutoCert::close);
    }

    AutoCert start(Duration lifetime) {
        issuer.lifetime = lifetime;
        AutoCert a = AutoCert.builder().issuer(issuer).certificate(APP).storageDirectory(dir)
                .executor(sched).clock(sched.clock()).listener(events::add).build();
        opened.add(a);
        a.start();
        sched.runDue();
        assertEquals(1, issuer.issueCalls(), "first certificate");
        return a;
    }

    // ------------------------------------------------------------------ the rule, written out

    static Duration margin(Duration lifetime) {
        Duration floor = MIN.compareTo(lifetime.dividedBy(10)) < 0 ? MIN : lifetime.dividedBy(10);
        Duration m = lifetime.dividedBy(50);
        m = m.compareTo(floor) < 0 ? floor : m;
        return m.compareTo(DAY) > 0 ? DAY : m;
    }

    static Duration minGap(Duration lifetime) {
        Duration floor = MIN.compareTo(lifetime.dividedBy(20)) < 0 ? MIN : lifetime.dividedBy(20);
        Duration g = lifetime.dividedBy(200);
        g = g.compareTo(floor) < 0 ? floor : g;
        return g.compareTo(Duration.ofMinutes(10)) > 0 ? Duration.ofMinutes(10) : g;
    }

    static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    static Duration pct(Duration d, int percent) {
        return Duration.ofMillis(d.toMillis() * percent / 100);
    }

    /** [lowest, highest] gap after failure number {@code failures} at {@code t}, by the rule. */
    static Duration[] allowedGap(int failures, Instant t, Instant notBefore, Instant notAfter) {
        Duration lifetime = Duration.between(notBefore, notAfter);
        Instant deadline = notAfter.minus(margin(lifetime));
        Duration base = BACKOFF.get(Math.min(failures, BACKOFF.size()) - 1);
        // jitter() truncates to whole milliseconds: the lowest value can be 1 ms under 80 %
        Duration lo = pct(base, 80).minusMillis(1);
        Duration hi = pct(base, 120);
        Duration gap = minGap(lifetime);
        if (!t.isBefore(deadline)) {
            return new Duration[] {min(lo, pct(gap, 80).minusMillis(1)), min(hi, pct(gap, 120))};
        }
        Duration toDeadline = Duration.between(t, deadline);
        Duration cap = min(max(gap, toDeadline.dividedBy(4)), toDeadline);
        return new Duration[] {min(lo, cap).minusMillis(1), min(hi, cap)};
    }

    long renewals() {
        return events.stream().filter(CertEvent.Issued.class::isInstance).count();
    }

    /** What one outage did. */
    record Run(Instant notBefore, Instant notAfter, Instant deadline, Instant renewAt, List<Instant> attempts, Instant renewedAt) {
    }

    /**
     * The CA goes down just before the renewal moment and comes back at {@code outageEnd}; checks
     * every attempt against the rule and returns them.
     */
    Run outage(Duration lifetime, java.util.function.Function<CertificateStatus, Instant> outageEndOf) {
        AutoCert a = start(lifetime);
        CertificateStatus s = a.status(APP).orElseThrow();
        BigInteger first = s.serial();
        Instant nb = s.notBefore();
        Instant na = s.notAfter();
        Duration lt = Duration.between(nb, na);
        Instant deadline = na.minus(margin(lt));
        Instant renewAt = lt.compareTo(Duration.ofDays(10)) <= 0 ? na.minus(lt.dividedBy(2)) : na.minus(lt.dividedBy(3));
        Instant outageEnd = outageEndOf.apply(s);
        issuer.downUntil = outageEnd;
        // step from task to task until the renewal (bounded), so a short lifetime's next renewals are not mixed in
        for (int i = 0; i < 100_000 && renewals() < 2 && sched.now().isBefore(outageEnd.plus(DAY)); i++) {
            sched.advanceTo(sched.nextDue());
        }
        assertEquals(2, renewals(), "renewed within a day of the outage's end");

        List<Instant> attempts = issuer.times.subList(1, issuer.times.size());
        List<CertEvent.Failed> failed = events.stream().filter(CertEvent.Failed.class::isInstance).map(CertEvent.Failed.class::cast).toList();
        assertEquals(renewAt, attempts.get(0), "the first attempt is the renewal moment");
        assertEquals(attempts.size() - 1, failed.size(), "every attempt but the last failed: " + attempts);
        for (int i = 0; i + 1 < attempts.size(); i++) {
            Instant t = attempts.get(i);
            Instant next = attempts.get(i + 1);
            assertEquals(next, failed.get(i).nextAttempt(), "failure " + (i + 1) + ": the reported next attempt is the real one");
            Duration[] range = allowedGap(i + 1, t, nb, na);
            Duration gap = Duration.between(t, next);
            assertTrue(gap.compareTo(range[0]) >= 0 && gap.compareTo(range[1]) <= 0,
                    "failure " + (i + 1) + " at " + t + ": gap " + gap + " outside the rule's " + range[0] + " .. " + range[1]);
            if (t.isBefore(deadline)) {
                assertFalse(next.isAfter(deadline), "a retry scheduled before the deadline " + deadline + " lands after it: " + next);
            }
        }
        Instant renewedAt = attempts.get(attempts.size() - 1);
        assertFalse(renewedAt.isBefore(outageEnd), "renewed only once the CA was back");
        if (attempts.size() > 1) {
            assertTrue(attempts.get(attempts.size() - 2).isBefore(outageEnd), "the first attempt after the outage succeeded");
        }
        CertificateStatus after = a.status(APP).orElseThrow();
        assertEquals(CertificateStatus.State.VALID, after.state());
        assertFalse(first.equals(after.serial()), "renewed");
        assertEquals(after.serial(), a.servedCertificate(APP).chain().get(0).getSerialNumber(), "the renewal is served");
        assertTrue(attempts.size() <= attemptBound(renewAt, outageEnd, deadline, lt),
                attempts.size() + " attempts, more than the rule's bound " + attemptBound(renewAt, outageEnd, deadline, lt));
        return new Run(nb, na, deadline, renewAt, List.copyOf(attempts), renewedAt);
    }

    /**
     * At most: the three short backoff steps, one per 0.8 day (the daily step's shortest jitter) until
     * the tightening, one per quarter-shrink of the time left (log base 4/3 of it over the min gap),
     * one at the deadline, then one per 0.8 min gap, plus the success.
     */
    static long attemptBound(Instant renewAt, Instant outageEnd, Instant deadline, Duration lifetime) {
        Duration gap = minGap(lifetime);
        Duration beforeDeadline = Duration.between(renewAt, deadline.isBefore(outageEnd) ? deadline : outageEnd);
        long daily = beforeDeadline.toMillis() / pct(DAY, 80).toMillis() + 1;
        long shrink = (long) Math.ceil(Math.log(Math.max(1, (double) beforeDeadline.toMillis() / gap.toMillis())) / Math.log(4.0 / 3)) + 1;
        long after = outageEnd.isAfter(deadline) ? Duration.between(deadline, outageEnd).toMillis() / pct(gap, 80).toMillis() + 1 : 0;
        return 3 + daily + shrink + 1 + after + 1;
    }

    // ------------------------------------------------------------------ 6-day certificates

    @Test
    void expiryClampSixDayOutageEndingBeforeTheMargin() {
        Run r = outage(Duration.ofDays(6), s -> s.notAfter().minus(margin(Duration.ofDays(6))).minus(Duration.ofHours(5)));
        assertEquals(Duration.ofDays(6), Duration.between(r.notBefore(), r.notAfter()));
        assertEquals(Duration.ofMinutes(10), minGap(Duration.ofDays(6)));
        // 3 days of outage: the 1-day step shrinks to a quarter of the time left once that is shorter
        assertTrue(r.attempts().size() >= 7, "retried along the way: " + r.attempts());
    }

    @Test
    void expiryClampSixDayOutageEndingInsideTheMarginBeforeExpiry() {
        Run r = outage(Duration.ofDays(6), s -> s.notAfter().minus(HOUR));
        assertTrue(r.attempts().contains(r.deadline()), "one attempt exactly at the deadline notAfter - 2.88 h: " + r.attempts());
        assertTrue(r.renewedAt().isBefore(r.notAfter()), "renewed before expiry: " + r.renewedAt());
        assertTrue(Duration.between(r.notAfter().minus(HOUR), r.renewedAt()).compareTo(Duration.ofMinutes(12)) <= 0,
                "within one min gap (10 min +20 %) of the CA answering: " + r.renewedAt());
    }

    @Test
    void expiryClampSixDayOutageEndingAfterExpiry() {
        Run r = outage(Duration.ofDays(6), s -> s.notAfter().plus(Duration.ofHours(6)));
        Instant back = r.notAfter().plus(Duration.ofHours(6));
        assertTrue(Duration.between(back, r.renewedAt()).compareTo(Duration.ofMinutes(12)) <= 0, "renewed within 12 min of the CA answering");
        long afterExpiry = r.attempts().stream().filter(t -> t.isAfter(r.notAfter())).count();
        assertTrue(afterExpiry <= 6 * 60 / 8 + 2, "about one attempt per 10 min after expiry, not more: " + afterExpiry);
    }

    // ------------------------------------------------------------------ 45-day certificates

    @Test
    void expiryClampFortyFiveDayOutageEndingBeforeTheMargin() {
        Duration lt = Duration.ofDays(45);
        assertEquals(Duration.ofMinutes(1296), margin(lt), "21.6 h");
        outage(lt, s -> s.notAfter().minus(Duration.ofDays(3)));
    }

    @Test
    void expiryClampFortyFiveDayOutageEndingInsideTheMarginBeforeExpiry() {
        Run r = outage(Duration.ofDays(45), s -> s.notAfter().minus(Duration.ofHours(2)));
        assertTrue(r.attempts().contains(r.deadline()), "one attempt exactly at the deadline: " + r.attempts());
        assertTrue(r.renewedAt().isBefore(r.notAfter()));
    }

    @Test
    void expiryClampFortyFiveDayOutageEndingAfterExpiry() {
        Run r = outage(Duration.ofDays(45), s -> s.notAfter().plus(Duration.ofHours(12)));
        Instant back = r.notAfter().plus(Duration.ofHours(12));
        assertTrue(Duration.between(back, r.renewedAt()).compareTo(Duration.ofMinutes(12)) <= 0, "renewed within 12 min of the CA answering");
    }

    // ------------------------------------------------------------------ 90-day certificates

    @Test
    void expiryClampNinetyDayOutageEndingBeforeTheMargin() {
        Duration lt = Duration.ofDays(90);
        assertEquals(DAY, margin(lt), "capped at a day");
        outage(lt, s -> s.notAfter().minus(Duration.ofDays(4)));
    }

    @Test
    void expiryClampNinetyDayOutageEndingInsideTheMarginBeforeExpiry() {
        Run r = outage(Duration.ofDays(90), s -> s.notAfter().minus(Duration.ofHours(3)));
        assertTrue(r.attempts().contains(r.deadline()), "one attempt exactly at notAfter - 1 day: " + r.attempts());
        assertTrue(r.renewedAt().isBefore(r.notAfter()));
    }

    @Test
    void expiryClampNinetyDayOutageEndingAfterExpiry() {
        Run r = outage(Duration.ofDays(90), s -> s.notAfter().plus(Duration.ofHours(5)));
        Instant back = r.notAfter().plus(Duration.ofHours(5));
        assertTrue(Duration.between(back, r.renewedAt()).compareTo(Duration.ofMinutes(12)) <= 0, "renewed within 12 min of the CA answering");
    }

    // ------------------------------------------------------------------ the report's 240 s certificate

    @Test
    void expiryClampTheReportedTwoHundredFortySecondCertificateIsNeverRetriedAfterExpiry() {
        // Before: the next attempt was set 8.5 min after expiry. Margin 24 s, min gap 12 s.
        Duration lt = Duration.ofSeconds(240);
        assertEquals(Duration.ofSeconds(24), margin(lt));
        assertEquals(Duration.ofSeconds(12), minGap(lt));
        Run r = outage(lt, s -> s.notAfter().minus(Duration.ofSeconds(20)));
        assertTrue(r.renewedAt().isBefore(r.notAfter()), "renewed before expiry: " + r.attempts() + ", notAfter " + r.notAfter());
    }

    // ------------------------------------------------------------------ Retry-After

    @Test
    void expiryClampRetryAfterPastTheDeadlineIsHonouredExactlyAndReported() {
        AutoCert a = start(Duration.ofDays(6));
        CertificateStatus s = a.status(APP).orElseThrow();
        Instant renewAt = s.notAfter().minus(Duration.ofDays(3));
        Instant retry = s.notAfter().plus(Duration.ofMinutes(30));
        issuer.then((i, r) -> {
            throw new IssuanceException("rate limited", false, retry, "urn:ietf:params:acme:error:rateLimited", "too many certificates", null);
        });
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            sched.advanceTo(renewAt.plusSeconds(1));
        } finally {
            System.setErr(err);
        }
        CertEvent.Failed f = events.stream().filter(CertEvent.Failed.class::isInstance).map(CertEvent.Failed.class::cast).findFirst().orElseThrow();
        assertEquals(retry, f.nextAttempt(), "the CA's Retry-After, not earlier (it would be refused) and not later");
        assertEquals(retry, a.status(APP).orElseThrow().nextCheck());
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("past the last retry moment") && text.contains(retry.toString()), "reported: " + text);
        sched.advanceTo(retry.minusSeconds(1));
        assertEquals(2, issuer.issueCalls(), "nothing before the Retry-After");
        sched.advanceTo(retry.plusSeconds(1));
        assertEquals(3, issuer.issueCalls());
        assertEquals(retry, issuer.times.get(2));
        assertEquals(CertificateStatus.State.VALID, a.status(APP).orElseThrow().state());
    }

    @Test
    void expiryClampRetryAfterBeforeTheDeadlineIsHonouredExactlyEvenWhenLongerThanTheTightenedCadence() {
        AutoCert a = start(Duration.ofDays(6));
        CertificateStatus s = a.status(APP).orElseThrow();
        Instant deadline = s.notAfter().minus(margin(Duration.ofDays(6)));
        // near the deadline the cadence is 10 min; the CA asks for 2 h, which still ends before the deadline
        issuer.downUntil = deadline.minus(Duration.ofHours(4));
        sched.advanceTo(deadline.minus(Duration.ofHours(4)).minusSeconds(1));
        Instant retry = sched.now().plus(Duration.ofHours(2));
        issuer.downUntil = null;
        issuer.then((i, r) -> {
            throw new IssuanceException("rate limited", false, retry, "urn:ietf:params:acme:error:rateLimited", "slow down", null);
        });
        sched.advanceTo(retry.minusSeconds(1));
        int calls = issuer.issueCalls();
        CertEvent.Failed last = (CertEvent.Failed) events.stream().filter(CertEvent.Failed.class::isInstance).reduce((x, y) -> y).orElseThrow();
        assertEquals(retry, last.nextAttempt());
        sched.advanceTo(retry.plusSeconds(1));
        assertEquals(calls + 1, issuer.issueCalls());
        assertEquals(retry, issuer.times.get(issuer.times.size() - 1));
        assertEquals(CertificateStatus.State.VALID, a.status(APP).orElseThrow().state());
    }

    // ------------------------------------------------------------------ planned times in logs

    static final Pattern PLANNED = Pattern.compile("renewal planned at (\\S+?)[;,)\\s]");

    @Test
    void expiryClampTheLoggedPlannedRenewalIsTheMomentUsed() {
        // The CA's window lies in the last 1/20 of a 90-day lifetime: the emergency rule renews
        // earlier than any pick; the log used to name the pick.
        issuer.windowFor = cert -> new Issuer.Window(cert.getNotAfter().toInstant().minus(DAY.multipliedBy(2)),
                cert.getNotAfter().toInstant().minus(DAY), null, null);
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        AutoCert a;
        try {
            a = start(Duration.ofDays(90));
        } finally {
            System.setErr(err);
        }
        Matcher m = PLANNED.matcher(log.toString(StandardCharsets.UTF_8));
        assertTrue(m.find(), "a planned time is logged: " + log);
        Instant planned = Instant.parse(m.group(1));
        CertificateStatus s = a.status(APP).orElseThrow();
        assertEquals(s.notAfter().minus(Duration.ofDays(90).dividedBy(20)), planned, "the emergency moment, not the pick");
        sched.advanceTo(planned.plusSeconds(1));
        assertEquals(2, issuer.issueCalls());
        assertEquals(planned, issuer.times.get(1), "renewed exactly at the logged moment");
    }

    @Test
    void expiryClampALoggedAriPickIsTheMomentUsed() {
        issuer.windowFor = cert -> new Issuer.Window(cert.getNotBefore().toInstant().plus(Duration.ofDays(50)),
                cert.getNotBefore().toInstant().plus(Duration.ofDays(52)), null, null);
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
        try {
            start(Duration.ofDays(90));
            sched.advance(Duration.ofDays(49));
        } finally {
            System.setErr(err);
        }
        Matcher m = PLANNED.matcher(log.toString(StandardCharsets.UTF_8));
        assertTrue(m.find(), "a planned time is logged: " + log);
        Instant planned = Instant.parse(m.group(1));
        assertFalse(m.find(), "logged once while the window stays the same: " + log);
        sched.advance(Duration.ofDays(4));
        assertEquals(2, issuer.issueCalls());
        assertEquals(planned, issuer.times.get(1), "renewed exactly at the logged moment");
    }
}
