package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.tls.ChainVerifier;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The renewal state machine of one managed certificate: load → check (ARI, plan) → attempt
 * (adopt a peer's renewal, or order, verify, store, swap) → success or failure (backoff,
 * Retry-After, permanent) → the next check.
 *
 * <p>Every unit of work ({@link #run}) holds this certificate's one lock from start to end, so two
 * units never interleave whatever the executor's thread count, and ends by scheduling the next
 * check in exactly one place ({@link #scheduleNext}), unless the failure was permanent or the
 * certificate was stopped. Readers ({@link #status}) never wait for that lock: each unit publishes
 * an immutable {@link View} when it is done.
 */
public final class ManagedCertificate {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class);
    /** How long a certificate that was issued but could not be stored is retried into the store. */
    private static final int SAVE_TRIES = 6;
    /**
     * ARI may not make a certificate due again sooner than this after it went live (or a tenth of
     * its lifetime, if shorter): a CA that keeps answering with a window in the past (a bug, an
     * incident) must not cause an order loop.
     */
    public static final Duration MIN_ARI_RENEWAL_AGE = Duration.ofHours(1);

    public final String id;
    public final List<String> names;
    private final Services services;
    private final ScheduledExecutorService executor;
    private final Hooks hooks;
    private final boolean verboseLoad;

    // ---- state: guarded by `lock`, which a unit of work holds from start to end
    private final ReentrantLock lock = new ReentrantLock();
    private CertBundle live;
    private String liveProfile;
    private String liveIssuer;
    private Instant liveSince;
    private Instant lastAttempt;
    private IssuanceException lastFailure;
    private int failures;
    private boolean permanent;
    /** Non-null: renew at the next check whatever the plan says (names changed, renewNow, issuer gone). */
    private String renewReason;
    private Instant nextCheck;
    /** The CA's renewal window (ARI) for the live certificate, shared with the fleet through the store. */
    private final AriTracking ariTracking;
    /** The issuers in failover order, skipping one that asked to wait. */
    private final IssuerFailover failover;
    private final List<Runnable> afterUnlock = new ArrayList<>();

    private volatile View view = new View(null, null, null, null, null, 0, false, null, null);

    // ---- handles that stop() must reach while a unit of work holds `lock`: guarded by `handles`
    private final Object handles = new Object();
    private ScheduledFuture<?> scheduled;
    private CompletableFuture<CertificateStatus> renewal;
    /** When the pending {@link #renewNow} was asked for: a peer's certificate stored since then satisfies it. */
    private Instant renewalRequestedAt;
    /** Serial of the certificate a store renewal request ({@link RenewalRequests}) replaces: a stored one with another serial satisfies it. */
    private java.math.BigInteger renewalReplaces;
    private final List<CompletableFuture<CertificateStatus>> liveWaiters = new ArrayList<>();
    private Thread ordering;
    private volatile boolean stopped;

    /** What status() reads: a consistent copy of the state, published at the end of every unit. */
    private record View(CertBundle live, String profile, String issuerId, Instant lastAttempt, IssuanceException lastFailure,
                        int failures, boolean permanent, Instant nextCheck, Instant ariChosen) {
    }

    /** What a unit of work decided about the next check. */
    private record Next(Instant at, boolean unchanged) {
        public static final Next NEVER = new Next(null, false);
        public static final Next UNCHANGED = new Next(null, true);

        public static Next at(Instant at) {
            return at == null ? NEVER : new Next(at, false);
        }
    }

    private record Outcome(Next next, IssuanceException failure) {
    }

    private enum Kind { CHECK, FORCE, PEER }

    /** What an owner (the on-demand cache) wants to know about or decide for its certificates. */
    public interface Hooks {
        Hooks NONE = new Hooks() { };

        /** Before a live certificate is renewed: whether it should be (on-demand asks the application again). */
        default boolean shouldRenew(ManagedCertificate m) throws InterruptedException {
            return true;
        }

        /** After a certificate went live by issuance or adoption (not at load). */
        default void renewed(ManagedCertificate m, CertBundle bundle) {
        }
    }

    public ManagedCertificate(List<String> names, Services services, boolean verboseLoad) {
        this(names, services, services.executor(), Hooks.NONE, verboseLoad);
    }

    public ManagedCertificate(List<String> names, Services services, ScheduledExecutorService executor, Hooks hooks, boolean verboseLoad) {
        this.id = names.get(0);
        this.names = List.copyOf(names);
        this.services = services;
        this.executor = executor;
        this.hooks = hooks;
        this.verboseLoad = verboseLoad;
        this.ariTracking = new AriTracking(id, services, new AriTracking.Owner() {
            @Override
            public void setOrdering(boolean on) {
                ManagedCertificate.this.setOrdering(on);
            }

            @Override
            public boolean stopped() {
                return stopped;
            }
        });
        this.failover = new IssuerFailover(id, this.names, services);
    }

    // ------------------------------------------------------------------ entry points

    /**
     * Serves the stored certificate if it is usable and newer than the live one. Returns the event
     * to report (the caller emits, in order), or null.
     */
    public CertEvent.Loaded loadStored() {
        return loadStored(null);
    }

    /**
     * Like {@link #loadStored()}, with the store's bytes already read ({@code read}, of this
     * certificate; null: read them now). A start-up load reads many certificates ahead.
     */
    public CertEvent.Loaded loadStored(CertificateStorage.Read read) {
        lock.lock();
        try {
            return load(read);
        } finally {
            unlockAndDrain();
        }
    }

    /** Reads this certificate's stored bytes for {@link #loadStored(CertificateStorage.Read)}. */
    public CertificateStorage.Read readStored() {
        return services.storage().read(id);
    }

    /** Schedules a check for now (status shows it as the next check until it has run). */
    public void kick() {
        lock.lock();
        try {
            if (!stopped) {
                scheduleNext(Next.at(services.now()));
            }
        } finally {
            unlockAndDrain();
        }
    }

    /** Another server may have stored a new certificate: adopt it without ordering. */
    public void peerChanged() {
        submit(Kind.PEER, null);
    }

    /** Orders now whatever the schedule says; concurrent calls share one order. */
    public CompletableFuture<CertificateStatus> renewNow() {
        return renewNow(null);
    }

    /**
     * Like {@link #renewNow()}, for a renewal request found in the store: {@code replaces} (if not
     * null) is the serial it asks to replace, so a certificate with another serial (live here, or
     * stored by a peer by the time the store lock is ours) satisfies it without an order. Every node
     * of a fleet sees the request; one orders.
     */
    public CompletableFuture<CertificateStatus> renewNow(java.math.BigInteger replaces) {
        CompletableFuture<CertificateStatus> f;
        CertBundle shown = view.live();
        if (replaces != null && shown != null && !shown.serial().equals(replaces)) {
            return CompletableFuture.completedFuture(status(services.now())); // already replaced
        }
        synchronized (handles) {
            if (stopped) {
                return CompletableFuture.failedFuture(new IllegalStateException("certificate " + id + " is no longer managed (closed or removed)"));
            }
            if (renewal != null && !renewal.isDone()) {
                return renewal;
            }
            f = new CompletableFuture<>();
            renewal = f;
            renewalRequestedAt = services.now();
            renewalReplaces = replaces;
        }
        if (!submit(Kind.FORCE, f)) {
            synchronized (handles) {
                if (renewal == f) {
                    renewal = null;
                }
            }
            f.completeExceptionally(new IllegalStateException("the renewal executor refused to renew " + id
                    + " (is it shut down?). Fix: keep the executor given to executor() running while the AutoCert is open"));
        }
        return f;
    }

    /** Completes when a CA-issued certificate is live, or exceptionally with the next failure. */
    public CompletableFuture<CertificateStatus> whenLive() {
        CompletableFuture<CertificateStatus> f = new CompletableFuture<>();
        synchronized (handles) {
            if (view.live() != null) {
                f.complete(status(services.now()));
            } else if (stopped) {
                f.completeExceptionally(new IllegalStateException("certificate " + id + " is no longer managed"));
            } else {
                liveWaiters.add(f);
            }
        }
        return f;
    }

    /**
     * Stops all work: cancels the next check, interrupts an order in progress, and fails every
     * pending future with {@code why}. Does not wait; see {@link #awaitIdle}.
     */
    public void stop(Exception why) {
        stopped = true;
        ScheduledFuture<?> s;
        CompletableFuture<CertificateStatus> r;
        Thread t;
        List<CompletableFuture<CertificateStatus>> waiters;
        synchronized (handles) {
            s = scheduled;
            scheduled = null;
            r = renewal;
            t = ordering;
            waiters = new ArrayList<>(liveWaiters);
            liveWaiters.clear();
        }
        if (s != null) {
            s.cancel(false);
        }
        if (t != null) {
            t.interrupt();
        }
        if (r != null) {
            r.completeExceptionally(why);
        }
        waiters.forEach(w -> w.completeExceptionally(why));
    }

    /** Waits (bounded) until no unit of work runs; true if it got there. */
    public boolean awaitIdle(Duration max) throws InterruptedException {
        if (lock.isHeldByCurrentThread()) {
            return true;
        }
        if (lock.tryLock(max.toMillis(), TimeUnit.MILLISECONDS)) {
            lock.unlock();
            return true;
        }
        return false;
    }

    public boolean isLive() {
        return view.live() != null;
    }

    public CertificateStatus status(Instant now) {
        View v = view;
        CertificateStatus.State state;
        if (v.live() == null) {
            state = v.permanent() ? CertificateStatus.State.FAILED : CertificateStatus.State.PENDING;
        } else if (!now.isBefore(v.live().notAfter())) {
            state = CertificateStatus.State.EXPIRED;
        } else {
            state = v.permanent() ? CertificateStatus.State.FAILED : CertificateStatus.State.VALID;
        }
        CertBundle l = v.live();
        return new CertificateStatus(id, names, state, l == null ? null : l.serial(),
                l == null ? null : l.leaf().getIssuerX500Principal().getName(), l == null ? null : v.issuerId(),
                l == null ? null : l.notBefore(), l == null ? null : l.notAfter(), l == null ? null : v.profile(),
                v.lastAttempt(), v.lastFailure(), v.failures(), v.nextCheck(),
                l == null ? null : RenewalPlanner.warningFrom(l.notBefore(), l.notAfter(), services.policy()));
    }

    // ------------------------------------------------------------------ the unit of work

    private boolean submit(Kind kind, CompletableFuture<CertificateStatus> done) {
        try {
            executor.execute(() -> run(kind, done));
            return true;
        } catch (RejectedExecutionException e) {
            if (!stopped) {
                LOG.error("autocert4j: the renewal executor refused work on certificate {} ({}). Fix: keep the executor given to "
                        + "executor() running while the AutoCert is open", id, e.toString());
            }
            return false;
        }
    }

    private void run(Kind kind, CompletableFuture<CertificateStatus> done) {
        IssuanceException failure = null;
        boolean ran = false;
        lock.lock();
        try {
            if (!stopped) {
                ran = true;
                Next next;
                try {
                    Outcome outcome = switch (kind) {
                        case CHECK -> check();
                        case FORCE -> {
                            renewReason = "renewNow() was called";
                            permanent = false;
                            yield attempt(true);
                        }
                        case PEER -> new Outcome(adoptFromStore(null) ? Next.at(services.now()) : Next.UNCHANGED, null);
                    };
                    next = outcome.next();
                    failure = outcome.failure();
                } catch (InterruptedException e) {
                    // Only stop() interrupts us; anything else is a host's doing: check again later.
                    next = stopped ? Next.NEVER : Next.at(services.now().plus(services.policy().backoff().get(0)));
                } catch (RuntimeException | Error e) {
                    // A bug or an unforeseen failure outside an order: never stop renewing silently.
                    LOG.error("autocert4j: unexpected error while working on certificate {}; checking again along the backoff schedule", id, e);
                    next = Next.at(RenewalPlanner.retryAt(Math.max(1, failures), null, live == null ? null : live.notBefore(),
                            live == null ? null : live.notAfter(), services.now(), services.policy(), services.random()));
                }
                scheduleNext(next);
            }
        } finally {
            unlockAndDrain();
        }
        if (done != null) {
            if (!ran) {
                done.completeExceptionally(new IllegalStateException("certificate " + id + " is no longer managed (closed or removed)"));
            } else if (failure != null) {
                done.completeExceptionally(failure);
            } else if (kind == Kind.FORCE && stopped) {
                done.completeExceptionally(new IllegalStateException("closed while renewing " + id));
            } else {
                done.complete(status(services.now()));
            }
        }
    }

    /** A scheduled check: refresh ARI if due, then renew if the plan says so, else look again later. */
    private Outcome check() throws InterruptedException {
        if (permanent) {
            return new Outcome(Next.NEVER, null);
        }
        Instant now = services.now();
        if (live != null && services.policy().useAri()) {
            ariTracking.refresh(now, live, liveIssuer);
        }
        RenewalPlanner.Plan plan = renewReason != null ? new RenewalPlanner.Plan(true, now, renewReason)
                : RenewalPlanner.plan(live == null ? null : live.notBefore(), live == null ? null : live.notAfter(),
                        ariTracking.chosen(), now, services.policy(), services.random());
        Duration minAge = live == null ? MIN_ARI_RENEWAL_AGE : min(MIN_ARI_RENEWAL_AGE, live.lifetime().dividedBy(10));
        if (plan.renewNow() && plan.byAri() && liveSince != null && now.isBefore(liveSince.plus(minAge))) {
            Instant notBefore = liveSince.plus(minAge);
            LOG.warn("autocert4j: the CA's ARI window asks to renew {} again right after it went live; waiting until {}", id, notBefore);
            plan = new RenewalPlanner.Plan(false, notBefore, "ARI renewal deferred", false, notBefore);
        }
        ariTracking.logPlanned(plan);
        if (!plan.renewNow()) {
            Instant next = plan.nextCheck();
            Instant ariNextFetch = ariTracking.nextFetch();
            if (ariNextFetch != null && ariNextFetch.isBefore(next)) {
                next = ariNextFetch;
            }
            return new Outcome(Next.at(next), null);
        }
        if (live != null && !hooks.shouldRenew(this)) {
            LOG.info("autocert4j: not renewing {}: the on-demand decision no longer allows it", id);
            return new Outcome(Next.NEVER, null);
        }
        LOG.info("autocert4j: renewing {}: {}", id, plan.reason());
        return attempt(false);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The moment picked in the CA's ARI window, or null (tests compare the fleet's picks). */
    public Instant ariChosen() {
        return view.ariChosen();
    }

    /**
     * One attempt under the certificate's store lock: unless {@code forced}, first adopts a
     * certificate another server sharing the store renewed meanwhile; else orders (trying each
     * issuer in turn), verifies, stores (only while the lock is held) and swaps in.
     */
    private Outcome attempt(boolean forced) throws InterruptedException {
        Instant requestedAt;
        java.math.BigInteger replaces;
        synchronized (handles) {
            requestedAt = renewalRequestedAt;
            replaces = renewalReplaces;
        }
        long t0 = System.nanoTime();
        lastAttempt = services.now();
        publish();
        CertBundle previous = live;
        CertStore.Lock storeLock;
        try {
            storeLock = services.storage().lock(id);
        } catch (IOException e) {
            // An unreachable store (database down) is asked again at the first backoff step every
            // time: the CA was not contacted, and the fleet must pick up as soon as it is back.
            return failed(IssuanceException.transientFailure("cannot take the store lock of " + id + " (" + LogSafe.text(e.getMessage())
                    + "); another server may be ordering it, or the store " + services.storage().store() + " is unavailable", e), t0,
                    e instanceof CertStore.UnavailableException);
        }
        setOrdering(true);
        try {
            // Forced: a certificate a peer stored since renewNow() was asked for is that renewal
            // (renewNow broadcast to every node must still make one order).
            // A store renewal request names the serial it replaces: a peer's renewal stored since, or
            // one already live here, satisfies it whenever it was noticed.
            boolean replaced = forced && replaces != null
                    && (adoptFromStore(null, replaces) || live != null && !live.serial().equals(replaces));
            if (replaced) {
                renewReason = null;
            }
            if (replaced || (forced ? requestedAt != null && adoptFromStore(requestedAt) : adoptFromStore(null))) {
                return new Outcome(Next.at(services.now()), null);
            }
            ensureHeld(storeLock); // a holder that stalled past its lease must not place an order
            IssuerFailover.Issued issued = failover.issue(previous, liveIssuer);
            try {
                ChainVerifier.verify(issued.bundle(), names, services.now());
            } catch (ChainVerifier.VerificationException e) {
                throw IssuanceException.transientFailure("the certificate from " + issued.issuerId()
                        + " failed verification and was discarded: " + e.getMessage(), null);
            }
            save(issued, storeLock);
            boolean renewal = live != null;
            goLive(issued.bundle(), issued.profile(), issued.issuerId(), true);
            failures = 0;
            lastFailure = null;
            renewReason = null;
            permanent = false;
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            LOG.info("autocert4j: certificate {} is live: serial {}, expires {}, from {}{}", id, issued.bundle().serial().toString(16),
                    issued.bundle().notAfter(), issued.issuerId(), issued.profile() == null ? "" : ", profile " + issued.profile());
            emit(new CertEvent.Issued(id, services.now(), issued.bundle().serial(), issued.bundle().notAfter(),
                    renewal, issued.profile(), issued.issuerId(), took));
            hooks.renewed(this, issued.bundle());
            return new Outcome(Next.at(services.now()), null);
        } catch (IssuanceException e) {
            return failed(e, t0);
        } finally {
            setOrdering(false);
            try {
                storeLock.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("autocert4j: releasing the store lock of {} failed ({}); it expires on its own", id, LogSafe.text(e.toString()));
            }
        }
    }

    private void ensureHeld(CertStore.Lock storeLock) throws IssuanceException {
        try {
            storeLock.ensureHeld();
        } catch (IOException e) {
            throw IssuanceException.transientFailure("this server lost the store lock of " + id + " before ordering ("
                    + LogSafe.text(e.getMessage()) + "); the server holding it now renews it", e);
        }
    }

    /**
     * Stores what was issued, retrying a store that is briefly unavailable (a database restart)
     * for about half a minute rather than discarding a certificate the CA already issued; a lost
     * lock ends it at once (another server took over).
     */
    private void save(IssuerFailover.Issued issued, CertStore.Lock storeLock) throws IssuanceException, InterruptedException {
        long waitMillis = 500;
        for (int attempt = 1; ; attempt++) {
            try {
                services.storage().save(id, issued.bundle(), names, issued.profile(), issued.issuerId(), services.now(), storeLock);
                return;
            } catch (CertStore.LockLostException e) {
                throw IssuanceException.transientFailure("the certificate was issued but this server lost the store lock of " + id
                        + " (" + LogSafe.text(e.getMessage()) + "), so it was discarded; the server holding the lock now renews it", e);
            } catch (IOException e) {
                if (attempt >= SAVE_TRIES) {
                    throw IssuanceException.transientFailure("the certificate was issued but could not be stored ("
                            + LogSafe.text(e.getMessage()) + "); it was discarded. Fix: check the store " + services.storage().store(), e);
                }
                LOG.warn("autocert4j: storing the new certificate {} failed ({}); trying again in {} ms", id, LogSafe.text(e.getMessage()), waitMillis);
                Thread.sleep(waitMillis);
                waitMillis *= 2;
            }
        }
    }

    /**
     * Adopts a newer, valid, not yet due certificate that a server sharing the store put there
     * (if {@code storedSince} is not null: only one stored at or after that moment). Returns
     * whether it did.
     */
    private boolean adoptFromStore(Instant storedSince) {
        return adoptFromStore(storedSince, null);
    }

    /**
     * Like {@link #adoptFromStore(Instant)}; with {@code replacing} (the serial a store renewal request
     * replaces) any other valid stored certificate is that renewal, even one that expires sooner than
     * the live one (a peer's renewal may have come with a shorter profile).
     */
    private boolean adoptFromStore(Instant storedSince, java.math.BigInteger replacing) {
        Optional<CertificateStorage.Stored> found = StoreAdoption.adoptable(services, id, names, live, storedSince, replacing);
        if (found.isEmpty()) {
            return false;
        }
        CertBundle stored = found.get().bundle();
        Instant now = services.now();
        goLive(stored, found.get().profile(), found.get().issuerId(), true);
        if (found.get().ari() != null && live == stored) {
            ariTracking.useStored(found.get().ari());
        }
        failures = 0;
        lastFailure = null;
        renewReason = null;
        permanent = false;
        LOG.info("autocert4j: adopted certificate {} that another server sharing the store renewed (serial {}, expires {})",
                id, stored.serial().toString(16), stored.notAfter());
        emit(new CertEvent.Loaded(id, now, stored.serial(), stored.notAfter()));
        hooks.renewed(this, stored);
        return true;
    }

    private CertEvent.Loaded load(CertificateStorage.Read read) {
        try {
            Optional<CertificateStorage.Stored> found = (read != null ? read : services.storage().read(id)).decode();
            if (found.isEmpty()) {
                return null;
            }
            CertBundle bundle = found.get().bundle();
            if (live != null && !bundle.notAfter().isAfter(live.notAfter())) {
                return null; // never replace a newer live certificate with an older stored one
            }
            Instant now = services.now();
            try {
                ChainVerifier.verifyUsable(bundle, names, now);
            } catch (ChainVerifier.VerificationException namesChanged) {
                // Names were added to the configuration: keep serving the stored certificate for
                // the names it does cover while a new one is ordered at the first check.
                ChainVerifier.verifyUsable(bundle, bundle.names(), now);
                renewReason = "the configured names changed";
                LOG.info("autocert4j: stored certificate {} does not cover every configured name ({}); serving it until a new one is issued",
                        id, namesChanged.getMessage());
            }
            if (!services.isConfigured(found.get().issuerId())) {
                renewReason = "it was issued by " + found.get().issuerId() + ", which is not configured any more";
                LOG.info("autocert4j: stored certificate {} was issued by {}, which is not configured any more; serving it until a new one is issued",
                        id, found.get().issuerId());
            }
            goLive(bundle, found.get().profile(), found.get().issuerId(), false);
            if (found.get().ari() != null && live == bundle) {
                ariTracking.useStored(found.get().ari()); // the fleet's pick for this window, not a new one
            }
            if (verboseLoad) {
                LOG.info("autocert4j: serving stored certificate {} (serial {}, expires {})", id, bundle.serial().toString(16), bundle.notAfter());
            }
            return new CertEvent.Loaded(id, now, bundle.serial(), bundle.notAfter());
        } catch (ChainVerifier.VerificationException e) {
            LOG.info("autocert4j: stored certificate {} is not usable ({}); a new one will be ordered", id, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: cannot read stored certificate {} ({}); a new one will be ordered", id, LogSafe.text(e.toString()));
        }
        return null;
    }

    /** Whether {@code stored} was issued after {@code current}: {@link StoreAdoption#issuedLater}. */
    public static boolean issuedLater(CertBundle stored, CertBundle current) {
        return StoreAdoption.issuedLater(stored, current);
    }

    /** @param fresh issued or adopted just now (not loaded at start): ARI may not make it due again at once */
    private void goLive(CertBundle bundle, String profile, String issuerId, boolean fresh) {
        if (stopped) {
            return; // removed or closed: never install behind the caller's back
        }
        services.keyManager().install(id, names, bundle);
        live = bundle;
        liveProfile = profile;
        liveIssuer = issuerId;
        liveSince = fresh ? services.now() : null;
        ariTracking.reset();
        List<CompletableFuture<CertificateStatus>> waiters;
        synchronized (handles) {
            waiters = new ArrayList<>(liveWaiters);
            liveWaiters.clear();
        }
        if (!waiters.isEmpty()) {
            afterUnlock.add(() -> {
                CertificateStatus s = status(services.now());
                waiters.forEach(w -> w.complete(s));
            });
        }
    }

    private Outcome failed(IssuanceException e, long t0) {
        return failed(e, t0, false);
    }

    /** @param storeUnreachable retry at the first backoff step instead of escalating */
    private Outcome failed(IssuanceException e, long t0, boolean storeUnreachable) {
        if (stopped) {
            return new Outcome(Next.NEVER, e); // closing or removed: an interrupted order is not a failure to report
        }
        failures++;
        lastFailure = e;
        permanent = e.permanent();
        Instant now = services.now();
        Instant retryAfter = e.retryAfter().orElse(null);
        Instant next = permanent ? null : RenewalPlanner.retryAt(storeUnreachable ? 1 : failures, retryAfter,
                live == null ? null : live.notBefore(), live == null ? null : live.notAfter(), now, services.policy(), services.random());
        nextCheck = next;
        String serving = live == null ? "the self-signed fallback is still served" : "the current certificate stays live";
        if (next != null && live != null && next.equals(retryAfter)
                && next.isAfter(RenewalPlanner.retryDeadline(live.notBefore(), live.notAfter()))) {
            // Honoured (asking earlier is refused anyway), never exceeded; said once per failure.
            LOG.warn("autocert4j: the CA asked not to be contacted for {} before {} (Retry-After), which is past the last retry moment {} "
                    + "before expiry at {}; retrying exactly then. Fix: add a second CA (builder acmeCa(...)) so renewal can fail over",
                    id, next, RenewalPlanner.retryDeadline(live.notBefore(), live.notAfter()), live.notAfter());
        }
        if (next != null) {
            LOG.warn("autocert4j: obtaining certificate {} failed ({} in a row); {}; next attempt at {}: {}",
                    id, failures, serving, next, e.getMessage());
        } else {
            LOG.error("autocert4j: obtaining certificate {} failed permanently; {}; not retrying until renewNow() or a restart: {}",
                    id, serving, e.getMessage());
        }
        emit(new CertEvent.Failed(id, now, e, failures, next, Duration.ofNanos(System.nanoTime() - t0)));
        if (live != null && RenewalPlanner.inWarningWindow(live.notBefore(), live.notAfter(), now, services.policy())) {
            Duration remaining = Duration.between(now, live.notAfter());
            remaining = remaining.isNegative() ? Duration.ZERO : remaining;
            LOG.warn("autocert4j: certificate {} expires at {} ({} left) and renewal keeps failing: {}", id, live.notAfter(), remaining, e.getMessage());
            emit(new CertEvent.ExpiryWarning(id, now, live.notAfter(), remaining));
        }
        List<CompletableFuture<CertificateStatus>> waiters;
        synchronized (handles) {
            waiters = new ArrayList<>(liveWaiters);
            liveWaiters.clear();
        }
        if (!waiters.isEmpty()) {
            afterUnlock.add(() -> waiters.forEach(w -> w.completeExceptionally(e)));
        }
        return new Outcome(Next.at(next), e);
    }

    /** The one place that schedules the next check; called at the end of every unit of work. */
    private void scheduleNext(Next next) {
        if (next.unchanged()) {
            return;
        }
        ScheduledFuture<?> old;
        synchronized (handles) {
            old = scheduled;
            scheduled = null;
        }
        if (old != null) {
            old.cancel(false);
        }
        if (stopped || next.at() == null) {
            nextCheck = null;
            return;
        }
        // Rounded up: a delay truncated to whole milliseconds wakes the check just before its moment,
        // which then finds nothing due and reschedules itself at once, over and over until the moment passes.
        Duration until = Duration.between(services.now(), next.at());
        long delay = until.isNegative() || until.isZero() ? 0 : until.toMillis() + (until.toNanosPart() % 1_000_000 == 0 ? 0 : 1);
        try {
            ScheduledFuture<?> f = executor.schedule(() -> run(Kind.CHECK, null), delay, TimeUnit.MILLISECONDS);
            synchronized (handles) {
                scheduled = f;
            }
            nextCheck = next.at();
        } catch (RejectedExecutionException e) {
            nextCheck = null;
            if (!stopped) {
                lastFailure = IssuanceException.transientFailure("renewal of " + id + " has stopped: the executor refused to schedule "
                        + "the next check. Fix: keep the executor given to executor() running while the AutoCert is open", e);
                LOG.error("autocert4j: {}", lastFailure.getMessage());
            }
        }
    }

    private void setOrdering(boolean on) {
        synchronized (handles) {
            ordering = on ? Thread.currentThread() : null;
        }
        if (on && stopped) {
            Thread.currentThread().interrupt(); // stop() ran just before we registered
        } else if (!on && stopped) {
            Thread.interrupted(); // our own interrupt from stop(): do not leak it into the executor's next task
        }
    }

    /** Reports an event after publishing the state it describes, so a listener reading status() sees it. */
    private void emit(CertEvent event) {
        publish();
        services.events().emit(event);
    }

    private void publish() {
        view = new View(live, liveProfile, liveIssuer, lastAttempt, lastFailure, failures, permanent, nextCheck, ariTracking.chosen());
    }

    private void unlockAndDrain() {
        publish();
        List<Runnable> drained = afterUnlock.isEmpty() ? List.of() : new ArrayList<>(afterUnlock);
        afterUnlock.clear();
        lock.unlock();
        drained.forEach(Runnable::run);
    }

    @Override
    public String toString() {
        return "ManagedCertificate[" + id + " " + names + "]";
    }
}
