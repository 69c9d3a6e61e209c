package io.github.autocert4j;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A snapshot of one managed certificate: the JVM equivalent of {@code certbot certificates}.
 * Fields about the live certificate are null while none has been obtained yet. A final class
 * rather than a record so that it can grow without breaking callers.
 *
 * <pre>{@code
 * for (CertificateStatus s : autoCert.status()) {
 *     System.out.println(s.certificate() + " " + s.names() + " serial " + s.serialHex()
 *             + " expires " + s.notAfter() + " next check " + s.nextCheck());
 * }
 * }</pre>
 */
public final class CertificateStatus {

    /** Where a managed certificate stands. */
    public enum State {
        /** No CA-issued certificate yet: the self-signed fallback is served. */
        PENDING,
        /** A valid CA-issued certificate is live. */
        VALID,
        /** The live certificate has expired (renewal kept failing). */
        EXPIRED,
        /** The CA refused permanently; no automatic retry until {@code renewNow} or a restart. */
        FAILED,
        /**
         * Stored, not read yet: more certificates are configured than {@code AutoCertBuilder.lazyLoadAbove}, so
         * it is loaded at its first handshake or by the background sweep (docs/operations.md, "Lazy loading").
         * Nothing is known about it yet: not missing, not due.
         */
        NOT_LOADED
    }

    private final String certificate;
    private final List<String> names;
    private final State state;
    private final BigInteger serial;
    private final String issuer;
    private final String issuerId;
    private final Instant notBefore;
    private final Instant notAfter;
    private final String profile;
    private final Instant lastAttempt;
    private final IssuanceException lastFailure;
    private final int consecutiveFailures;
    private final Instant nextCheck;
    private final Instant expiryWarningFrom;

    public CertificateStatus(String certificate, List<String> names, State state, BigInteger serial, String issuer, String issuerId,
                      Instant notBefore, Instant notAfter, String profile, Instant lastAttempt, IssuanceException lastFailure,
                      int consecutiveFailures, Instant nextCheck, Instant expiryWarningFrom) {
        this.certificate = certificate;
        this.names = List.copyOf(names);
        this.state = state;
        this.serial = serial;
        this.issuer = issuer;
        this.issuerId = issuerId;
        this.notBefore = notBefore;
        this.notAfter = notAfter;
        this.profile = profile;
        this.lastAttempt = lastAttempt;
        this.lastFailure = lastFailure;
        this.consecutiveFailures = consecutiveFailures;
        this.nextCheck = nextCheck;
        this.expiryWarningFrom = expiryWarningFrom;
    }

    /** The certificate's id: its first name. */
    public String certificate() {
        return certificate;
    }

    /** Every name the certificate must cover. */
    public List<String> names() {
        return names;
    }

    /** Where it stands. */
    public State state() {
        return state;
    }

    /** Serial number of the live certificate, or null. */
    public BigInteger serial() {
        return serial;
    }

    /** Serial number of the live certificate in lower-case hex (as logs and {@code openssl} print it), or null. */
    public String serialHex() {
        return serial == null ? null : serial.toString(16);
    }

    /** Issuer DN of the live certificate, or null. */
    public String issuer() {
        return issuer;
    }

    /** {@link Issuer#id()} of the issuer that issued the live certificate, or null if unknown. */
    public String issuerId() {
        return issuerId;
    }

    /** Start of validity of the live certificate, or null. */
    public Instant notBefore() {
        return notBefore;
    }

    /** End of validity of the live certificate, or null. */
    public Instant notAfter() {
        return notAfter;
    }

    /**
     * The ACME profile the live certificate was issued under, as the CA reported it; null when the
     * CA reported none (a CA without profiles, or its unnamed default).
     */
    public String profile() {
        return profile;
    }

    /** When the last order was started, or null. */
    public Instant lastAttempt() {
        return lastAttempt;
    }

    /** The last failure, cleared by a success. */
    public Optional<IssuanceException> lastFailure() {
        return Optional.ofNullable(lastFailure);
    }

    /** The last failure's message, or null; cleared by a success. */
    public String lastError() {
        return lastFailure == null ? null : lastFailure.getMessage();
    }

    /** Failures in a row. */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** When the next renewal check or retry runs, or null if none is scheduled. */
    public Instant nextCheck() {
        return nextCheck;
    }

    /**
     * When the live certificate enters its expiry-warning window ({@code RenewalPolicy.expiryWarning}
     * before expiry, at most its last quarter): from then on a failing renewal raises
     * {@link CertEvent.ExpiryWarning}s. Null without a live certificate. For health checks.
     */
    public Instant expiryWarningFrom() {
        return expiryWarningFrom;
    }

    /** Whether renewal is failing inside the expiry-warning window at {@code now}: time for a human. */
    public boolean renewalFailingNearExpiry(Instant now) {
        return consecutiveFailures > 0 && expiryWarningFrom != null && !now.isBefore(expiryWarningFrom);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CertificateStatus s && certificate.equals(s.certificate) && names.equals(s.names)
                && state == s.state && Objects.equals(serial, s.serial) && Objects.equals(issuer, s.issuer)
                && Objects.equals(issuerId, s.issuerId) && Objects.equals(notBefore, s.notBefore)
                && Objects.equals(notAfter, s.notAfter) && Objects.equals(profile, s.profile)
                && Objects.equals(lastAttempt, s.lastAttempt) && Objects.equals(lastError(), s.lastError())
                && consecutiveFailures == s.consecutiveFailures && Objects.equals(nextCheck, s.nextCheck);
    }

    @Override
    public int hashCode() {
        return Objects.hash(certificate, names, state, serial, notAfter, nextCheck);
    }

    @Override
    public String toString() {
        return "CertificateStatus[" + certificate + " " + names + " " + state
                + (serial == null ? "" : ", serial=" + serialHex() + ", issuer=" + issuer + ", notAfter=" + notAfter
                        + ", profile=" + (profile == null ? "(CA default)" : profile) + (issuerId == null ? "" : ", via " + issuerId))
                + (lastAttempt == null ? "" : ", lastAttempt=" + lastAttempt)
                + (lastFailure == null ? "" : ", lastError=" + lastFailure.getMessage() + ", failures=" + consecutiveFailures)
                + ", nextCheck=" + nextCheck + "]";
    }
}
