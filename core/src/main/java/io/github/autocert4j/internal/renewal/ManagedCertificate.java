package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.renewal.Outcome.Next;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.CertificateStorage;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The renewal state machine of one managed certificate: load or adopt ({@link GoingLive}) → check
 * (ARI, plan: {@link CheckStep}) → attempt (adopt a peer's renewal, or order, verify, store, swap:
 * {@link OrderStep}) → success or failure (backoff, Retry-After, permanent) → the next check.
 * This class keeps the state, the entry points and the unit of work; the steps work on its state.
 *
 * <p>Every unit of work ({@link #run}) holds this certificate's one lock from start to end, so two
 * units never interleave whatever the executor's thread count, and ends by scheduling the next
 * check in exactly one place ({@link #scheduleNext}), unless the failure was permanent or the
 * certificate was stopped. Readers ({@link #status}) never wait for that lock: each unit publishes
 * an immutable {@link StatusView} when it is done.
 */
public final class ManagedCertificate {
    private static final Logger LOG = LoggerFactory.getLogger(ManagedCertificate.class);
    /**
     * ARI may not make a certificate due again sooner than this after it went live (or a tenth of
     * its lifetime, if shorter): a CA that keeps answering with a window in the past (a bug, an
     * incident) must not cause an order loop.
     */
    public static final Duration MIN_ARI_RENEWAL_AGE = Duration.ofHours(1);

    public final String id;
    public final List<String> names;
    final Services services;
    private final ScheduledExecutorService executor;
    // The steps of a unit of work; they run on the state below under `lock`.
    final GoingLive goingLive = new GoingLive(this);
    final OrderStep orderStep = new OrderStep(this);
    final CheckStep checkStep = new CheckStep(this);
    final RenewalHooks hooks;
    final boolean verboseLoad;

    // ---- state: guarded by `lock`, which a unit of work holds from start to end
    private final ReentrantLock lock = new ReentrantLock();
    CertBundle live;
    String liveProfile;
    String liveIssuer;
    Instant liveSince;
    Instant lastAttempt;
    IssuanceException lastFailure;
    int failures;
    boolean permanent;
    /** Non-null: renew at the next check whatever the plan says (names changed, renewNow, issuer gone). */
    String renewReason;
    Instant nextCheck;
    /** The CA's renewal window (ARI) for the live certificate, shared with the fleet through the store. */
    final AriTracking ariTracking;
    /** The issuers in failover order, skipping one that asked to wait. */
    final IssuerFailover failover;
    final List<Runnable> afterUnlock = new ArrayList<>();

    private volatile StatusView view = StatusView.NONE;

    // ---- handles that stop() must reach while a unit of work holds `lock`: guarded by `handles`
    final Object handles = new Object();
    private ScheduledFuture<?> scheduled;
    private CompletableFuture<CertificateStatus> renewal;
    /** When the pending {@link #renewNow} was asked for: a peer's certificate stored since then satisfies it. */
    Instant renewalRequestedAt;
    /** Serial of the certificate a store renewal request ({@link RenewalRequests}) replaces: a stored one with another serial satisfies it. */
    java.math.BigInteger renewalReplaces;
    final List<CompletableFuture<CertificateStatus>> liveWaiters = new ArrayList<>();
    /** The thread placing an order (ARI fetch included), for stop() to interrupt. */
    Thread ordering;
    volatile boolean stopped;

    private enum Kind { CHECK, FORCE, PEER }

    public ManagedCertificate(List<String> names, Services services, boolean verboseLoad) {
        this(names, services, services.executor(), RenewalHooks.NONE, verboseLoad);
    }

    public ManagedCertificate(List<String> names, Services services, ScheduledExecutorService executor, RenewalHooks hooks, boolean verboseLoad) {
        this.id = names.get(0);
        this.names = List.copyOf(names);
        this.services = services;
        this.executor = executor;
        this.hooks = hooks;
        this.verboseLoad = verboseLoad;
        this.ariTracking = new AriTracking(id, services, orderStep);
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
            return goingLive.load(read);
        } finally {
            unlockAndDrain();
        }
    }

    /** Reads this certificate's stored bytes for {@link #loadStored(CertificateStorage.Read)}. */
    public CertificateStorage.Read readStored() {
        return services.storage().read(id);
    }

    /**
     * Lazy loading: loads this certificate from the store now if it was not loaded yet (waits for a unit of work);
     * an IllegalStateException naming the store and the fix if the store cannot be read. For revocation. Lock-free when loaded.
     */
    public void loadIfNotLoaded() {
        IssuanceException unread = goingLive.needsLoad() ? underLock(true, goingLive::loadIfNotLoaded) : null;
        if (unread != null) {
            throw new IllegalStateException(unread.getMessage(), unread);
        }
    }

    /** Runs {@code step} under this certificate's lock; if not {@code wait}, only if no unit of work holds it (else null). */
    <T> T underLock(boolean wait, java.util.function.Supplier<T> step) {
        if (wait) {
            lock.lock();
        } else if (!lock.tryLock()) {
            return null;
        }
        try {
            return step.get();
        } finally {
            unlockAndDrain();
        }
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
        return goingLive.whenLive();
    }

    /**
     * Stops all work: cancels the next check, interrupts an order (not past its finalization request, {@code AcmeIssuer.issue},
     * nor its store write, {@code OrderStep.save}), fails every pending future with {@code why}. Does not wait: {@link #awaitIdle}.
     */
    public void stop(Exception why) {
        stopped = true;
        ScheduledFuture<?> s;
        CompletableFuture<CertificateStatus> r;
        List<CompletableFuture<CertificateStatus>> waiters;
        synchronized (handles) {
            s = scheduled;
            scheduled = null;
            r = renewal;
            if (ordering != null) {
                ordering.interrupt(); // under handles: a thread that unregistered (its store write) is never interrupted later
            }
        }
        waiters = goingLive.takeLiveWaiters();
        if (s != null) {
            s.cancel(false);
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
        return view.status(id, names, services.policy(), now);
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
                        case CHECK -> checkStep.check();
                        case FORCE -> {
                            renewReason = "renewNow() was called";
                            permanent = false;
                            IssuanceException unread = goingLive.loadIfNotLoaded(); // lazy loading: the stored one first
                            yield unread != null ? new Outcome(Next.UNCHANGED, unread) : orderStep.attempt(true);
                        }
                        case PEER -> goingLive.peer(); // adopts a renewal, or orders if the stored one was rejected
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

    /** The moment picked in the CA's ARI window, or null (tests compare the fleet's picks). */
    public Instant ariChosen() {
        return view.ariChosen();
    }


    /** The one place that schedules the next check; called at the end of every unit of work (and of a lazy load). */
    void scheduleNext(Next next) {
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

    /** Reports an event after publishing the state it describes, so a listener reading status() sees it. */
    void emit(CertEvent event) {
        publish();
        services.events().emit(event);
    }

    void publish() {
        view = new StatusView(live, liveProfile, liveIssuer, lastAttempt, lastFailure, failures, permanent, nextCheck, ariTracking.chosen());
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
