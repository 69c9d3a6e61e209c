package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.tls.CertificateSource;
import io.github.autocert4j.internal.util.DaemonThreads;

import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Lazy loading of the configured certificates (issue 23): above {@code AutoCertBuilder.lazyLoadAbove}
 * configured certificates ({@link #DEFAULT_ABOVE} by default) {@code start()} reads none of them. A
 * certificate is loaded from the store at the first handshake that names it (this class is then a
 * link of the key manager's {@link io.github.autocert4j.internal.tls.SourceChain}, asked right after
 * the live certificates; bounded in time, never waiting for the certificate's lock), or by a unit of work that
 * needs it ({@code renewNow}, revocation: {@link GoingLive#loadIfNotLoaded}), or by a background sweep that loads the rest at a bounded rate
 * ({@link #SWEEP_RATE_PER_SECOND}), so that every certificate gets its renewal check. Either way the
 * load is the eager start's ({@link ManagedCertificate#loadStored}: issuer record and chain checks,
 * key match; a forged, expired or missing certificate is not served and the check that follows
 * orders a new one); concurrent first handshakes for one certificate load it once.
 *
 * <p>Until it is loaded a certificate's status is {@link CertificateStatus.State#NOT_LOADED} (not
 * {@code PENDING}: nothing is missing), and no check runs for it (a check would order what is stored).
 * A certificate whose store could not be reached stays not loaded and is read again by the sweep.
 */
public final class LazyStart implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("io.github.autocert4j.AutoCert");

    /**
     * The default of {@code AutoCertBuilder.lazyLoadAbove}: up to this many certificates an eager start serves at most
     * about 1 s later than a lazy one on a 2-core VM (measured in fresh JVMs, build + start + OpenSSL server context +
     * Netty listening, interleaved pairs on a busy machine: 0.85 s more at 500, 1.6 s at 1,000, 2.1 s at 2,000, while a lazy start serves
     * after about 1 s at any size and its first handshakes cost tens of milliseconds at p99; {@code LazyThresholdBench},
     * docs/benchmarks.md "Where lazy loading starts").
     */
    public static final int DEFAULT_ABOVE = 500;
    /**
     * The background sweep loads at most this many certificates a second: each costs about 0.2-0.3 ms of CPU
     * (parse, issuer check), so it takes at most about half a core and leaves the rest to the server's own start and
     * to first handshakes; 100,000 certificates in 50 s or more.
     */
    public static final int SWEEP_RATE_PER_SECOND = 2_000;
    /** Readers of the sweep: a cold page cache makes every read wait on the disk. */
    private static final int SWEEP_THREADS = 4;
    /** The sweep waits at most this long for another thread's load of a certificate. */
    private static final long SWEEP_WAIT_MILLIS = 10_000;
    /**
     * A handshake waits at most this long for its certificate's load (its own or a concurrent one; the store may hang),
     * then gets the fallback while the load goes on: about 10 times the p99 of a whole first handshake with a cold
     * page cache (scale_100k_first_handshake_p99_ms). {@link #ready} completes within it, and within half of
     * {@code OnDemand.handshakeWait}, so that an event-loop server never refuses a configured name.
     */
    static final long HANDSHAKE_LOAD_WAIT_MILLIS = 1_000;
    /** Within 2 s of a handshake load that outlasted its wait, handshakes wait at most this long (a slow store). */
    private static final long SLOW_STORE_WAIT_MILLIS = 50;
    /** After a failed read, handshakes and the sweep do not read for this long (see {@link #storeFailedRecently}). */
    private static final long STORE_FAILURE_HOLD_MILLIS = 2_000;

    private final Services services;
    private final Function<String, ManagedCertificate> covering;
    private final java.util.function.Supplier<ManagedCertificate> defaultCertificate;
    private final Set<ManagedCertificate> notLoaded = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<ManagedCertificate, CompletableFuture<Boolean>> loading = new ConcurrentHashMap<>();
    private final AtomicInteger loadedCount = new AtomicInteger();
    private final AtomicInteger handshakeLoads = new AtomicInteger();
    private volatile ExecutorService sweep;
    /** Loads for first handshakes and {@link #ready}: not behind the sweep's queue, bounded in time for the handshake. */
    private volatile LazyLoaders loads;
    private volatile boolean closed;
    private volatile long sweepDoneNanos;
    /** When a read last failed (System.nanoTime), 0 if none did since the last retry pass began. */
    private volatile long storeFailedAtNanos;
    /** When a handshake last stopped waiting for a load that outlasted {@link #HANDSHAKE_LOAD_WAIT_MILLIS} (System.nanoTime), or 0. */
    private volatile long slowLoadAtNanos;

    /**
     * @param covering the configured certificate covering a (normalized) name exactly or by wildcard, or null
     * @param defaultCertificate the certificate served without SNI (the first configured one), or null
     */
    public LazyStart(Services services, Function<String, ManagedCertificate> covering, java.util.function.Supplier<ManagedCertificate> defaultCertificate) {
        this.services = services;
        this.covering = covering;
        this.defaultCertificate = defaultCertificate;
    }

    /** Whether a start of {@code configured} certificates is lazy with the threshold {@code above}. */
    public static boolean applies(int configured, int above) {
        return configured > above;
    }

    /** Marks {@code all} not loaded and starts the sweep; reads nothing on the caller's thread. */
    public void start(List<ManagedCertificate> all) {
        notLoaded.addAll(all);
        all.forEach(m -> m.goingLive.lazy = this); // a unit of work (renewNow) then loads it first
        LOG.info("autocert4j: {} configured certificates (more than lazyLoadAbove): each is loaded from the store at its first "
                + "handshake; a background sweep loads the rest (at most {}/s)", all.size(), SWEEP_RATE_PER_SECOND);
        ExecutorService threads = Executors.newFixedThreadPool(SWEEP_THREADS, DaemonThreads.named("autocert4j-lazy-sweep"));
        sweep = threads;
        loads = new LazyLoaders();
        long startNanos = System.nanoTime();
        AtomicInteger next = new AtomicInteger();
        AtomicInteger running = new AtomicInteger(SWEEP_THREADS);
        for (int t = 0; t < SWEEP_THREADS; t++) {
            threads.execute(() -> {
                try {
                    sweepFrom(all, next, startNanos);
                } finally {
                    if (running.decrementAndGet() == 0 && !closed) {
                        sweepDone(all.size(), startNanos);
                    }
                }
            });
        }
    }

    private void sweepFrom(List<ManagedCertificate> all, AtomicInteger next, long startNanos) {
        for (int i = next.getAndIncrement(); !closed; i = next.getAndIncrement()) {
            if (i > all.size()) {
                return; // done: another thread took i == all.size()
            }
            if (i == all.size()) {
                // The one thread past the end reads again, until the store answers, what it could not be asked about
                // (and waits for the other sweep threads' last loads: their certificates are not loaded until they finish).
                long pause = 500;
                while (!notLoaded.isEmpty() && waitRetry(pause)) {
                    pause = Math.min(2_000, pause * 2);
                    storeFailedAtNanos = 0; // the retry's own reads are not held back by the failure they retry
                    for (ManagedCertificate m : List.copyOf(notLoaded)) {
                        if (closed) {
                            return;
                        }
                        load(m, false);
                    }
                }
                return;
            }
            // Bounded rate: certificate i is not read before startNanos + i / rate.
            long due = startNanos + (long) i * 1_000_000_000L / SWEEP_RATE_PER_SECOND;
            long wait = due - System.nanoTime();
            if (wait > 0 && !waitNanos(wait)) {
                return;
            }
            ManagedCertificate m = all.get(i);
            if (notLoaded.contains(m)) {
                load(m, false);
            }
        }
    }

    /**
     * Whether a read failed within {@link #STORE_FAILURE_HOLD_MILLIS}: then neither handshakes nor the sweep read (each
     * would wait out the store's own timeout and fill its connection pool); the retry pass reads the rest.
     */
    private boolean storeFailedRecently() {
        long at = storeFailedAtNanos;
        return at != 0 && System.nanoTime() - at < TimeUnit.MILLISECONDS.toNanos(STORE_FAILURE_HOLD_MILLIS);
    }

    private boolean waitRetry(long millis) {
        return waitNanos(TimeUnit.MILLISECONDS.toNanos(millis));
    }

    private boolean waitNanos(long nanos) {
        try {
            TimeUnit.NANOSECONDS.sleep(nanos);
            return !closed;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void sweepDone(int total, long startNanos) {
        sweepDoneNanos = System.nanoTime();
        LOG.info("autocert4j: lazy loading of {} certificates done in {} ms ({} loaded at their first handshake); {} not loaded",
                total, (sweepDoneNanos - startNanos) / 1_000_000, handshakeLoads.get(), notLoaded.size());
    }

    /**
     * Loads {@code m} once, on the calling thread, never waiting for a unit of work that holds its lock (then it stays
     * not loaded: that unit loads it itself, or the next handshake or the sweep's retry pass does); a concurrent caller
     * waits for that load (at most {@link #SWEEP_WAIT_MILLIS}). True when {@code m} is loaded (whether or not the store
     * held a usable certificate); false when it is not, for now (the store failed, the lock was busy).
     */
    private boolean load(ManagedCertificate m, boolean forHandshake) {
        if (!notLoaded.contains(m)) {
            return true;
        }
        if (storeFailedRecently()) {
            return false; // the store failed just now: no read per handshake (the fallback is served); the retry reads again
        }
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        CompletableFuture<Boolean> running = loading.putIfAbsent(m, mine);
        if (running != null) {
            return waitFor(running, SWEEP_WAIT_MILLIS);
        }
        return run(m, mine, forHandshake);
    }

    /** Runs {@code m}'s load registered in {@link #loading} as {@code mine}; then completes and unregisters it. */
    private boolean run(ManagedCertificate m, CompletableFuture<Boolean> mine, boolean forHandshake) {
        boolean loaded = false;
        if (forHandshake) {
            handshakeLoads.incrementAndGet();
        }
        try {
            if (notLoaded.contains(m)) { // another load may have finished between the check and putIfAbsent
                CertificateStorage.Read read = m.readStored();
                // Every read goes through the eager start's load: a failed one (unavailable, a timeout, an unreadable
                // issuer record) sets the status's lastError and one Failed event per outage, and is "not known yet".
                // tryLock: a unit of work holding the lock may run for minutes (an order); null = it held the lock.
                // Marked loaded under the lock: a unit of work (renewNow, revoke) taking it next never reads the store again.
                Boolean answered = m.underLock(false, () -> m.stopped || !notLoaded.contains(m) || m.goingLive.loadLazily(read) && loaded(m));
                if (Boolean.FALSE.equals(answered)) {
                    // The store could not say: not loaded, never checked (a check would order what may well be stored).
                    storeFailedAtNanos = System.nanoTime();
                } else if (answered != null) {
                    loaded = true;
                }
            } else {
                loaded = true;
            }
        } catch (RuntimeException e) {
            LOG.warn("autocert4j: loading certificate {} failed unexpectedly; the sweep tries again", m.id, e);
        } finally {
            loading.remove(m, mine);
            mine.complete(loaded);
        }
        return loaded;
    }

    /** {@code m} was loaded (by a handshake, the sweep or a unit of work holding its lock; under that lock); true. */
    boolean loaded(ManagedCertificate m) {
        if (notLoaded.remove(m)) {
            loadedCount.incrementAndGet();
        }
        return true;
    }

    private static boolean waitFor(CompletableFuture<Boolean> load, long millis) {
        try {
            return load.get(millis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * {@code m}'s load on a loader thread: the one registered, if any (every concurrent handshake attaches to it, none
     * queues a task of its own), else a new one; completes false at once if closed or if {@link LazyLoaders#QUEUE} loads
     * already wait for a thread (a hanging store): the handshake gets the fallback, the sweep's retry pass reads it.
     */
    private CompletableFuture<Boolean> loadAsync(ManagedCertificate m) {
        LazyLoaders threads = loads;
        if (threads == null || closed || storeFailedRecently()) { // closed (a queued load's future is never completed then), or the store failed just now
            return CompletableFuture.completedFuture(false);
        }
        CompletableFuture<Boolean> mine = new CompletableFuture<>();
        CompletableFuture<Boolean> running = loading.putIfAbsent(m, mine);
        if (running != null) {
            return running;
        }
        if (!threads.offer(() -> run(m, mine, true))) {
            loading.remove(m, mine);
            mine.complete(false);
        }
        return mine;
    }

    /**
     * The link of the key manager's chain: for an SNI name a not yet loaded configured certificate
     * covers, loads it and serves it if it went live; otherwise null (the next link: the default
     * certificate or the self-signed fallback). The load runs on a loader thread and never waits for a unit
     * of work holding the certificate's lock; the handshake waits for it at most {@link #HANDSHAKE_LOAD_WAIT_MILLIS}
     * (50 ms while loads are that slow), then gets the fallback while the load goes on.
     */
    public CertificateSource source() {
        return h -> {
            if (notLoaded.isEmpty()) {
                return null;
            }
            // Without SNI: the IP-address certificate of the local address, else the default (first configured) certificate.
            String name = h.sni() != null ? h.sni() : h.localAddress() != null ? io.github.autocert4j.internal.util.Names.normalize(
                    h.localAddress().getHostAddress()) : null;
            ManagedCertificate m = name == null ? null : covering.apply(name);
            if (m == null && h.sni() == null) {
                m = defaultCertificate.get();
            }
            if (m == null || !notLoaded.contains(m) || storeFailedRecently()) {
                return null; // the store failed just now: the fallback at once, the retry pass reads again
            }
            // Off the handshake's thread and bounded: the store may hang; the fallback now is better than a stalled event loop.
            // A load that outlasted the bound makes the next handshakes wait only briefly for a while (their loads go on).
            CompletableFuture<Boolean> load = loadAsync(m);
            long slow = slowLoadAtNanos;
            boolean slowStore = slow != 0 && System.nanoTime() - slow < TimeUnit.MILLISECONDS.toNanos(STORE_FAILURE_HOLD_MILLIS);
            try {
                load.get(slowStore ? SLOW_STORE_WAIT_MILLIS : HANDSHAKE_LOAD_WAIT_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                slowLoadAtNanos = System.nanoTime(); // still slow: the hold goes on
            } catch (java.util.concurrent.ExecutionException e) {
                // not loaded: the fallback
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return h.sni() != null ? services.keyManager().find(h.sni()) : null; // no SNI: the next links serve it, if loaded now
        };
    }

    /**
     * For {@code AutoCert.certificateReady} of a name a configured certificate covers: starts its load if it is not
     * loaded, and completes with true once it is loaded, once the load failed, or after {@link #HANDSHAKE_LOAD_WAIT_MILLIS}
     * (at most half of {@code OnDemand.handshakeWait}), whichever comes first. True means "proceed", never "loaded": a
     * configured name is never refused as an unknown on-demand name; its handshake gets its certificate if the load is
     * done, else the self-signed fallback (a failed load shows in {@code status()} as PENDING with lastError).
     */
    public CompletableFuture<Boolean> ready(String name) {
        ManagedCertificate m = name == null || notLoaded.isEmpty() ? null : covering.apply(name);
        if (m == null || !notLoaded.contains(m)) {
            return CompletableFuture.completedFuture(true);
        }
        io.github.autocert4j.OnDemand onDemand = services.config().onDemand();
        long wait = onDemand == null ? HANDSHAKE_LOAD_WAIT_MILLIS : Math.min(HANDSHAKE_LOAD_WAIT_MILLIS, onDemand.handshakeWait().toMillis() / 2);
        return loadAsync(m).handle((loaded, e) -> true).completeOnTimeout(true, wait, TimeUnit.MILLISECONDS);
    }

    /** Whether {@code m} has not been loaded yet. */
    public boolean notLoaded(ManagedCertificate m) {
        return notLoaded.contains(m);
    }

    /** How many configured certificates are not loaded yet. */
    public int notLoadedCount() {
        return notLoaded.size();
    }

    /** Nanos (System.nanoTime) when the sweep finished, or 0 while it runs. */
    public long sweepDoneNanos() {
        return sweepDoneNanos;
    }

    /** How many were loaded (by handshakes or the sweep). */
    public int loadedCount() {
        return loadedCount.get();
    }

    /** Forgets {@code m} (removed from the configuration). */
    public void forget(ManagedCertificate m) {
        notLoaded.remove(m);
    }

    /** {@code m}'s status, {@link CertificateStatus.State#NOT_LOADED} while it is not loaded (and not live). */
    public CertificateStatus status(ManagedCertificate m, Instant now) {
        CertificateStatus s = m.status(now);
        // A read that failed shows as the eager start's does: PENDING, lastError naming the store and the fix. Judged from
        // the published status itself (not from the loader's state, which is set before the status is published).
        boolean readFailed = s.lastError() != null && s.lastError().startsWith(NotLoadedYet.PREFIX);
        if (!notLoaded.contains(m) || m.isLive() || readFailed) {
            return s;
        }
        return new CertificateStatus(s.certificate(), s.names(), CertificateStatus.State.NOT_LOADED, null, null, null, null, null,
                null, s.lastAttempt(), s.lastFailure().orElse(null), s.consecutiveFailures(), null, null);
    }

    /** Stops the sweep (daemon threads; a load in progress finishes). */
    @Override
    public void close() {
        closed = true;
        ExecutorService threads = sweep;
        LazyLoaders loaders = loads;
        if (threads != null) {
            threads.shutdownNow();
        }
        if (loaders != null) {
            loaders.close();
        }
    }

    @Override
    public String toString() {
        return "LazyStart[" + loadedCount.get() + " loaded, " + notLoaded.size() + " not loaded"
                + (sweepDoneNanos == 0 ? "" : ", sweep done") + "]";
    }
}
