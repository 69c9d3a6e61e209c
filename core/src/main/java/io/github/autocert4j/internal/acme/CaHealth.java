package io.github.autocert4j.internal.acme;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether one CA answers: one state for every certificate of a manager (failover order, ARI).
 * A CA that timed out, or answered HTTP 5xx without Retry-After in consecutive attempts, rests:
 * it is asked only after the other CAs until the rest ends. Split out of {@link AcmeIssuer} (issue 19).
 */
final class CaHealth {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log, as before
    /** The first time a CA that did not answer is asked only after the other CAs; doubled each time after, up to {@link #MAX_REST}. */
    public static final Duration FIRST_REST = Duration.ofMinutes(1);
    public static final Duration MAX_REST = Duration.ofHours(1);
    /** Answers of HTTP 5xx without Retry-After, in consecutive attempts, that make a CA rest like one that timed out. */
    public static final int SERVER_ERRORS_TO_REST = 2;
    private final URI directory;
    private final Duration httpTimeout;
    private final Clock clock;
    private Instant restingUntil;       // guarded by this
    private int rests;                  // consecutive rests without an answer in between; guarded by this
    private int serverErrors;           // consecutive attempts answered 5xx without Retry-After; guarded by this

    CaHealth(URI directory, Duration httpTimeout, Clock clock) {
        this.directory = directory;
        this.httpTimeout = httpTimeout;
        this.clock = clock;
    }

    /**
     * When this CA, having not answered recently (a timeout, or HTTP 5xx without Retry-After in
     * consecutive attempts), is asked first again; null if it is not resting. Until then the
     * manager asks it only after the other CAs (failover costs one timeout, not one per attempt),
     * and ARI is not fetched from it.
     */
    public Instant restingUntil(Instant now) {
        synchronized (this) {
            return restingUntil != null && now.isBefore(restingUntil) ? restingUntil : null;
        }
    }

    /** The CA answered (an issued certificate, a refusal, a failed validation): it is asked first again. */
    void answered() {
        boolean wasResting;
        synchronized (this) {
            wasResting = rests > 0;
            rests = 0;
            serverErrors = 0;
            restingUntil = null;
        }
        if (wasResting) {
            LOG.info("autocert4j: the CA {} answers again; it is asked in its configured order", directory);
        }
    }

    /** Records a failure that was not a refusal: the CA's silence or repeated server errors make it rest. */
    void noteFailure(Exception e, Instant askedRetry) {
        String why = null;
        Instant now = clock.instant();
        Instant until = null;
        synchronized (this) {
            if (AcmeFailures.firstCause(e, AcmeHttpClient.Unanswered.class) != null) {
                why = "did not answer within httpTimeout (" + httpTimeout.toSeconds() + " s)";
            } else if (askedRetry == null && AcmeFailures.serverError(e)) {
                serverErrors++;
                if (serverErrors >= SERVER_ERRORS_TO_REST) {
                    why = "answered HTTP 5xx without Retry-After in " + serverErrors + " attempts in a row";
                }
            }
            if (why != null) {
                rests++;
                serverErrors = 0;
                Duration rest = FIRST_REST.multipliedBy(1L << Math.min(rests - 1, 12));
                restingUntil = now.plus(rest.compareTo(MAX_REST) > 0 ? MAX_REST : rest);
                until = restingUntil;
            }
        }
        if (why != null) {
            LOG.warn("autocert4j: the CA {} {}; until {} it is asked only after the other configured CAs, then first again. "
                    + "Fix: check that this host reaches the CA and the CA's status page; with a second CA (acmeCa(...)) "
                    + "certificates keep coming from it meanwhile", directory, why, until);
        }
    }
}
