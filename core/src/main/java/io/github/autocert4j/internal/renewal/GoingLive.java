package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.IssuersUnreadable;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How a certificate of one {@link ManagedCertificate} becomes live without an order: loaded from
 * the store at start, or adopted from a peer that renewed it; and the swap itself (installed in
 * the key manager, waiters released after the lock), shared with the {@link OrderStep}.
 *
 * <p>Runs inside {@link ManagedCertificate}'s unit of work, under its one lock, on that
 * certificate's state.
 */
final class GoingLive {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before

    private final ManagedCertificate m;
    /** Status and event while a start-up read could not ask the store. */
    final NotLoadedYet notLoadedYet;
    /** The last stored leaf rejected (its event and log line are said once), and whether a rejection is new since {@link #peer}. */
    private java.security.cert.X509Certificate rejectedLeaf;
    private boolean rejectedNow;
    /** Lazy loading: the {@link LazyStart} this certificate was started by (it may not be loaded yet), else null. */
    volatile LazyStart lazy;

    GoingLive(ManagedCertificate m) {
        this.m = m;
        this.notLoadedYet = new NotLoadedYet(m);
    }

    /**
     * A peer (or anyone) changed the stored certificate: adopt it if it is a valid renewal; if it
     * failed verification, order a replacement now (or at the backoff's next attempt, if orders are
     * failing: the renewal reason makes that attempt order).
     */
    Outcome peer() {
        rejectedNow = false;
        try {
            if (adoptFromStore(null)) {
                return new Outcome(Outcome.Next.at(m.services.now()), null);
            }
        } catch (StoreAdoption.Unreadable e) {
            LOG.debug("autocert4j: cannot read stored {} after a change in the store: {}", m.id, LogSafe.text(e.getMessage()));
            return new Outcome(Outcome.Next.UNCHANGED, null); // a notice only: the next check reads it again
        }
        if (!rejectedNow) {
            return new Outcome(Outcome.Next.UNCHANGED, null);
        }
        Instant now = m.services.now();
        boolean backingOff = m.failures > 0 && m.nextCheck != null && m.nextCheck.isAfter(now);
        return new Outcome(backingOff ? Outcome.Next.UNCHANGED : Outcome.Next.at(now), null);
    }

    /**
     * A stored certificate failed verification ({@link StoreAdoption#integrityProblem}): it is not
     * served, status and an event say why (once per certificate), and the next check orders a new one.
     */
    void rejected(CertBundle bundle, String problem) {
        m.renewReason = "the stored certificate was rejected: " + problem;
        if (bundle.leaf().equals(rejectedLeaf)) {
            return;
        }
        rejectedLeaf = bundle.leaf();
        rejectedNow = true;
        String serving = m.live != null ? "the certificate live before stays live" : "the self-signed fallback is served";
        m.lastFailure = io.github.autocert4j.IssuanceException.transientFailure("the stored certificate " + m.id + " (serial "
                + bundle.serial().toString(16) + ") was not served: " + problem + "; " + serving + " and a new one is ordered", null);
        LOG.warn("autocert4j: {}", m.lastFailure.getMessage());
        m.emit(new CertEvent.Rejected(m.id, m.services.now(), bundle.serial(), problem));
    }

    /**
     * Adopts a newer, valid, not yet due certificate that a server sharing the store put there
     * (if {@code storedSince} is not null: only one stored at or after that moment). Returns
     * whether it did.
     */
    boolean adoptFromStore(Instant storedSince) throws StoreAdoption.Unreadable {
        return adoptFromStore(storedSince, null);
    }

    /**
     * Like {@link #adoptFromStore(Instant)}; with {@code replacing} (the serial a store renewal request
     * replaces) any other valid stored certificate is that renewal, even one that expires sooner than
     * the live one (a peer's renewal may have come with a shorter profile).
     */
    boolean adoptFromStore(Instant storedSince, java.math.BigInteger replacing) throws StoreAdoption.Unreadable {
        Optional<CertificateStorage.Stored> found = StoreAdoption.adoptable(m.services, m.id, m.names, m.live, storedSince, replacing,
                this::rejected);
        if (found.isEmpty()) {
            return false;
        }
        CertBundle stored = found.get().bundle();
        Instant now = m.services.now();
        goLive(stored, found.get().profile(), found.get().issuerId(), true);
        if (found.get().ari() != null && m.live == stored) {
            m.ariTracking.useStored(found.get().ari());
        }
        m.failures = 0;
        m.lastFailure = null;
        m.renewReason = null;
        m.permanent = false;
        LOG.info("autocert4j: adopted certificate {} that another server sharing the store renewed (serial {}, expires {})",
                m.id, stored.serial().toString(16), stored.notAfter());
        m.emit(new CertEvent.Loaded(m.id, now, stored.serial(), stored.notAfter()));
        m.hooks.renewed(m, stored);
        return true;
    }

    /**
     * Serves the stored certificate if usable. {@code read}: a start-up read (null: read now, for a
     * certificate added at run time); if the store did not answer it, {@link #notLoadedYet} says so
     * and nothing else happens (no rejection, no order: the start-up load reads it again).
     */
    CertEvent.Loaded load(CertificateStorage.Read read) {
        if (read != null && read.storeFailure() != null) {
            notLoadedYet.failed(read.storeFailure());
            return null;
        }
        if (read != null) {
            notLoadedYet.answered();
        }
        try {
            Optional<CertificateStorage.Stored> found = (read != null ? read : m.services.storage().read(m.id)).decode();
            if (found.isEmpty()) {
                return null;
            }
            CertBundle bundle = found.get().bundle();
            if (m.live != null && !bundle.notAfter().isAfter(m.live.notAfter())) {
                return null; // never replace a newer live certificate with an older stored one
            }
            Instant now = m.services.now();
            String problem;
            try {
                problem = StoreAdoption.integrityProblem(m.services, bundle, now, false);
            } catch (IssuersUnreadable unreadable) {
                if (read == null) {
                    throw unreadable;
                }
                notLoadedYet.failed(unreadable); // the record of issuers is part of the read: cannot tell yet
                return null;
            }
            if (problem != null) {
                rejected(bundle, problem);
                return null;
            }
            try {
                ChainVerifier.verifyUsable(bundle, m.names, now);
            } catch (ChainVerifier.VerificationException namesChanged) {
                // Names were added to the configuration: keep serving the stored certificate for
                // the names it does cover while a new one is ordered at the first check.
                ChainVerifier.verifyUsable(bundle, bundle.names(), now);
                m.renewReason = "the configured names changed";
                LOG.info("autocert4j: stored certificate {} does not cover every configured name ({}); serving it until a new one is issued",
                        m.id, namesChanged.getMessage());
            }
            if (!m.services.isConfigured(found.get().issuerId())) {
                m.renewReason = "it was issued by " + found.get().issuerId() + ", which is not configured any more";
                LOG.info("autocert4j: stored certificate {} was issued by {}, which is not configured any more; serving it until a new one is issued",
                        m.id, found.get().issuerId());
            }
            goLive(bundle, found.get().profile(), found.get().issuerId(), false);
            if (found.get().ari() != null && m.live == bundle) {
                m.ariTracking.useStored(found.get().ari()); // the fleet's pick for this window, not a new one
            }
            if (m.verboseLoad) {
                LOG.info("autocert4j: serving stored certificate {} (serial {}, expires {})", m.id, bundle.serial().toString(16), bundle.notAfter());
            }
            return new CertEvent.Loaded(m.id, now, bundle.serial(), bundle.notAfter());
        } catch (ChainVerifier.VerificationException e) {
            LOG.info("autocert4j: stored certificate {} is not usable ({}); a new one will be ordered", m.id, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: cannot read stored certificate {} ({}); a new one will be ordered", m.id, LogSafe.text(e.toString()));
        }
        return null;
    }

    /** Lazy loading: whether {@link #lazy} has not loaded this certificate yet; no lock (a loaded one never waits for an order). */
    boolean needsLoad() {
        LazyStart l = lazy;
        return l != null && l.notLoaded(m);
    }

    /**
     * Lazy loading, under the lock (a unit of work's, or taken for this): if {@link #lazy} has not loaded this
     * certificate yet, reads and loads it now. Returns the store's failure (then nothing else may happen: whether
     * a certificate is stored is not known), else null.
     */
    io.github.autocert4j.IssuanceException loadIfNotLoaded() {
        LazyStart l = lazy;
        if (l == null || !l.notLoaded(m)) {
            return null;
        }
        if (!loadLazily(m.readStored())) {
            return m.lastFailure; // NotLoadedYet's: names the store, its message and the fix
        }
        l.loaded(m);
        return null;
    }

    /**
     * Lazy loading, under the lock: serves {@code read} if usable (the eager start's load) and schedules the check
     * now; false if the store failed to answer it (then it stays not loaded, see {@link NotLoadedYet}).
     */
    boolean loadLazily(CertificateStorage.Read read) {
        CertEvent.Loaded event = load(read);
        if (notLoadedYet.waiting()) {
            return false;
        }
        if (event != null) {
            m.emit(event);
        }
        m.scheduleNext(Outcome.Next.at(m.services.now())); // the renewal check: orders if nothing usable was stored
        return true;
    }

    /** Completes when a CA-issued certificate is live, or exceptionally with the next failure. */
    CompletableFuture<CertificateStatus> whenLive() {
        CompletableFuture<CertificateStatus> f = new CompletableFuture<>();
        synchronized (m.handles) {
            if (m.isLive()) {
                f.complete(m.status(m.services.now()));
            } else if (m.stopped) {
                f.completeExceptionally(new IllegalStateException("certificate " + m.id + " is no longer managed"));
            } else {
                m.liveWaiters.add(f);
            }
        }
        return f;
    }

    /** Takes the futures waiting for a live certificate, to complete them outside {@code handles}. */
    List<CompletableFuture<CertificateStatus>> takeLiveWaiters() {
        synchronized (m.handles) {
            List<CompletableFuture<CertificateStatus>> waiters = new java.util.ArrayList<>(m.liveWaiters);
            m.liveWaiters.clear();
            return waiters;
        }
    }

    /**
     * @param fresh issued or adopted just now (not loaded at start): ARI may not make it due again at once
     * @return false if the certificate was stopped (removed or closed): nothing installed
     */
    boolean goLive(CertBundle bundle, String profile, String issuerId, boolean fresh) {
        if (m.stopped) {
            return false; // removed or closed: never install behind the caller's back
        }
        m.services.keyManager().install(m.id, m.names, bundle);
        m.live = bundle;
        m.liveProfile = profile;
        m.liveIssuer = issuerId;
        m.liveSince = fresh ? m.services.now() : null;
        m.ariTracking.reset();
        List<CompletableFuture<CertificateStatus>> waiters = takeLiveWaiters();
        if (!waiters.isEmpty()) {
            m.afterUnlock.add(() -> {
                CertificateStatus s = m.status(m.services.now());
                waiters.forEach(w -> w.complete(s));
            });
        }
        return true;
    }
}
