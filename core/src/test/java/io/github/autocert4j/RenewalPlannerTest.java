package io.github.autocert4j;

import io.github.autocert4j.internal.renewal.RenewalPlanner;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;

import org.junit.jupiter.api.Test;

class RenewalPlannerTest {

    private static final Instant T0 = Instant.parse("2030-03-01T00:00:00Z");
    private static final RenewalPolicy DEFAULTS = RenewalPolicy.defaults();
    private final Random random = new Random(42);

    private static RenewalPlanner.Plan plan(Duration lifetime, Duration elapsed, Instant ari, Random r) {
        return RenewalPlanner.plan(T0, T0.plus(lifetime), ari, T0.plus(elapsed), DEFAULTS, r);
    }

    private static void assertBetween(Instant low, Instant high, Instant actual) {
        assertFalse(actual.isBefore(low), actual + " is before " + low);
        assertFalse(actual.isAfter(high), actual + " is after " + high);
    }

    @Test
    void noCertificateRenewsNow() {
        Instant now = T0;
        RenewalPlanner.Plan p = RenewalPlanner.plan(null, null, null, now, DEFAULTS, random);
        assertTrue(p.renewNow());
        assertEquals(now, p.nextCheck());
        assertTrue(p.reason().contains("no certificate"));
    }

    @Test
    void ninetyDayCertificateRenewsAtTwoThirds() {
        Duration life = Duration.ofDays(90);
        // 60 days in: exactly 1/3 remains
        assertFalse(plan(life, Duration.ofDays(60).minusMinutes(1), null, random).renewNow());
        RenewalPlanner.Plan due = plan(life, Duration.ofDays(60), null, random);
        assertTrue(due.renewNow(), due.reason());
        assertTrue(due.reason().contains("lifetime remains"), due.reason());
        assertTrue(plan(life, Duration.ofDays(70), null, random).renewNow());
        assertEquals(Duration.ofDays(30), RenewalPlanner.renewBefore(life, DEFAULTS));
        // 45-day tlsserver profile: 15 days before expiry
        assertEquals(Duration.ofDays(15), RenewalPlanner.renewBefore(Duration.ofDays(45), DEFAULTS));
    }

    @Test
    void shortLivedCertificateRenewsAtHalf() {
        Duration life = Duration.ofDays(6);
        assertEquals(Duration.ofDays(3), RenewalPlanner.renewBefore(life, DEFAULTS));
        assertFalse(plan(life, Duration.ofDays(3).minusSeconds(1), null, random).renewNow());
        RenewalPlanner.Plan due = plan(life, Duration.ofDays(3), null, random);
        assertTrue(due.renewNow());
        assertTrue(due.reason().contains("1/2"), due.reason());
        // the boundary: 10 days is still "short", 10 days + 1 s is not
        assertEquals(Duration.ofDays(5), RenewalPlanner.renewBefore(Duration.ofDays(10), DEFAULTS));
        Duration justOver = Duration.ofDays(10).plusSeconds(3);
        assertEquals(justOver.toMillis() / 3, RenewalPlanner.renewBefore(justOver, DEFAULTS).toMillis());
    }

    @Test
    void customRenewalRatio() {
        RenewalPolicy half = DEFAULTS.withRenewalRatio(0.5);
        assertEquals(Duration.ofDays(45), RenewalPlanner.renewBefore(Duration.ofDays(90), half));
        assertFalse(RenewalPlanner.plan(T0, T0.plus(Duration.ofDays(90)), null, T0.plus(Duration.ofDays(44)), half, random).renewNow());
        assertTrue(RenewalPlanner.plan(T0, T0.plus(Duration.ofDays(90)), null, T0.plus(Duration.ofDays(45)), half, random).renewNow());
    }

    @Test
    void emergencyOverridesALaterAriTime() {
        Duration life = Duration.ofDays(90);
        Instant notAfter = T0.plus(life);
        Instant ariLate = notAfter.minus(Duration.ofHours(1)); // a CA asking to wait almost to expiry
        Duration emergencyAt = life.minus(life.dividedBy(20)); // 85.5 days in
        RenewalPlanner.Plan before = plan(life, emergencyAt.minusMinutes(1), ariLate, random);
        assertFalse(before.renewNow());
        assertTrue(!before.nextCheck().isAfter(T0.plus(emergencyAt)), "next check no later than the emergency point: " + before.nextCheck());
        RenewalPlanner.Plan at = plan(life, emergencyAt, ariLate, random);
        assertTrue(at.renewNow());
        assertTrue(at.reason().contains("1/20"), at.reason());
        // and after expiry
        assertTrue(plan(life, life.plusDays(3), ariLate, random).renewNow());
    }

    @Test
    void ariChosenTimeIsRespected() {
        Duration life = Duration.ofDays(90);
        // ARI earlier than the 2/3 rule: renew early (e.g. revocation/incident)
        Instant early = T0.plus(Duration.ofDays(10));
        assertFalse(plan(life, Duration.ofDays(10).minusSeconds(1), early, random).renewNow());
        RenewalPlanner.Plan p = plan(life, Duration.ofDays(10), early, random);
        assertTrue(p.renewNow());
        assertTrue(p.reason().contains("ARI"), p.reason());
        // ARI later than the 2/3 rule: wait for it, even past 60 days
        Instant late = T0.plus(Duration.ofDays(75));
        assertFalse(plan(life, Duration.ofDays(70), late, random).renewNow());
        assertTrue(plan(life, Duration.ofDays(75), late, random).renewNow());
        // an ARI time already in the past: renew now
        assertTrue(plan(life, Duration.ofDays(20), T0.plus(Duration.ofDays(5)), random).renewNow());
    }

    @Test
    void nextCheckIsAboutTheIntervalAndNeverAfterTheRenewalMoment() {
        Duration life = Duration.ofDays(90);
        Duration interval = DEFAULTS.checkInterval();
        Random r = new Random(7);
        long belowBase = 0;
        long aboveBase = 0;
        for (int i = 0; i < 500; i++) {
            Instant now = T0.plus(Duration.ofDays(1));
            RenewalPlanner.Plan p = RenewalPlanner.plan(T0, T0.plus(life), null, now, DEFAULTS, r);
            assertFalse(p.renewNow());
            Duration wait = Duration.between(now, p.nextCheck());
            assertTrue(wait.toMillis() >= interval.toMillis() * 9 / 10 && wait.toMillis() <= interval.toMillis() * 11 / 10, wait.toString());
            if (wait.compareTo(interval) < 0) {
                belowBase++;
            } else {
                aboveBase++;
            }
        }
        assertTrue(belowBase > 100 && aboveBase > 100, "jitter spreads both ways: " + belowBase + "/" + aboveBase);

        // renewal moment closer than the check interval: nextCheck is exactly the renewal moment
        Instant renewAt = T0.plus(Duration.ofDays(60));
        Instant now = renewAt.minus(Duration.ofHours(2));
        RenewalPlanner.Plan p = RenewalPlanner.plan(T0, T0.plus(life), null, now, DEFAULTS, r);
        assertFalse(p.renewNow());
        assertEquals(renewAt, p.nextCheck());
        assertTrue(p.reason().contains(renewAt.toString()), p.reason());

        // 6-day certificate with a 12 h interval, 3 h before its half-life: checked exactly at the half-life
        Instant half = T0.plus(Duration.ofDays(3));
        RenewalPlanner.Plan s = RenewalPlanner.plan(T0, T0.plus(Duration.ofDays(6)), null, half.minus(Duration.ofHours(3)), DEFAULTS, r);
        assertEquals(half, s.nextCheck());

        // with ARI: never after the chosen moment
        Instant ari = now.plus(Duration.ofMinutes(30));
        assertEquals(ari, RenewalPlanner.plan(T0, T0.plus(life), ari, now, DEFAULTS, r).nextCheck());
    }

    @Test
    void sameSeedSamePlan() {
        RenewalPlanner.Plan a = plan(Duration.ofDays(90), Duration.ofDays(1), null, new Random(99));
        RenewalPlanner.Plan b = plan(Duration.ofDays(90), Duration.ofDays(1), null, new Random(99));
        assertEquals(a, b);
    }

    @Test
    void chooseInWindowStaysInsideTheWindowAndNotInThePast() {
        Random r = new Random(1);
        Instant start = T0.plus(Duration.ofDays(60));
        Instant end = T0.plus(Duration.ofDays(62));
        // window in the future
        Instant min = end;
        Instant max = start;
        for (int i = 0; i < 1000; i++) {
            Instant c = RenewalPlanner.chooseInWindow(start, end, T0, r);
            assertBetween(start, end, c);
            min = c.isBefore(min) ? c : min;
            max = c.isAfter(max) ? c : max;
        }
        assertTrue(Duration.between(min, max).compareTo(Duration.ofDays(1)) > 0, "spread over the window: " + min + " .. " + max);
        // window already open: never before now
        Instant now = T0.plus(Duration.ofDays(61));
        for (int i = 0; i < 1000; i++) {
            assertBetween(now, end, RenewalPlanner.chooseInWindow(start, end, now, r));
        }
        // window already closed, or empty, or inverted: now / start
        Instant late = end.plus(Duration.ofDays(1));
        assertEquals(late, RenewalPlanner.chooseInWindow(start, end, late, r));
        assertEquals(start, RenewalPlanner.chooseInWindow(start, start, T0, r));
        assertEquals(end, RenewalPlanner.chooseInWindow(end, start, T0, r));
    }

    @Test
    void nextAriFetchClampsRetryAfter() {
        Instant now = T0;
        assertEquals(now.plus(Duration.ofHours(6)), RenewalPlanner.nextAriFetch(now.plus(Duration.ofHours(6)), now, DEFAULTS));
        assertEquals(now.plus(Duration.ofMinutes(1)), RenewalPlanner.nextAriFetch(now.plusSeconds(5), now, DEFAULTS));
        assertEquals(now.plus(Duration.ofMinutes(1)), RenewalPlanner.nextAriFetch(now.minusSeconds(5), now, DEFAULTS), "Retry-After in the past");
        assertEquals(now.plus(Duration.ofDays(1)), RenewalPlanner.nextAriFetch(now.plus(Duration.ofDays(30)), now, DEFAULTS));
        assertEquals(now.plus(Duration.ofMinutes(1)), RenewalPlanner.nextAriFetch(now.plus(Duration.ofMinutes(1)), now, DEFAULTS));
        assertEquals(now.plus(Duration.ofDays(1)), RenewalPlanner.nextAriFetch(now.plus(Duration.ofDays(1)), now, DEFAULTS));
        // no Retry-After: the check interval (also clamped)
        assertEquals(now.plus(Duration.ofHours(12)), RenewalPlanner.nextAriFetch(null, now, DEFAULTS));
        assertEquals(now.plus(Duration.ofDays(1)), RenewalPlanner.nextAriFetch(null, now, DEFAULTS.withCheckInterval(Duration.ofDays(3))));
        assertEquals(now.plus(Duration.ofMinutes(1)), RenewalPlanner.nextAriFetch(null, now, DEFAULTS.withCheckInterval(Duration.ofSeconds(1))));
    }

    @Test
    void retryFollowsTheBackoffScheduleAndRepeatsTheLastStep() {
        Random r = new Random(3);
        Instant now = T0;
        List<Duration> expected = List.of(Duration.ofMinutes(1), Duration.ofMinutes(10), Duration.ofMinutes(100),
                Duration.ofDays(1), Duration.ofDays(1), Duration.ofDays(1));
        for (int round = 0; round < 50; round++) {
            for (int failures = 1; failures <= expected.size(); failures++) {
                Duration base = expected.get(failures - 1);
                Duration wait = Duration.between(now, RenewalPlanner.retryAt(failures, null, now, DEFAULTS, r));
                assertTrue(wait.toMillis() >= base.toMillis() * 8 / 10 && wait.toMillis() <= base.toMillis() * 12 / 10,
                        "failure " + failures + ": " + wait);
            }
        }
        // failure counts beyond the list and nonsense counts stay in range
        Duration far = Duration.between(now, RenewalPlanner.retryAt(1000, null, now, DEFAULTS, r));
        assertTrue(far.compareTo(Duration.ofHours(19)) >= 0 && far.compareTo(Duration.ofHours(29)) <= 0, far.toString());
        Duration zero = Duration.between(now, RenewalPlanner.retryAt(0, null, now, DEFAULTS, r));
        assertTrue(zero.compareTo(Duration.ofSeconds(48)) >= 0 && zero.compareTo(Duration.ofSeconds(72)) <= 0, zero.toString());
        // custom schedule
        RenewalPolicy custom = DEFAULTS.withBackoff(List.of(Duration.ofSeconds(10)));
        for (int f = 1; f < 5; f++) {
            Duration w = Duration.between(now, RenewalPlanner.retryAt(f, null, now, custom, r));
            assertTrue(w.toMillis() >= 8_000 && w.toMillis() <= 12_000, w.toString());
        }
    }

    @Test
    void retryUsesRetryAfterExactly() {
        Random r = new Random(5);
        Instant now = T0;
        Instant ra = now.plus(Duration.ofMinutes(37)).plusMillis(123);
        assertEquals(ra, RenewalPlanner.retryAt(1, ra, now, DEFAULTS, r));
        assertEquals(ra, RenewalPlanner.retryAt(4, ra, now, DEFAULTS, r));
        Instant longRa = now.plus(Duration.ofDays(3));
        assertEquals(longRa, RenewalPlanner.retryAt(2, longRa, now, DEFAULTS, r), "a rate-limit Retry-After is honoured even beyond the schedule");
        // a Retry-After in the past is ignored: backoff applies
        Duration w = Duration.between(now, RenewalPlanner.retryAt(2, now.minusSeconds(1), now, DEFAULTS, r));
        assertTrue(w.compareTo(Duration.ofMinutes(8)) >= 0 && w.compareTo(Duration.ofMinutes(12)) <= 0, w.toString());
    }

    @Test
    void retryMarginAndMinimumGapFollowTheLifetime() {
        assertEquals(Duration.ofSeconds(24), RenewalPlanner.safetyMargin(Duration.ofSeconds(240)), "1/10 for demo lengths");
        assertEquals(Duration.ofMinutes(1), RenewalPlanner.safetyMargin(Duration.ofMinutes(30)), "at least a minute");
        assertEquals(Duration.ofMinutes(172).plusSeconds(48), RenewalPlanner.safetyMargin(Duration.ofDays(6)), "1/50: 2.88 h");
        assertEquals(Duration.ofMinutes(1296), RenewalPlanner.safetyMargin(Duration.ofDays(45)), "1/50: 21.6 h");
        assertEquals(Duration.ofDays(1), RenewalPlanner.safetyMargin(Duration.ofDays(90)), "at most a day");
        assertEquals(Duration.ofSeconds(12), RenewalPlanner.minRetryGap(Duration.ofSeconds(240), DEFAULTS));
        assertEquals(Duration.ofMinutes(1), RenewalPlanner.minRetryGap(Duration.ofHours(2), DEFAULTS));
        for (int days : new int[] {6, 45, 90}) {
            assertEquals(Duration.ofMinutes(10), RenewalPlanner.minRetryGap(Duration.ofDays(days), DEFAULTS), days + " days");
        }
    }

    @Test
    void retryIsNeverScheduledAfterTheDeadlineAndTightensAsExpiryNears() {
        Random r = new Random(13);
        Instant notAfter = T0.plus(Duration.ofDays(6));
        Instant deadline = notAfter.minus(RenewalPlanner.safetyMargin(Duration.ofDays(6)));
        // the daily step with 20 h left before the deadline: a quarter of that, 5 h, exactly
        Instant now = deadline.minus(Duration.ofHours(20));
        assertEquals(now.plus(Duration.ofHours(5)), RenewalPlanner.retryAt(4, null, T0, notAfter, now, DEFAULTS, r));
        // 30 min before the deadline: a quarter would be 7.5 min, below the 10 min floor, which still ends before the deadline
        now = deadline.minus(Duration.ofMinutes(30));
        assertEquals(now.plus(Duration.ofMinutes(10)), RenewalPlanner.retryAt(4, null, T0, notAfter, now, DEFAULTS, r));
        // 4 min before the deadline: the attempt lands exactly on it
        now = deadline.minus(Duration.ofMinutes(4));
        assertEquals(deadline, RenewalPlanner.retryAt(4, null, T0, notAfter, now, DEFAULTS, r));
        // a short step is kept as it is (1 min ±20 %) far from the deadline
        now = T0.plus(Duration.ofDays(3));
        Duration first = Duration.between(now, RenewalPlanner.retryAt(1, null, T0, notAfter, now, DEFAULTS, r));
        assertTrue(first.compareTo(Duration.ofSeconds(48)) >= 0 && first.compareTo(Duration.ofSeconds(72)) <= 0, first.toString());
        // past the deadline and after expiry: the 10 min floor ±20 %
        for (Instant late : List.of(deadline.plusSeconds(1), notAfter.plus(Duration.ofDays(2)))) {
            Duration w = Duration.between(late, RenewalPlanner.retryAt(5, null, T0, notAfter, late, DEFAULTS, r));
            assertTrue(w.compareTo(Duration.ofMinutes(8)) >= 0 && w.compareTo(Duration.ofMinutes(12)) <= 0, late + ": " + w);
        }
        // in 1000 draws from anywhere before the deadline, never past it
        for (int i = 0; i < 1000; i++) {
            Instant t = T0.plusMillis(r.nextLong(Duration.between(T0, deadline).toMillis()));
            Instant at = RenewalPlanner.retryAt(1 + r.nextInt(6), null, T0, notAfter, t, DEFAULTS, r);
            assertFalse(at.isAfter(deadline), t + " -> " + at);
            assertTrue(at.isAfter(t), t + " -> " + at);
        }
    }

    @Test
    void aRetryAfterPastTheDeadlineIsHonouredExactly() {
        Instant notAfter = T0.plus(Duration.ofDays(6));
        Instant ra = notAfter.plus(Duration.ofHours(1));
        assertEquals(ra, RenewalPlanner.retryAt(2, ra, T0, notAfter, notAfter.minus(Duration.ofHours(5)), DEFAULTS, new Random(1)));
    }

    @Test
    void warningWindowIsTheSmallerOfExpiryWarningAndAQuarterOfTheLifetime() {
        // 90 days: 14 days < 22.5 days -> 14 days
        Instant notAfter90 = T0.plus(Duration.ofDays(90));
        assertFalse(RenewalPlanner.inWarningWindow(T0, notAfter90, notAfter90.minus(Duration.ofDays(14)).minusSeconds(1), DEFAULTS));
        assertTrue(RenewalPlanner.inWarningWindow(T0, notAfter90, notAfter90.minus(Duration.ofDays(14)), DEFAULTS));
        // 6 days: 1/4 = 36 h < 14 days -> 36 h
        Instant notAfter6 = T0.plus(Duration.ofDays(6));
        assertFalse(RenewalPlanner.inWarningWindow(T0, notAfter6, notAfter6.minus(Duration.ofHours(36)).minusSeconds(1), DEFAULTS));
        assertTrue(RenewalPlanner.inWarningWindow(T0, notAfter6, notAfter6.minus(Duration.ofHours(36)), DEFAULTS));
        // a short expiryWarning wins over the quarter
        RenewalPolicy oneDay = DEFAULTS.withExpiryWarning(Duration.ofDays(1));
        assertFalse(RenewalPlanner.inWarningWindow(T0, notAfter90, notAfter90.minus(Duration.ofDays(2)), oneDay));
        assertTrue(RenewalPlanner.inWarningWindow(T0, notAfter90, notAfter90.minus(Duration.ofHours(23)), oneDay));
        // expired: still warning
        assertTrue(RenewalPlanner.inWarningWindow(T0, notAfter90, notAfter90.plus(Duration.ofDays(1)), DEFAULTS));
    }

    @Test
    void jitterStaysInItsBandAndIsPositive() {
        Random r = new Random(11);
        for (int i = 0; i < 1000; i++) {
            long ms = RenewalPlanner.jitter(Duration.ofSeconds(100), 0.2, r).toMillis();
            assertTrue(ms >= 80_000 && ms <= 120_000, Long.toString(ms));
        }
        assertEquals(1, RenewalPlanner.jitter(Duration.ZERO, 0.2, r).toMillis());
        assertTrue(RenewalPlanner.jitter(Duration.ofMillis(1), 0.5, r).toMillis() >= 1);
    }
}
