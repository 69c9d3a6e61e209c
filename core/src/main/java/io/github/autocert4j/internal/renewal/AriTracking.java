package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.util.LogSafe;
import java.io.IOException;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * ARI tracking for one managed certificate (RFC 9773): the CA's suggested renewal window, the
 * moment picked in it (one pick per window for the fleet, shared through the store), when to
 * fetch again, and the log line when the planned renewal moment changes. Split out of
 * {@link ManagedCertificate} (issue 19); guarded by the certificate's lock like the rest of its state.
 */
final class AriTracking {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before

    /** What the tracking needs from its certificate while it fetches under the store lock. */
    interface Owner {
        /** Marks the thread that stop() interrupts (on) or clears it (off). */
        void setOrdering(boolean on);

        /** Whether the certificate was stopped. */
        boolean stopped();
    }

    private final String id;
    private final Services services;
    private final Owner owner;
    private Issuer.Window ari;
    private Instant ariChosen;
    private Instant ariNextFetch;
    private boolean ariCrashLogged;
    /** A new ARI window or pick that {@link #logPlanned} has not reported yet. */
    private boolean ariWindowChanged;
    /** The renewal moment last logged as planned. */
    private Instant loggedPlan;
    /** False once the CA answered without a window (no ARI): later checks ask it without the store lock. */
    private boolean ariOffered = true;

    AriTracking(String id, Services services, Owner owner) {
        this.id = id;
        this.services = services;
        this.owner = owner;
    }

    /** The moment picked in the CA's window, or null. */
    Instant chosen() {
        return ariChosen;
    }

    /** When the window is fetched again, or null. */
    Instant nextFetch() {
        return ariNextFetch;
    }

    /** A new certificate went live: its window is not known yet. */
    void reset() {
        ari = null;
        ariChosen = null;
        ariNextFetch = null;
        loggedPlan = null;
    }

    /**
     * Fetches the CA's ARI window when due, once for the fleet: a fresh window a peer stored with
     * the certificate (its pick and its next-fetch time) is used without fetching; otherwise, under
     * the certificate's store lock (so servers fetch one after the other and the later ones find
     * the first one's record), fetches, keeps the stored pick if the window is the same, and stores
     * window, pick and next fetch for the others. A store that is down only loses the sharing.
     */
    void refresh(Instant now, CertBundle live, String liveIssuer) throws InterruptedException {
        if (ariNextFetch != null && now.isBefore(ariNextFetch)) {
            return;
        }
        if (!ariOffered) {
            fetchAri(now, null, live, liveIssuer); // the CA had no window to share (no ARI): asked alone, no lock taken
            return;
        }
        if (adoptStoredAri(now, live)) {
            return;
        }
        CertStore.Lock storeLock = null;
        owner.setOrdering(true); // stop() interrupts the wait for the lock and the fetch
        try {
            try {
                storeLock = services.storage().lock(id);
            } catch (IOException e) {
                if (owner.stopped()) {
                    throw new InterruptedException("stopped while waiting for the store lock of " + id);
                }
                LOG.debug("autocert4j: cannot take the store lock of {} to share its ARI window ({}); fetching alone", id, e.toString());
            }
            if (storeLock != null && adoptStoredAri(services.now(), live)) {
                return; // a peer fetched it while this server waited for the lock
            }
            fetchAri(services.now(), storeLock, live, liveIssuer);
        } finally {
            owner.setOrdering(false);
            if (storeLock != null) {
                try {
                    storeLock.close();
                } catch (IOException | RuntimeException e) {
                    LOG.warn("autocert4j: releasing the store lock of {} failed ({}); it expires on its own", id, LogSafe.text(e.toString()));
                }
            }
        }
    }

    /** Uses the ARI record a peer stored for the live certificate if it is still fresh; true if it did. */
    private boolean adoptStoredAri(Instant now, CertBundle live) {
        CertificateStorage.Ari stored = storedAri(live);
        if (stored == null || !now.isBefore(stored.nextFetch())) {
            return false;
        }
        useStored(stored);
        return true;
    }

    private CertificateStorage.Ari storedAri(CertBundle live) {
        try {
            return services.storage().loadAri(id, live.serial()).orElse(null);
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot read the stored ARI window of {}: {}", id, e.toString());
            return null;
        }
    }

    /** Uses a window and pick a peer stored (with the certificate, or as its ARI record). */
    void useStored(CertificateStorage.Ari stored) {
        if (ari == null || !ari.start().equals(stored.start()) || !ari.end().equals(stored.end()) || !stored.chosen().equals(ariChosen)) {
            ariWindowChanged = true;
        }
        ari = new Issuer.Window(stored.start(), stored.end(), stored.explanationUrl(), null);
        ariChosen = stored.chosen();
        // a record is written with at most a day's wait; a damaged or foreign one cannot silence ARI for longer
        Instant latest = services.now().plus(RenewalPlanner.MAX_ARI_POLL);
        ariNextFetch = stored.nextFetch().isAfter(latest) ? latest : stored.nextFetch();
    }

    private void fetchAri(Instant now, CertStore.Lock storeLock, CertBundle live, String liveIssuer) throws InterruptedException {
        try {
            Optional<Issuer.Window> window = services.issuerOrFirst(liveIssuer).renewalWindow(live.leaf());
            ariOffered = window.isPresent();
            if (window.isEmpty()) {
                ari = null;
                ariChosen = null;
                ariNextFetch = now.plus(services.policy().checkInterval());
                return;
            }
            Issuer.Window w = window.get();
            if (w.end() != null && w.end().isBefore(live.notBefore())) {
                // A window that closed before this certificate existed cannot be about it.
                LOG.warn("autocert4j: ignoring the CA's ARI window for {} ({} .. {}): it ended before the certificate's notBefore {}",
                        id, w.start(), w.end(), live.notBefore());
                ari = null;
                ariChosen = null;
                ariNextFetch = RenewalPlanner.nextAriFetch(w.retryAfter(), now, services.policy());
                return;
            }
            if (ari == null || !ari.start().equals(w.start()) || !ari.end().equals(w.end())) {
                // One pick per window for the fleet: a peer's pick for this very window is kept.
                CertificateStorage.Ari stored = storeLock == null ? null : storedAri(live);
                ariChosen = stored != null && stored.start().equals(w.start()) && stored.end().equals(w.end()) ? stored.chosen()
                        : RenewalPlanner.chooseInWindow(w.start(), w.end(), now, services.random());
                ariWindowChanged = true;
            }
            ari = w;
            ariNextFetch = RenewalPlanner.nextAriFetch(w.retryAfter(), now, services.policy());
            if (storeLock != null) {
                try {
                    services.storage().saveAri(id, new CertificateStorage.Ari(live.serial().toString(16), w.start(), w.end(), ariChosen,
                            ariNextFetch, w.explanationUrl()), storeLock);
                } catch (IOException | RuntimeException e) {
                    LOG.debug("autocert4j: cannot store the ARI window of {} for the other servers: {}", id, e.toString());
                }
            }
        } catch (IssuanceException e) {
            // ARI is advisory: the lifetime rule decides meanwhile; ask again later.
            LOG.debug("autocert4j: ARI fetch for {} failed: {}", id, e.getMessage());
            ariNextFetch = now.plus(RenewalPlanner.MIN_ARI_POLL.multipliedBy(10));
        } catch (RuntimeException e) {
            // A broken answer (or a bug) in the advisory part must never stop renewal itself.
            if (!ariCrashLogged) {
                ariCrashLogged = true;
                LOG.warn("autocert4j: ARI fetch for {} failed unexpectedly; the lifetime rule decides meanwhile", id, e);
            } else {
                LOG.debug("autocert4j: ARI fetch for {} failed unexpectedly again: {}", id, e.toString());
            }
            ariNextFetch = now.plus(RenewalPlanner.MIN_ARI_POLL.multipliedBy(10));
        }
    }

    /**
     * Logs the renewal moment when it changed: exactly the instant the plan renews at (the ARI pick
     * after the emergency rule and the minimum age, or the lifetime rule's moment), which is also
     * an instant a check is scheduled for.
     */
    void logPlanned(RenewalPlanner.Plan plan) {
        Instant at = plan.renewAt();
        if (at == null || (at.equals(loggedPlan) && !ariWindowChanged)) {
            return;
        }
        loggedPlan = at;
        if (ari != null && ariWindowChanged) {
            LOG.info("autocert4j: {} ARI window {} .. {}; renewal planned at {}{}{}", id, ari.start(), ari.end(), at,
                    at.equals(ariChosen) ? "" : " (" + plan.reason() + ")",
                    ari.explanationUrl() == null ? "" : " (CA explanation: " + ari.explanationUrl() + ")");
        } else {
            LOG.debug("autocert4j: {} renewal planned at {} ({})", id, at, plan.reason());
        }
        ariWindowChanged = false;
    }
}
