package io.github.autocert4j;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * Pure renewal arithmetic: given the live certificate, the CA's ARI window and the time, decide
 * whether to renew now and when to look again. No I/O, so every rule is unit-tested with a fixed clock.
 */
final class RenewalPlanner {
    static final Duration SHORT_LIVED = Duration.ofDays(10);
    static final Duration MIN_ARI_POLL = Duration.ofMinutes(1);
    static final Duration MAX_ARI_POLL = Duration.ofDays(1);

    private RenewalPlanner() {
    }

    /**
     * What to do now.
     *
     * @param byAri whether the CA's ARI window (not the lifetime rule or the emergency rule) made it due
     */
    record Plan(boolean renewNow, Instant nextCheck, String reason, boolean byAri) {
        Plan(boolean renewNow, Instant nextCheck, String reason) {
            this(renewNow, nextCheck, reason, false);
        }
    }

    /**
     * @param notBefore start of the live certificate's validity, null if there is none
     * @param notAfter end of the live certificate's validity, null if there is none
     * @param ariChosen the moment picked inside the CA's ARI window, null without ARI
     */
    static Plan plan(Instant notBefore, Instant notAfter, Instant ariChosen, Instant now, RenewalPolicy policy, RandomGenerator random) {
        if (notAfter == null) {
            return new Plan(true, now, "no certificate yet");
        }
        Duration lifetime = Duration.between(notBefore, notAfter);
        Instant emergency = notAfter.minus(lifetime.dividedBy(20));
        if (!now.isBefore(emergency)) {
            return new Plan(true, now, "1/20 of the lifetime or less remains (expires " + notAfter + ")");
        }
        Instant renewAt;
        String why;
        boolean byAri = false;
        if (ariChosen != null) {
            byAri = !ariChosen.isAfter(emergency);
            renewAt = byAri ? ariChosen : emergency;
            why = "inside the CA's ARI window";
        } else {
            renewAt = notAfter.minus(renewBefore(lifetime, policy));
            why = "less than " + (lifetime.compareTo(SHORT_LIVED) <= 0 ? "1/2" : String.format(Locale.ROOT, "%.2f", policy.renewalRatio())) + " of the lifetime remains";
        }
        if (!now.isBefore(renewAt)) {
            return new Plan(true, now, why, byAri);
        }
        Instant periodic = now.plus(jitter(policy.checkInterval(), 0.1, random));
        return new Plan(false, periodic.isBefore(renewAt) ? periodic : renewAt, "not due until " + renewAt);
    }

    /** How long before expiry to renew without ARI. */
    static Duration renewBefore(Duration lifetime, RenewalPolicy policy) {
        if (lifetime.compareTo(SHORT_LIVED) <= 0) {
            return lifetime.dividedBy(2);
        }
        return Duration.ofMillis((long) (lifetime.toMillis() * policy.renewalRatio()));
    }

    /** A random moment in the ARI window that is not in the past (RFC 9773 §4.2). */
    static Instant chooseInWindow(Instant start, Instant end, Instant now, RandomGenerator random) {
        Instant from = start.isBefore(now) ? now : start;
        if (!end.isAfter(from)) {
            return from;
        }
        return from.plusMillis(random.nextLong(Duration.between(from, end).toMillis() + 1));
    }

    /** When to ask the CA for ARI again: its Retry-After clamped to [1 min, 1 day], else the check interval. */
    static Instant nextAriFetch(Instant retryAfter, Instant now, RenewalPolicy policy) {
        Duration wait = retryAfter == null ? policy.checkInterval() : Duration.between(now, retryAfter);
        if (wait.compareTo(MIN_ARI_POLL) < 0) {
            wait = MIN_ARI_POLL;
        } else if (wait.compareTo(MAX_ARI_POLL) > 0) {
            wait = MAX_ARI_POLL;
        }
        return now.plus(wait);
    }

    /** Delay before retry number {@code failures}: the CA's Retry-After exactly, else the backoff schedule ±20%. */
    static Instant retryAt(int failures, Instant retryAfter, Instant now, RenewalPolicy policy, RandomGenerator random) {
        if (retryAfter != null && retryAfter.isAfter(now)) {
            return retryAfter;
        }
        List<Duration> steps = policy.backoff();
        Duration base = steps.get(Math.min(Math.max(failures, 1), steps.size()) - 1);
        return now.plus(jitter(base, 0.2, random));
    }

    /** Whether a failing certificate should raise an expiry warning now. */
    static boolean inWarningWindow(Instant notBefore, Instant notAfter, Instant now, RenewalPolicy policy) {
        return !now.isBefore(warningFrom(notBefore, notAfter, policy));
    }

    /** Where the expiry-warning window begins: {@code expiryWarning} before expiry, but at most the last quarter of the lifetime. */
    static Instant warningFrom(Instant notBefore, Instant notAfter, RenewalPolicy policy) {
        Duration quarter = Duration.between(notBefore, notAfter).dividedBy(4);
        Duration window = policy.expiryWarning().compareTo(quarter) < 0 ? policy.expiryWarning() : quarter;
        return notAfter.minus(window);
    }

    static Duration jitter(Duration base, double fraction, RandomGenerator random) {
        double factor = 1 + fraction * (2 * random.nextDouble() - 1);
        return Duration.ofMillis(Math.max(1, (long) (base.toMillis() * factor)));
    }
}
