package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.CertificateStatus.State;
import org.junit.jupiter.api.Test;

/** The health rule on certificate statuses as the core reports them (value objects, no server needed). */
class HealthEvaluationTest {
    private static final Instant NOT_BEFORE = Instant.parse("2026-01-01T00:00:00Z");
    private static final Instant NOT_AFTER = NOT_BEFORE.plus(Duration.ofDays(90));
    private static final Duration WARNING = Duration.ofDays(14);

    /** A status as the core reports it: the warning window is the last 14 days, at most the last quarter of the lifetime. */
    private static HealthEvaluation.Facts status(String id, State state, int failures, Instant notAfter) {
        Instant warningFrom = null;
        if (notAfter != null) {
            Duration quarter = Duration.between(NOT_BEFORE, notAfter).dividedBy(4);
            warningFrom = notAfter.minus(quarter.compareTo(WARNING) < 0 ? quarter : WARNING);
        }
        return new HealthEvaluation.Facts(id, List.of(id), state, notAfter == null ? null : BigInteger.valueOf(0xabcdef), notAfter,
                warningFrom, failures > 0 ? "urn:ietf:params:acme:error:connection: refused" : null, failures,
                NOT_AFTER.minus(Duration.ofDays(20)));
    }

    private static String evaluate(Instant now, HealthEvaluation.Facts... statuses) {
        return HealthEvaluation.of(List.of(statuses), "OUT_OF_SERVICE", "OUT_OF_SERVICE", now).status();
    }

    @Test
    void validAndRenewingNormallyIsUp() {
        assertEquals("UP", evaluate(NOT_BEFORE.plus(Duration.ofDays(10)), status("a.test", State.VALID, 0, NOT_AFTER)));
    }

    @Test
    void failingOutsideTheWarningWindowIsStillUp() {
        Instant justBefore = NOT_AFTER.minus(WARNING).minusSeconds(1);
        assertEquals("UP", evaluate(justBefore, status("a.test", State.VALID, 3, NOT_AFTER)));
    }

    @Test
    void failingInsideTheWarningWindowGetsTheConfiguredStatus() {
        Instant windowStart = NOT_AFTER.minus(WARNING);
        assertEquals("OUT_OF_SERVICE", evaluate(windowStart, status("a.test", State.VALID, 1, NOT_AFTER)));
        assertEquals("WARNING", HealthEvaluation.of(List.of(status("a.test", State.VALID, 1, NOT_AFTER)), "WARNING", "DOWN",
                windowStart).status());
    }

    @Test
    void insideTheWindowWithoutAFailureIsUp() {
        assertEquals("UP", evaluate(NOT_AFTER.minus(Duration.ofDays(1)), status("a.test", State.VALID, 0, NOT_AFTER)));
    }

    @Test
    void theWindowIsAtMostTheLastQuarterOfTheLifetime() {
        Instant notAfter = NOT_BEFORE.plus(Duration.ofDays(6)); // a 6-day certificate: window 1.5 days, not 14
        HealthEvaluation.Facts shortLived = status("a.test", State.VALID, 1, notAfter);
        assertEquals("UP", evaluate(notAfter.minus(Duration.ofHours(36)).minusSeconds(1), shortLived));
        assertEquals("OUT_OF_SERVICE", evaluate(notAfter.minus(Duration.ofHours(36)), shortLived));
    }

    @Test
    void aCertificateLazyLoadingHasNotReadYetIsNotTheFallback() {
        Instant now = NOT_BEFORE.plus(Duration.ofDays(1));
        assertEquals("UP", evaluate(now, status("a.test", State.NOT_LOADED, 0, null), status("b.test", State.VALID, 0, NOT_AFTER)));
        assertEquals("OUT_OF_SERVICE", evaluate(now, status("a.test", State.PENDING, 0, null)), "a pending one still is");
    }

    @Test
    void anExpiredCertificateIsDown() {
        assertEquals("DOWN", evaluate(NOT_AFTER, status("a.test", State.EXPIRED, 5, NOT_AFTER)));
        assertEquals("DOWN", evaluate(NOT_AFTER.plusSeconds(1), status("a.test", State.VALID, 0, NOT_AFTER)),
                "expired by the indicator's own clock even before the core's next look");
    }

    @Test
    void aPermanentRefusalOfARenewalGetsTheRenewalFailingStatus() {
        Instant now = NOT_BEFORE.plus(Duration.ofDays(1));
        assertEquals("WARNING", HealthEvaluation.of(List.of(status("a.test", State.FAILED, 1, NOT_AFTER)), "WARNING", "DOWN", now).status());
    }

    @Test
    void aNameServedWithTheFallbackGetsTheFallbackStatusWhyeverItIs() {
        Instant now = NOT_BEFORE.plus(Duration.ofDays(1));
        for (HealthEvaluation.Facts fallback : List.of(
                status("a.test", State.PENDING, 0, null),     // the first order is running, or the store is not readable yet
                status("a.test", State.PENDING, 2, null),     // the first order keeps failing
                status("a.test", State.FAILED, 1, null))) {   // the CA refused the first order
            HealthEvaluation e = HealthEvaluation.of(List.of(status("ok.test", State.VALID, 0, NOT_AFTER), fallback), "WARNING",
                    "OUT_OF_SERVICE", now);
            assertEquals("OUT_OF_SERVICE", e.status(), fallback.toString());
            @SuppressWarnings("unchecked")
            Map<String, Object> d = (Map<String, Object>) e.details().get("a.test");
            assertEquals("fallback", d.get("serving"));
            assertEquals("OUT_OF_SERVICE", d.get("health"));
            assertEquals("UP", HealthEvaluation.of(List.of(fallback), "WARNING", "UP", now).status(), "configurable: " + fallback);
        }
        // worse than a failing renewal, better than an expired certificate
        assertEquals("OUT_OF_SERVICE", HealthEvaluation.of(List.of(status("r.test", State.VALID, 3, NOT_AFTER),
                status("a.test", State.PENDING, 0, null)), "WARNING", "OUT_OF_SERVICE", NOT_AFTER.minus(Duration.ofDays(1))).status());
        assertEquals("DOWN", HealthEvaluation.of(List.of(status("x.test", State.EXPIRED, 0, NOT_AFTER),
                status("a.test", State.PENDING, 0, null)), "WARNING", "OUT_OF_SERVICE", NOT_AFTER).status());
    }

    @Test
    void theWorstCertificateDecidesAndEachIsDetailed() {
        Instant now = NOT_AFTER.minus(Duration.ofDays(1));
        HealthEvaluation e = HealthEvaluation.of(List.of(status("ok.test", State.VALID, 0, NOT_AFTER),
                status("failing.test", State.VALID, 2, NOT_AFTER), status("gone.test", State.EXPIRED, 9, now.minusSeconds(1))),
                "OUT_OF_SERVICE", "OUT_OF_SERVICE", now);
        assertEquals("DOWN", e.status());
        @SuppressWarnings("unchecked")
        Map<String, Object> failing = (Map<String, Object>) e.details().get("failing.test");
        assertEquals("OUT_OF_SERVICE", failing.get("health"));
        assertEquals("VALID", failing.get("state"));
        assertEquals("certificate", failing.get("serving"));
        assertEquals("abcdef", failing.get("serial"));
        assertEquals(NOT_AFTER.toString(), failing.get("notAfter"));
        assertEquals(2, failing.get("consecutiveFailures"));
        assertEquals("urn:ietf:params:acme:error:connection: refused", failing.get("lastError"));
        assertEquals(List.of("ok.test", "failing.test", "gone.test"), List.copyOf(e.details().keySet()));
    }
}
