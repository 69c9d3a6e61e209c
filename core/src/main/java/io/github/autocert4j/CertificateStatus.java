package io.github.autocert4j;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;

/**
 * A snapshot of one managed certificate: the JVM equivalent of {@code certbot certificates}.
 * Fields about the live certificate are null while none has been obtained yet.
 *
 * <pre>{@code
 * for (CertificateStatus s : autoCert.status()) {
 *     System.out.println(s.certificate() + " " + s.names() + " expires " + s.notAfter() + " next check " + s.nextCheck());
 * }
 * }</pre>
 *
 * @param certificate the id (first name)
 * @param names every name the certificate must cover
 * @param state where it stands
 * @param serial serial number of the live certificate
 * @param issuer issuer DN of the live certificate
 * @param notBefore start of validity of the live certificate
 * @param notAfter end of validity of the live certificate
 * @param profile ACME profile the live certificate was issued under, if any
 * @param lastAttempt when the last order was started
 * @param lastError the last failure's description, cleared by a success
 * @param consecutiveFailures failures in a row
 * @param nextCheck when the next renewal check or retry runs
 */
public record CertificateStatus(
        String certificate,
        List<String> names,
        State state,
        BigInteger serial,
        String issuer,
        Instant notBefore,
        Instant notAfter,
        String profile,
        Instant lastAttempt,
        String lastError,
        int consecutiveFailures,
        Instant nextCheck) {

    /** Where a managed certificate stands. */
    public enum State {
        /** No CA-issued certificate yet: the self-signed fallback is served. */
        PENDING,
        /** A valid CA-issued certificate is live. */
        VALID,
        /** The live certificate has expired (renewal kept failing). */
        EXPIRED,
        /** The CA refused permanently; no automatic retry until {@code renewNow} or a restart. */
        FAILED
    }
}
