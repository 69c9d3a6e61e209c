package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.renewal.Outcome.Next;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Uninterruptibly;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The order step of one {@link ManagedCertificate}: under the certificate's store lock, adopt a
 * peer's renewal or order (with failover), verify, store and swap in; a failure sets the backoff.
 *
 * <p>Not a unit of work of its own: it runs inside {@link ManagedCertificate}'s unit, which holds
 * the certificate's one lock, and it reads and writes that certificate's state directly (kept in
 * {@code ManagedCertificate} so there is one copy of it). It schedules nothing: it returns the
 * next check to the one scheduling point.
 */
final class OrderStep implements AriTracking.Owner {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class); // the certificate's log, as before
    /** How long a certificate that was issued but could not be stored is retried into the store. */
    private static final int SAVE_TRIES = 6;

    private final ManagedCertificate m;
    /** Failed adoption reads of this certificate (see {@link StoreAdoption#orderDespite}). */
    private final StoreAdoption.Blocked blocked = new StoreAdoption.Blocked();

    OrderStep(ManagedCertificate m) {
        this.m = m;
    }

    /**
     * One attempt under the certificate's store lock: unless {@code forced}, first adopts a
     * certificate another server sharing the store renewed meanwhile; else orders (trying each
     * issuer in turn), verifies, stores (only while the lock is held) and swaps in.
     */
    Outcome attempt(boolean forced) throws InterruptedException {
        Instant requestedAt;
        java.math.BigInteger replaces;
        synchronized (m.handles) {
            requestedAt = m.renewalRequestedAt;
            replaces = m.renewalReplaces;
        }
        long t0 = System.nanoTime();
        m.lastAttempt = m.services.now();
        m.publish();
        CertBundle previous = m.live;
        CertStore.Lock storeLock;
        try {
            storeLock = m.services.storage().lock(m.id);
        } catch (IOException e) {
            // An unreachable store (database down) is asked again at the first backoff step every
            // time: the CA was not contacted, and the fleet must pick up as soon as it is back.
            return failed(IssuanceException.transientFailure("cannot take the store lock of " + m.id + " (" + LogSafe.text(e.getMessage())
                    + "); another server may be ordering it, or the store " + m.services.storage().store() + " is unavailable", e), t0,
                    e instanceof CertStore.UnavailableException);
        }
        setOrdering(true);
        boolean interruptedWhileStoring = false;
        try {
            // Forced: a certificate a peer stored since renewNow() was asked for is that renewal
            // (renewNow broadcast to every node must still make one order).
            // A store renewal request names the serial it replaces: a peer's renewal stored since, or
            // one already live here, satisfies it whenever it was noticed.
            boolean adopted;
            try {
                boolean replaced = forced && replaces != null
                        && (m.goingLive.adoptFromStore(null, replaces) || m.live != null && !m.live.serial().equals(replaces));
                if (replaced) {
                    m.renewReason = null;
                }
                adopted = replaced || (forced ? requestedAt != null && m.goingLive.adoptFromStore(requestedAt) : m.goingLive.adoptFromStore(null));
                blocked.storeAnswered();
            } catch (StoreAdoption.Unreadable e) {
                if (!StoreAdoption.orderDespite(m, e, blocked, forced && replaces != null)) {
                    throw e; // blocked: a Failed event below, retried along the backoff
                }
                adopted = false; // waiting longer risks an outage: ordered, with a WARN naming the duplicate risk
            }
            if (adopted) {
                return new Outcome(Next.at(m.services.now()), null);
            }
            ensureHeld(storeLock); // a holder that stalled past its lease must not place an order
            IssuerFailover.Issued issued = m.failover.issue(previous, m.liveIssuer);
            try {
                ChainVerifier.verify(issued.bundle(), m.names, m.services.now());
            } catch (ChainVerifier.VerificationException e) {
                throw IssuanceException.transientFailure("the certificate from " + issued.issuerId()
                        + " failed verification and was discarded: " + e.getMessage(), null);
            }
            interruptedWhileStoring = save(issued, storeLock);
            blocked.storeAnswered();
            boolean renewal = m.live != null;
            if (!m.goingLive.goLive(issued.bundle(), issued.profile(), issued.issuerId(), true)) {
                // Closed or removed as the order returned: stored for the next start (a removal revokes it), no Issued event.
                LOG.info("autocert4j: certificate {} was issued (serial {}) as it stopped being managed here: stored, not taken live",
                        m.id, issued.bundle().serial().toString(16));
                return new Outcome(Next.NEVER, null);
            }
            m.failures = 0;
            m.lastFailure = null;
            m.renewReason = null;
            m.permanent = false;
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            LOG.info("autocert4j: certificate {} is live: serial {}, expires {}, from {}{}", m.id, issued.bundle().serial().toString(16),
                    issued.bundle().notAfter(), issued.issuerId(), issued.profile() == null ? "" : ", profile " + issued.profile());
            m.emit(new CertEvent.Issued(m.id, m.services.now(), issued.bundle().serial(), issued.bundle().notAfter(),
                    renewal, issued.profile(), issued.issuerId(), took));
            m.hooks.renewed(m, issued.bundle());
            return new Outcome(Next.at(m.services.now()), null);
        } catch (IssuanceException e) {
            return failed(e, t0);
        } catch (StoreAdoption.Unreadable e) {
            // Whether a server sharing the store renewed it already is not known: an order could duplicate it.
            return failed(IssuanceException.transientFailure("cannot read the stored certificate " + m.id + " from the store "
                    + m.services.storage().store() + " before ordering (" + LogSafe.text(e.getMessage()) + "); another server sharing the "
                    + "store may have stored its renewal already and an order could duplicate it (Let's Encrypt allows 5 duplicate "
                    + "certificates a week), so nothing was ordered. Fix: make the store answer again (see its message); the renewal is "
                    + "retried along the backoff schedule", e.getCause()), t0, e.getCause() instanceof CertStore.UnavailableException);
        } finally {
            setOrdering(false);
            try {
                storeLock.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("autocert4j: releasing the store lock of {} failed ({}); it expires on its own", m.id, LogSafe.text(e.toString()));
            }
            if (interruptedWhileStoring) {
                Thread.currentThread().interrupt(); // e.g. the host's shutdownNow(): after the lock's release, which it would cut
            }
        }
    }

    void ensureHeld(CertStore.Lock storeLock) throws IssuanceException {
        try {
            storeLock.ensureHeld();
        } catch (IOException e) {
            throw IssuanceException.transientFailure("this server lost the store lock of " + m.id + " before ordering ("
                    + LogSafe.text(e.getMessage()) + "); the server holding it now renews it", e);
        }
    }

    /**
     * Stores what was issued, retrying a store that is briefly unavailable (a database restart)
     * for about half a minute rather than discarding a certificate the CA already issued; a lost
     * lock ends it at once (another server took over).
     *
     * <p>It is stored even if stop() (close, removal) or an executor's shutdownNow() comes now: dropped, the next start
     * would order a duplicate (5 a week), and an interrupted file write fails. So this thread unregisters from stop()
     * first ({@link #setOrdering}, which also drops an interrupt stop() already sent), and any other interrupt is set
     * aside during each attempt and each wait.
     *
     * @return whether an interrupt was set aside (the caller restores it once the store lock is released)
     */
    boolean save(IssuerFailover.Issued issued, CertStore.Lock storeLock) throws IssuanceException {
        setOrdering(false);
        boolean interrupted = false;
        try {
            long waitMillis = 500;
            for (int attempt = 1; ; attempt++) {
                interrupted |= Thread.interrupted();
                try {
                    m.services.storage().save(m.id, issued.bundle(), m.names, issued.profile(), issued.issuerId(), m.services.now(), storeLock);
                    return interrupted | Thread.interrupted();
                } catch (CertStore.LockLostException e) {
                    throw IssuanceException.transientFailure("the certificate was issued but this server lost the store lock of " + m.id
                            + " (" + LogSafe.text(e.getMessage()) + "), so it was discarded; the server holding the lock now renews it", e);
                } catch (IOException e) {
                    if (attempt >= SAVE_TRIES) {
                        throw IssuanceException.transientFailure("the certificate was issued but could not be stored ("
                                + LogSafe.text(String.valueOf(e.getMessage())) + "); it was discarded. Fix: check the store "
                                + m.services.storage().store(), e);
                    }
                    LOG.warn("autocert4j: storing the new certificate {} failed ({}); trying again in {} ms", m.id,
                            LogSafe.text(e.toString()), waitMillis);
                    Uninterruptibly.sleep(waitMillis * 1_000_000); // an interrupt meanwhile is set aside at the next attempt
                    waitMillis *= 2;
                }
            }
        } catch (IssuanceException e) {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            throw e;
        }
    }

    Outcome failed(IssuanceException e, long t0) {
        return failed(e, t0, false);
    }

    /** @param storeUnreachable retry at the first backoff step instead of escalating */
    Outcome failed(IssuanceException e, long t0, boolean storeUnreachable) {
        if (m.stopped) {
            return new Outcome(Next.NEVER, e); // closing or removed: an interrupted order is not a failure to report
        }
        m.failures++;
        m.lastFailure = e;
        m.permanent = e.permanent();
        Instant now = m.services.now();
        Instant retryAfter = e.retryAfter().orElse(null);
        Instant next = m.permanent ? null : RenewalPlanner.retryAt(storeUnreachable ? 1 : m.failures, retryAfter,
                m.live == null ? null : m.live.notBefore(), m.live == null ? null : m.live.notAfter(), now, m.services.policy(), m.services.random());
        m.nextCheck = next;
        String serving = m.live == null ? "the self-signed fallback is still served" : "the current certificate stays live";
        if (next != null && m.live != null && next.equals(retryAfter)
                && next.isAfter(RenewalPlanner.retryDeadline(m.live.notBefore(), m.live.notAfter()))) {
            // Honoured (asking earlier is refused anyway), never exceeded; said once per failure.
            LOG.warn("autocert4j: the CA asked not to be contacted for {} before {} (Retry-After), which is past the last retry moment {} "
                    + "before expiry at {}; retrying exactly then. Fix: add a second CA (builder acmeCa(...)) so renewal can fail over",
                    m.id, next, RenewalPlanner.retryDeadline(m.live.notBefore(), m.live.notAfter()), m.live.notAfter());
        }
        if (next != null) {
            LOG.warn("autocert4j: obtaining certificate {} failed ({} in a row); {}; next attempt at {}: {}",
                    m.id, m.failures, serving, next, e.getMessage());
        } else {
            LOG.error("autocert4j: obtaining certificate {} failed permanently; {}; not retrying until renewNow() or a restart: {}",
                    m.id, serving, e.getMessage());
        }
        m.emit(new CertEvent.Failed(m.id, now, e, m.failures, next, Duration.ofNanos(System.nanoTime() - t0)));
        if (m.live != null && RenewalPlanner.inWarningWindow(m.live.notBefore(), m.live.notAfter(), now, m.services.policy())) {
            Duration remaining = Duration.between(now, m.live.notAfter());
            remaining = remaining.isNegative() ? Duration.ZERO : remaining;
            LOG.warn("autocert4j: certificate {} expires at {} ({} left) and renewal keeps failing: {}", m.id, m.live.notAfter(), remaining, e.getMessage());
            m.emit(new CertEvent.ExpiryWarning(m.id, now, m.live.notAfter(), remaining));
        }
        List<CompletableFuture<CertificateStatus>> waiters = m.goingLive.takeLiveWaiters();
        if (!waiters.isEmpty()) {
            m.afterUnlock.add(() -> waiters.forEach(w -> w.completeExceptionally(e)));
        }
        return new Outcome(Next.at(next), e);
    }

    @Override
    public void setOrdering(boolean on) {
        synchronized (m.handles) {
            m.ordering = on ? Thread.currentThread() : null;
        }
        if (on && m.stopped) {
            Thread.currentThread().interrupt(); // stop() ran just before we registered
        } else if (!on && m.stopped) {
            Thread.interrupted(); // our own interrupt from stop(): do not leak it into the executor's next task
        }
    }

    @Override
    public boolean stopped() {
        return m.stopped;
    }
}
