package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.IssuanceException;

import java.time.Instant;

/**
 * What one step of a {@link ManagedCertificate}'s unit of work decided: the next check, and the
 * failure (if any) that a {@code renewNow()} future completes with. The unit, not the step,
 * schedules the next check, so there is one place that does.
 */
record Outcome(Next next, IssuanceException failure) {

    /** What a unit of work decided about the next check. */
    record Next(Instant at, boolean unchanged) {
        static final Next NEVER = new Next(null, false);
        static final Next UNCHANGED = new Next(null, true);

        static Next at(Instant at) {
            return at == null ? NEVER : new Next(at, false);
        }
    }
}
