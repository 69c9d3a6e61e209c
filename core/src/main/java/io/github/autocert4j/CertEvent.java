package io.github.autocert4j;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;

/**
 * Something that happened to a managed certificate. Delivered to the {@link CertEventListener}
 * on the renewal thread; every event is also logged.
 *
 * <pre>{@code
 * AutoCert.builder().listener(event -> {
 *     switch (event) {
 *         case CertEvent.Issued i -> metrics.certIssued(i.certificate(), i.notAfter());
 *         case CertEvent.Failed f -> alerts.warn(f.certificate() + ": " + f.error());
 *         default -> { }
 *     }
 * })
 * }</pre>
 */
public sealed interface CertEvent {

    /** The managed certificate's id: its first name. */
    String certificate();

    /** When it happened. */
    Instant at();

    /** A valid stored certificate went live at start-up, without contacting the CA. */
    record Loaded(String certificate, Instant at, BigInteger serial, Instant notAfter) implements CertEvent {
    }

    /** A newly issued certificate passed verification, was stored and now serves new connections. */
    record Issued(String certificate, Instant at, BigInteger serial, Instant notAfter, boolean renewal, String profile)
            implements CertEvent {
    }

    /**
     * An attempt to obtain the certificate failed; the previous certificate (if any) stays live.
     *
     * @param error what went wrong, with the CA's problem detail when there was one
     * @param consecutiveFailures failures in a row, this one included
     * @param nextAttempt when the next attempt is scheduled, or null if it will not be retried
     *        automatically (a permanent error such as a name the CA refuses)
     */
    record Failed(String certificate, Instant at, String error, int consecutiveFailures, Instant nextAttempt)
            implements CertEvent {
        /** Whether autocert4j gave up retrying on its own. */
        public boolean permanent() {
            return nextAttempt == null;
        }
    }

    /** The live certificate is inside the expiry-warning window and renewal has not succeeded yet. */
    record ExpiryWarning(String certificate, Instant at, Instant notAfter, Duration remaining) implements CertEvent {
    }
}
