package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.IssuersUnreadable;
import io.github.autocert4j.internal.tls.ChainVerifier;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether a certificate another server sharing the store put there replaces the live one: newer
 * (issued later, or the renewal a store request asked for), valid for the configured names, from a
 * configured issuer, and not due itself. Split out of {@link ManagedCertificate} (issue 19), which
 * then swaps it in.
 */
final class StoreAdoption {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before

    private StoreAdoption() {
    }

    /**
     * The stored certificate to adopt, or empty.
     *
     * @param storedSince if not null: only one stored at or after that moment
     * @param replacing the serial a store renewal request replaces: any other valid stored
     *     certificate is that renewal, even one that expires sooner than the live one; else null
     * @throws Unreadable the store could not be read (not "nothing stored")
     */
    static Optional<CertificateStorage.Stored> adoptable(Services services, String id, List<String> names, CertBundle live,
            Instant storedSince, java.math.BigInteger replacing, BiConsumer<CertBundle, String> rejected) throws Unreadable {
        CertificateStorage.Read read = services.storage().read(id);
        if (read.storeFailure() != null) {
            throw new Unreadable(read.storeFailure()); // "cannot tell", not "none stored": a peer's renewal may be there
        }
        Optional<CertificateStorage.Stored> found;
        try {
            found = read.decode();
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot decode stored {} for adoption: {}", id, e.toString());
            return Optional.empty(); // the store answered with bytes that are no certificate: nothing to adopt
        }
        if (found.isEmpty()) {
            return Optional.empty();
        }
        CertBundle stored = found.get().bundle();
        // Newer means issued later (notBefore), not expiring later: a peer's renewal may come with a
        // shorter profile (a CA choosing 6-day certificates after 90-day ones). Same notBefore and
        // expiry, other serial: a peer's renewal issued within the same second (CAs truncate to
        // seconds); the store holds what the fleet serves, so it is adopted. Never an older one.
        Instant now = services.now();
        if (live != null && stored.serial().equals(live.serial())) {
            return Optional.empty();
        }
        // Integrity first, newer or not: a forged entry is reported and replaced, never left for a restart to find.
        String problem;
        try {
            problem = integrityProblem(services, stored, now, true);
        } catch (IssuersUnreadable e) {
            throw new Unreadable(e); // nothing known: neither adopted nor rejected, and not "nothing to adopt"
        }
        if (problem != null) {
            rejected.accept(stored, problem);
            return Optional.empty();
        }
        boolean newer = replacing != null ? !stored.serial().equals(replacing) : live == null || issuedLater(stored, live);
        if (live != null && (stored.serial().equals(live.serial()) || !newer)) {
            return Optional.empty();
        }
        if (storedSince != null && (found.get().issuedAt() == null || found.get().issuedAt().isBefore(storedSince))) {
            return Optional.empty();
        }
        try {
            ChainVerifier.verifyUsable(stored, names, now);
        } catch (ChainVerifier.VerificationException e) {
            return Optional.empty();
        }
        if (!services.isConfigured(found.get().issuerId())
                || RenewalPlanner.plan(stored.notBefore(), stored.notAfter(), null, now, services.policy(), services.random()).renewNow()) {
            return Optional.empty();
        }
        return found;
    }

    /**
     * The store could not be read for an adoption check (unavailable, a read that failed or timed out, an unreadable
     * record of issuers): whether a peer stored a renewal is not known, so nothing may be ordered on it (a duplicate).
     */
    static final class Unreadable extends Exception {
        private static final long serialVersionUID = 1L;

        Unreadable(Exception cause) {
            super(cause.getMessage(), cause);
        }
    }

    /**
     * Why {@code bundle}, read from the store, must not be served, or null: its key must be the
     * stored key and its chain must link to an issuer recorded at issuance ({@link
     * io.github.autocert4j.internal.store.IssuerRecord}). {@code signatures}: also check each link of
     * the chain (a peer's renewal); without, the leaf's signature by a recorded issuer and the other
     * certificates being recorded ones suffice (start-up: one signature check per certificate).
     * A record the store could not read is {@link IssuersUnreadable}: then nothing is known.
     */
    static String integrityProblem(Services services, CertBundle bundle, Instant now, boolean signatures) throws IssuersUnreadable {
        try {
            if (signatures) {
                ChainVerifier.verifyIntegrity(bundle);
            } else {
                ChainVerifier.verifyKey(bundle);
            }
        } catch (ChainVerifier.VerificationException e) {
            return e.getMessage();
        }
        return services.storage().issuers().verdict(bundle.chain(), now);
    }

    /** Whether {@code stored} was issued after {@code current}, or in the same second and expires no sooner. */
    public static boolean issuedLater(CertBundle stored, CertBundle current) {
        int issued = stored.notBefore().compareTo(current.notBefore());
        return issued > 0 || issued == 0 && !stored.notAfter().isBefore(current.notAfter());
    }
}
