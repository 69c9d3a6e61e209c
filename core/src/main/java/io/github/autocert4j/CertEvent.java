package io.github.autocert4j;

import java.math.BigInteger;
import java.time.Duration;
import java.time.Instant;

/**
 * Something that happened to a managed certificate. Delivered to the {@link CertEventListener}
 * one at a time, in the order it happened; every event is also logged.
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

    /**
     * A valid stored certificate went live without contacting the CA: at start-up, when a
     * certificate was added, or because another server sharing the store renewed it.
     */
    record Loaded(String certificate, Instant at, BigInteger serial, Instant notAfter) implements CertEvent {
    }

    /**
     * A newly issued certificate passed verification, was stored and now serves new connections.
     *
     * @param renewal whether it replaced a live certificate
     * @param profile the profile the CA reported, or null
     * @param issuerId {@link Issuer#id()} of the issuer that issued it
     * @param took how long the attempt took, from taking the certificate's lock to going live
     */
    record Issued(String certificate, Instant at, BigInteger serial, Instant notAfter, boolean renewal, String profile,
                  String issuerId, Duration took) implements CertEvent {
    }

    /**
     * An attempt to obtain the certificate failed; the previous certificate (if any) stays live.
     *
     * @param failure what went wrong, classified, with the CA's problem type and detail when there were some
     * @param consecutiveFailures failures in a row, this one included
     * @param nextAttempt when the next attempt is scheduled, or null if it will not be retried
     *        automatically (a permanent error such as a name the CA refuses)
     * @param took how long the failed attempt took
     */
    record Failed(String certificate, Instant at, IssuanceException failure, int consecutiveFailures, Instant nextAttempt,
                  Duration took) implements CertEvent {
        /** What went wrong: the failure's message. */
        public String error() {
            return failure.getMessage();
        }

        /** Whether autocert4j gave up retrying on its own. */
        public boolean permanent() {
            return nextAttempt == null;
        }
    }

    /** The live certificate is inside the expiry-warning window and renewal has not succeeded yet. */
    record ExpiryWarning(String certificate, Instant at, Instant notAfter, Duration remaining) implements CertEvent {
    }
    /**
     * The CA revoked a certificate at this manager's request ({@code AutoCert.revoke}, {@code removeCertificate} with
     * {@code revokeOnRemove}).
     *
     * @param reason the RFC 5280 reason, as named in {@code AcmeAccounts.revocationReasons()}
     * @param withCertificateKey whether the request was signed with the certificate's key rather than the account's
     * @param issuerId {@link Issuer#id()} of the CA that revoked it
     */
    record Revoked(String certificate, Instant at, BigInteger serial, String reason, boolean withCertificateKey,
                   String issuerId) implements CertEvent {
    }

    /**
     * An ACME account changed at this manager's request ({@code AutoCert.accounts()}); {@link #certificate()} is
     * empty: it concerns every certificate from that CA.
     *
     * @param issuerId {@link Issuer#id()} of the CA
     * @param change what changed
     * @param account the account's location (for {@link AccountChange#REGISTERED}, the new account's)
     */
    record AccountChanged(String certificate, Instant at, String issuerId, AccountChange change, java.net.URI account)
            implements CertEvent {
    }

    /** What happened to an ACME account. */
    enum AccountChange {
        /** The account key was replaced by a new one (RFC 8555 §7.3.5); the old key no longer works at the CA. */
        KEY_ROLLED_OVER,
        /** The account was deactivated (RFC 8555 §7.3.6): no more orders with it. */
        DEACTIVATED,
        /** A new account with a new key was registered after a deactivation. */
        REGISTERED
    }

    /**
     * A certificate found in the store failed verification and was not served: its chain does not
     * link to an issuer recorded at issuance, its key is not the stored key, or its chain's signatures
     * do not hold (a forged or damaged store entry). The certificate live before stays live (or the
     * self-signed fallback, if none was), and a new one is ordered (along the backoff schedule if
     * orders are failing).
     *
     * @param serial the rejected certificate's serial
     * @param reason what failed, e.g. "chain not signed by a recorded issuer: CN=..."
     */
    record Rejected(String certificate, Instant at, BigInteger serial, String reason) implements CertEvent {
    }
}
