package io.github.autocert4j;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * When to check, renew, retry and warn. The defaults follow Let's Encrypt's guidance and suit
 * every current profile (90-day {@code classic}, 45-day {@code tlsserver}, 6-day {@code shortlived}).
 *
 * <ul>
 *   <li>Checks run about every {@code checkInterval} (default 12 h, ±10% jitter), and always in
 *       time for the renewal moment of short-lived certificates.</li>
 *   <li>With ARI (RFC 9773) the CA's suggested window decides; a random moment inside it is chosen,
 *       once for all servers sharing the store (it is stored with the certificate).</li>
 *   <li>Without ARI: renew when less than {@code renewalRatio} (default 1/3) of the lifetime
 *       remains; 1/2 for certificates of 10 days or less.</li>
 *   <li>Whatever ARI says, renew at once when 1/20 of the lifetime or less remains.</li>
 *   <li>Failures back off along {@code backoff} (default 1 min, 10 min, 100 min, then daily),
 *       each with ±20% jitter, while the old certificate keeps being served; never past notAfter minus
 *       a safety margin (1/50 of the lifetime, at most a day), at most a quarter of the time left
 *       before it, then every few minutes (1/200 of the lifetime, at most 10 min); a CA's
 *       Retry-After is honoured exactly (docs/renewal-schedule.md).</li>
 *   <li>An {@link CertEvent.ExpiryWarning} and a WARN log fire once the remaining lifetime is
 *       under {@code expiryWarning} (default 14 days, but at most 1/4 of the lifetime) and the
 *       certificate has not been renewed.</li>
 * </ul>
 *
 * <pre>{@code
 * RenewalPolicy policy = RenewalPolicy.defaults().withCheckInterval(Duration.ofHours(6));
 * }</pre>
 */
public final class RenewalPolicy {
    private final Duration checkInterval;
    private final double renewalRatio;
    private final List<Duration> backoff;
    private final Duration expiryWarning;
    private final boolean useAri;
    private final Duration orderTimeout;
    private final Duration httpTimeout;

    private RenewalPolicy(Duration checkInterval, double renewalRatio, List<Duration> backoff, Duration expiryWarning,
                          boolean useAri, Duration orderTimeout, Duration httpTimeout) {
        this.checkInterval = checkInterval;
        this.renewalRatio = renewalRatio;
        // Copied only when it can be: a null entry is left for validate() to name, not an NPE here.
        this.backoff = backoff == null || backoff.stream().anyMatch(d -> d == null) ? backoff : List.copyOf(backoff);
        this.expiryWarning = expiryWarning;
        this.useAri = useAri;
        this.orderTimeout = orderTimeout;
        this.httpTimeout = httpTimeout;
    }

    /** The defaults described above. */
    public static RenewalPolicy defaults() {
        return new RenewalPolicy(Duration.ofHours(12), 1.0 / 3,
                List.of(Duration.ofMinutes(1), Duration.ofMinutes(10), Duration.ofMinutes(100), Duration.ofDays(1)),
                Duration.ofDays(14), true, Duration.ofMinutes(2), Duration.ofSeconds(15));
    }

    /** How often to check each certificate (and fetch ARI). */
    public Duration checkInterval() {
        return checkInterval;
    }

    /** Fraction of the lifetime left at which to renew without ARI, in (0, 1). */
    public double renewalRatio() {
        return renewalRatio;
    }

    /** Delays after the 1st, 2nd, ... failure; the last one repeats. */
    public List<Duration> backoff() {
        return backoff;
    }

    /** How long before expiry a failing renewal starts raising warnings. */
    public Duration expiryWarning() {
        return expiryWarning;
    }

    /** Whether to follow the CA's ARI renewal window when it offers one. */
    public boolean useAri() {
        return useAri;
    }

    /** Upper bound for one whole order (validation, finalization, download). */
    public Duration orderTimeout() {
        return orderTimeout;
    }

    /** Upper bound for each request to the CA. */
    public Duration httpTimeout() {
        return httpTimeout;
    }

    /** A copy with another check interval. */
    public RenewalPolicy withCheckInterval(Duration d) {
        return new RenewalPolicy(d, renewalRatio, backoff, expiryWarning, useAri, orderTimeout, httpTimeout);
    }

    /** A copy with another renewal ratio. */
    public RenewalPolicy withRenewalRatio(double r) {
        return new RenewalPolicy(checkInterval, r, backoff, expiryWarning, useAri, orderTimeout, httpTimeout);
    }

    /** A copy with another backoff schedule. */
    public RenewalPolicy withBackoff(List<Duration> b) {
        return new RenewalPolicy(checkInterval, renewalRatio, b, expiryWarning, useAri, orderTimeout, httpTimeout);
    }

    /** A copy with another expiry-warning window. */
    public RenewalPolicy withExpiryWarning(Duration d) {
        return new RenewalPolicy(checkInterval, renewalRatio, backoff, d, useAri, orderTimeout, httpTimeout);
    }

    /** A copy that does or does not follow ARI. */
    public RenewalPolicy withAri(boolean enabled) {
        return new RenewalPolicy(checkInterval, renewalRatio, backoff, expiryWarning, enabled, orderTimeout, httpTimeout);
    }

    /** A copy with another order timeout. */
    public RenewalPolicy withOrderTimeout(Duration d) {
        return new RenewalPolicy(checkInterval, renewalRatio, backoff, expiryWarning, useAri, d, httpTimeout);
    }

    /** A copy with another per-request timeout. */
    public RenewalPolicy withHttpTimeout(Duration d) {
        return new RenewalPolicy(checkInterval, renewalRatio, backoff, expiryWarning, useAri, orderTimeout, d);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof RenewalPolicy p && Objects.equals(checkInterval, p.checkInterval) && renewalRatio == p.renewalRatio
                && Objects.equals(backoff, p.backoff) && Objects.equals(expiryWarning, p.expiryWarning) && useAri == p.useAri
                && Objects.equals(orderTimeout, p.orderTimeout) && Objects.equals(httpTimeout, p.httpTimeout);
    }

    @Override
    public int hashCode() {
        return Objects.hash(checkInterval, renewalRatio, backoff, expiryWarning, useAri, orderTimeout, httpTimeout);
    }

    @Override
    public String toString() {
        return "RenewalPolicy[checkInterval=" + checkInterval + ", renewalRatio=" + renewalRatio + ", backoff=" + backoff
                + ", expiryWarning=" + expiryWarning + ", useAri=" + useAri + ", orderTimeout=" + orderTimeout
                + ", httpTimeout=" + httpTimeout + "]";
    }

    /** Throws IllegalArgumentException naming the first invalid field and its fix. */
    void validate() {
        requirePositive("checkInterval", checkInterval, "e.g. Duration.ofHours(12)");
        if (!(renewalRatio > 0 && renewalRatio < 1)) {
            throw new IllegalArgumentException("renewal.renewalRatio is " + renewalRatio + ": use a fraction between 0 and 1, e.g. 1.0/3");
        }
        if (backoff == null || backoff.isEmpty()) {
            throw new IllegalArgumentException("renewal.backoff is empty: give at least one delay, e.g. List.of(Duration.ofMinutes(1), Duration.ofDays(1))");
        }
        for (Duration d : backoff) {
            requirePositive("backoff", d, "every delay must be a positive duration");
        }
        requirePositive("expiryWarning", expiryWarning, "e.g. Duration.ofDays(14)");
        requirePositive("orderTimeout", orderTimeout, "e.g. Duration.ofMinutes(2)");
        requirePositive("httpTimeout", httpTimeout, "e.g. Duration.ofSeconds(15)");
    }

    private static void requirePositive(String field, Duration d, String fix) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException("renewal." + field + " is " + d + ": must be a positive duration, " + fix);
        }
    }
}
