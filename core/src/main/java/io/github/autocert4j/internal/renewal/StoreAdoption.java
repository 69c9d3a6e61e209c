package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.IssuersUnreadable;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.util.LogSafe;
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
     * A served certificate with less than this share of its lifetime left ({@code 1/10}), or less than {@link
     * #LAST_STRETCH_MIN} left, whichever is longer, is in its last stretch: then an order goes ahead although the
     * adoption read failed. A tenth leaves 9 days of a 90-day certificate: with the daily backoff, about 8 more attempts
     * after the renewal fell due (at a third of the lifetime left) were blocked first, and 9 days to react to the WARN.
     */
    static final int LAST_STRETCH_SHARE = 10;
    /** 2 days: for short-lived certificates (6 days) at least a daily retry plus a day's margin before expiry. */
    static final java.time.Duration LAST_STRETCH_MIN = java.time.Duration.ofDays(2);
    /**
     * A first issuance (nothing served) orders despite a failed adoption read after this many consecutive blocked adoption
     * reads (counted apart from other failures: a failed store lock or CA error does not count) and {@link
     * #FIRST_ISSUANCE_WAIT} since the first of them: the self-signed fallback is an outage already.
     */
    static final int FIRST_ISSUANCE_ATTEMPTS = 3;
    /** 2 hours: a store unavailable for a few minutes (retried every minute) never leads to an order despite it. */
    static final java.time.Duration FIRST_ISSUANCE_WAIT = java.time.Duration.ofHours(2);

    /**
     * One certificate's record of failed adoption reads (held by its {@link OrderStep}, guarded by the certificate's lock):
     * how many blocked attempts in a row and since when, and whether an order despite an unreadable store was placed.
     */
    static final class Blocked {
        int reads;
        Instant since;
        boolean orderedDespite;

        /** A store read or save succeeded: the store answers again. */
        void storeAnswered() {
            reads = 0;
            since = null;
            orderedDespite = false;
        }
    }

    /**
     * Whether {@code m}'s order goes ahead although its adoption read failed ({@code e}): cluster safety (no duplicate of
     * a peer's renewal) is never traded for an outage. False (blocked, retried along the backoff) while the served
     * certificate stays valid for longer than its last stretch (a forced renewal replacing a named serial, {@code
     * replacingRevoked}: a revocation's or a store renewal request's, is in its last stretch at once), or, with none served, until {@link #FIRST_ISSUANCE_ATTEMPTS}
     * blocked adoption reads in a row spanning at least {@link #FIRST_ISSUANCE_WAIT}; false too once an order despite the
     * store was placed and no store read or save succeeded since (a store that cannot be read often cannot be written
     * either: each retry would order a certificate and discard it, burning Let's Encrypt's 5 duplicates a week). Else
     * true, with a WARN naming the risk of a duplicate and the store's reason. Either way a RuntimeException from the
     * store is logged as the store's bug.
     */
    static boolean orderDespite(ManagedCertificate m, Unreadable e, Blocked blocked, boolean replacingRevoked) {
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException) {
            LOG.error("autocert4j: the store {} threw {} reading certificate {}: a bug of the store, treated as a failed read. Fix: "
                    + "make the CertStore report failures as IOException (a RuntimeException is a bug), and fix the failure itself",
                    m.services.storage().store(), LogSafe.text(cause.toString()), m.id);
        }
        Instant now = m.services.now();
        blocked.reads++;
        if (blocked.since == null) {
            blocked.since = now;
        }
        if (blocked.orderedDespite) {
            return false; // ordered once despite the store already: no second certificate until the store answers
        }
        CertBundle live = m.live;
        String why;
        if (live != null && replacingRevoked) {
            why = "it replaces the revoked certificate " + live.serial().toString(16) + " (its last stretch)";
        } else if (live != null) {
            java.time.Duration lifetime = java.time.Duration.between(live.notBefore(), live.notAfter());
            java.time.Duration stretch = lifetime.dividedBy(LAST_STRETCH_SHARE);
            stretch = stretch.compareTo(LAST_STRETCH_MIN) < 0 ? LAST_STRETCH_MIN : stretch;
            java.time.Duration left = java.time.Duration.between(now, live.notAfter());
            if (left.compareTo(stretch) >= 0) {
                return false;
            }
            why = "the served certificate expires in " + left.toHours() + " h (" + live.notAfter() + "), less than " + stretch.toDays()
                    + " days (its last stretch)";
        } else {
            if (blocked.reads <= FIRST_ISSUANCE_ATTEMPTS || java.time.Duration.between(blocked.since, now).compareTo(FIRST_ISSUANCE_WAIT) < 0) {
                return false;
            }
            why = "no certificate is served yet (the self-signed fallback) and " + (blocked.reads - 1) + " attempts in a row since "
                    + blocked.since + " were blocked this way";
        }
        blocked.orderedDespite = true;
        LOG.warn("autocert4j: ordering certificate {} although the store {} could not be read ({}): {}. Another server sharing the "
                + "store may have stored its renewal already, so this order may be a duplicate certificate (Let's Encrypt allows 5 "
                + "duplicate certificates a week). Fix: make the store answer again (see its message)", m.id, m.services.storage().store(),
                LogSafe.text(String.valueOf(e.getMessage())), why);
        return true;
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
