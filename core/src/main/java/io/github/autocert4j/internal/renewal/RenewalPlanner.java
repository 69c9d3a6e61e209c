package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.RenewalPolicy;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.random.RandomGenerator;

/**
 * Pure renewal arithmetic: given the live certificate, the CA's ARI window and the time, decide
 * whether to renew now and when to look again. No I/O, so every rule is unit-tested with a fixed clock.
 */
public final class RenewalPlanner {
    public static final Duration SHORT_LIVED = Duration.ofDays(10);
    public static final Duration MIN_ARI_POLL = Duration.ofMinutes(1);
    public static final Duration MAX_ARI_POLL = Duration.ofDays(1);

    private RenewalPlanner() {
    }

    /**
     * What to do now.
     *
     * @param byAri whether the CA's ARI window (not the lifetime rule or the emergency rule) made it due
     * @param renewAt the moment the renewal is due: the one a log may call "planned" (the ARI pick
     *        after the emergency rule, or the lifetime rule's moment)
     */
    public record Plan(boolean renewNow, Instant nextCheck, String reason, boolean byAri, Instant renewAt) {
        public Plan(boolean renewNow, Instant nextCheck, String reason) {
            this(renewNow, nextCheck, reason, false, renewNow ? nextCheck : null);
        }
    }

    /**
     * @param notBefore start of the live certificate's validity, null if there is none
     * @param notAfter end of the live certificate's validity, null if there is none
     * @param ariChosen the moment picked inside the CA's ARI window, null without ARI
     */
    public static Plan plan(Instant notBefore, Instant notAfter, Instant ariChosen, Instant now, RenewalPolicy policy, RandomGenerator random) {
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
            why = byAri ? "inside the CA's ARI window" : "the moment picked in the CA's ARI window lies in the last 1/20 of the lifetime";
        } else {
            renewAt = notAfter.minus(renewBefore(lifetime, policy));
            why = "less than " + (lifetime.compareTo(SHORT_LIVED) <= 0 ? "1/2" : String.format(Locale.ROOT, "%.2f", policy.renewalRatio())) + " of the lifetime remains";
        }
        if (!now.isBefore(renewAt)) {
            return new Plan(true, now, why, byAri, renewAt);
        }
        Instant periodic = now.plus(jitter(policy.checkInterval(), 0.1, random));
        return new Plan(false, periodic.isBefore(renewAt) ? periodic : renewAt, "not due until " + renewAt, byAri, renewAt);
    }

    /** How long before expiry to renew without ARI. */
    public static Duration renewBefore(Duration lifetime, RenewalPolicy policy) {
        if (lifetime.compareTo(SHORT_LIVED) <= 0) {
            return lifetime.dividedBy(2);
        }
        return Duration.ofMillis((long) (lifetime.toMillis() * policy.renewalRatio()));
    }

    /** A random moment in the ARI window that is not in the past (RFC 9773 §4.2). */
    public static Instant chooseInWindow(Instant start, Instant end, Instant now, RandomGenerator random) {
        Instant from = start.isBefore(now) ? now : start;
        if (!end.isAfter(from)) {
            return from;
        }
        return from.plusMillis(random.nextLong(Duration.between(from, end).toMillis() + 1));
    }

    /** When to ask the CA for ARI again: its Retry-After clamped to [1 min, 1 day], else the check interval. */
    public static Instant nextAriFetch(Instant retryAfter, Instant now, RenewalPolicy policy) {
        Duration wait = retryAfter == null ? policy.checkInterval() : Duration.between(now, retryAfter);
        if (wait.compareTo(MIN_ARI_POLL) < 0) {
            wait = MIN_ARI_POLL;
        } else if (wait.compareTo(MAX_ARI_POLL) > 0) {
            wait = MAX_ARI_POLL;
        }
        return now.plus(wait);
    }

    /** Delay before retry number {@code failures} without a live certificate: the CA's Retry-After exactly, else the backoff schedule ±20%. */
    public static Instant retryAt(int failures, Instant retryAfter, Instant now, RenewalPolicy policy, RandomGenerator random) {
        return retryAt(failures, retryAfter, null, null, now, policy, random);
    }

    /**
     * When to try again after failure number {@code failures} while the certificate valid from
     * {@code notBefore} to {@code notAfter} is live (both null: none is live, the plain schedule applies).
     *
     * <ol>
     *   <li>The CA's Retry-After (a rate limit, an overload) is honoured exactly, even past the
     *       deadline below: asking earlier would only be refused again. Nothing is scheduled later
     *       than it; the caller reports that it lies past the deadline.</li>
     *   <li>Otherwise the backoff step (±20%) is shortened to at most a quarter of the time left
     *       until the deadline {@code notAfter - }{@link #safetyMargin}, but not below
     *       {@link #minRetryGap}, so the cadence tightens as expiry nears; and no retry is scheduled
     *       after the deadline (one attempt lands exactly on it).</li>
     *   <li>At or past the deadline (and after expiry) retries come every {@link #minRetryGap} (±20%):
     *       renewal resumes within that gap of the CA answering again, and attempts stay bounded
     *       (at most about one per gap).</li>
     * </ol>
     */
    public static Instant retryAt(int failures, Instant retryAfter, Instant notBefore, Instant notAfter, Instant now,
                           RenewalPolicy policy, RandomGenerator random) {
        if (retryAfter != null && retryAfter.isAfter(now)) {
            return retryAfter;
        }
        List<Duration> steps = policy.backoff();
        Duration base = steps.get(Math.min(Math.max(failures, 1), steps.size()) - 1);
        Duration step = jitter(base, 0.2, random);
        if (notBefore == null || notAfter == null) {
            return now.plus(step);
        }
        Duration lifetime = Duration.between(notBefore, notAfter);
        Duration minGap = minRetryGap(lifetime, policy);
        Instant deadline = retryDeadline(notBefore, notAfter);
        if (!now.isBefore(deadline)) {
            return now.plus(min(step, jitter(minGap, 0.2, random)));
        }
        Duration quarterLeft = Duration.ofMillis(Duration.between(now, deadline).toMillis() / 4); // whole ms: scheduled as reported
        Duration cap = quarterLeft.compareTo(minGap) > 0 ? quarterLeft : minGap;
        Instant at = now.plus(min(step, cap));
        return at.isAfter(deadline) ? deadline : at;
    }

    /**
     * How long before expiry the last retry is scheduled: 1/50 of the lifetime, at least a minute
     * (but at most 1/10 of the lifetime, for demo-length certificates), at most a day. 6-day
     * certificates: 2.88 h; 45-day: 21.6 h; 90-day: 1 day; 240 s: 24 s.
     */
    public static Duration safetyMargin(Duration lifetime) {
        Duration floor = min(Duration.ofMinutes(1), lifetime.dividedBy(10));
        Duration margin = lifetime.dividedBy(50);
        margin = margin.compareTo(floor) < 0 ? floor : margin;
        return min(margin, Duration.ofDays(1)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    }

    /** No retry (without a Retry-After) is scheduled after this: {@code notAfter - safetyMargin}. */
    public static Instant retryDeadline(Instant notBefore, Instant notAfter) {
        return notAfter.minus(safetyMargin(Duration.between(notBefore, notAfter)));
    }

    /**
     * The tightest retry cadence: 1/200 of the lifetime, at least the first backoff step (but at most
     * 1/20 of the lifetime, for demo-length certificates) and at most 10 minutes: 10 min for 6-, 45-
     * and 90-day certificates, 12 s for 240 s.
     */
    public static Duration minRetryGap(Duration lifetime, RenewalPolicy policy) {
        Duration first = min(policy.backoff().get(0), lifetime.dividedBy(20));
        Duration gap = lifetime.dividedBy(200);
        gap = gap.compareTo(first) < 0 ? first : gap;
        Duration cap = first.compareTo(MAX_MIN_RETRY_GAP) > 0 ? first : MAX_MIN_RETRY_GAP;
        return min(gap, cap).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
    }

    public static final Duration MAX_MIN_RETRY_GAP = Duration.ofMinutes(10);

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** Whether a failing certificate should raise an expiry warning now. */
    public static boolean inWarningWindow(Instant notBefore, Instant notAfter, Instant now, RenewalPolicy policy) {
        return !now.isBefore(warningFrom(notBefore, notAfter, policy));
    }

    /** Where the expiry-warning window begins: {@code expiryWarning} before expiry, but at most the last quarter of the lifetime. */
    public static Instant warningFrom(Instant notBefore, Instant notAfter, RenewalPolicy policy) {
        Duration quarter = Duration.between(notBefore, notAfter).dividedBy(4);
        Duration window = policy.expiryWarning().compareTo(quarter) < 0 ? policy.expiryWarning() : quarter;
        return notAfter.minus(window);
    }

    public static Duration jitter(Duration base, double fraction, RandomGenerator random) {
        double factor = 1 + fraction * (2 * random.nextDouble() - 1);
        return Duration.ofMillis(Math.max(1, (long) (base.toMillis() * factor)));
    }
}
