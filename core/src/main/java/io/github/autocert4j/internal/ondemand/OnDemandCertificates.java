package io.github.autocert4j.internal.ondemand;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.internal.renewal.Services;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.renewal.RenewalHooks;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.CertificateSource;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The on-demand side of a manager: turns a handshake for a name nobody configured into a live
 * certificate — from the store if one is there, else by an order the application allowed and the
 * abuse limits admit — and keeps at most {@link OnDemand#maxCertificatesInMemory()} of them
 * loaded, least recently used dropped first. Nothing is loaded at start-up; a periodic sweep over
 * the store's index ({@link OnDemandIndex}) brings due certificates back into memory so that
 * their own schedule renews them.
 */
public final class OnDemandCertificates implements RenewalHooks {
    private static final Logger LOG = LoggerFactory.getLogger(OnDemandCertificates.class);

    private final OnDemand config;
    private final Services services;
    private final java.util.function.Predicate<String> configured;
    private final OnDemandIndex index;
    private final OnDemandLimits limits;
    private final ScheduledExecutorService workers;
    /** One writer for the renewal index, drained (not dropped) at close so no issued certificate misses its entry. */
    private final java.util.concurrent.ExecutorService indexWrites =
            java.util.concurrent.Executors.newSingleThreadExecutor(DaemonThreads.named("autocert4j-on-demand-index"));
    private final Map<String, ManagedCertificate> loaded = new ConcurrentHashMap<>();
    private final Map<String, CompletableFuture<Boolean>> pending = new ConcurrentHashMap<>();
    private final Map<String, Decision> decisions = new ConcurrentHashMap<>();
    private final AtomicLong evictions = new AtomicLong();
    private volatile boolean closed;
    private final io.github.autocert4j.internal.names.RegistrableDomainBudget domainBudget;

    private record Decision(boolean allowed, long expiresNanos) {
    }

    /**
     * @param configured whether a name belongs to a configured certificate (never handled on demand); a name its
     *     configured wildcard covers is one too (asked as {@code *.parent}), loaded or not, issued or not
     */
    public OnDemandCertificates(OnDemand config, Services services, java.util.function.Predicate<String> configured) {
        this.config = config;
        this.services = services;
        this.configured = name -> configured.test(name) || name != null && name.indexOf('.') > 0 && configured.test("*" + name.substring(name.indexOf('.')));
        this.index = new OnDemandIndex(services.storage().store());
        this.limits = new OnDemandLimits(config);
        this.domainBudget = io.github.autocert4j.internal.names.PublicSuffixGuard.list() == null ? null
                : new io.github.autocert4j.internal.names.RegistrableDomainBudget(io.github.autocert4j.internal.names.PublicSuffixGuard.list(),
                        config.maxOrdersPerRegistrableDomain(), java.time.Duration.ofDays(7));
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(config.maxConcurrentOrders(), DaemonThreads.named("autocert4j-on-demand"));
        pool.setRemoveOnCancelPolicy(true);
        this.workers = pool;
    }

    /** Starts the periodic sweep that renews stored on-demand certificates (none are loaded now). */
    public void start() {
        long period = config.sweepInterval().toMillis();
        workers.scheduleWithFixedDelay(this::sweep, Math.min(period, 60_000), period, TimeUnit.MILLISECONDS);
    }

    /**
     * Completes with true once a certificate for {@code serverName} is live (already, loaded from
     * the store, or obtained now), false if none may or can be. Never blocks the caller.
     */
    public CompletableFuture<Boolean> ready(String serverName) {
        String name = Names.normalize(serverName);
        if (closed || name == null || Names.problem("sni", name, false, services.config().ipAddressesAllowed()) != null) {
            return CompletableFuture.completedFuture(false);
        }
        if (services.keyManager().find(name) != null || configured.test(name)) {
            // live, or configured and still waiting for its first certificate (then the fallback is served)
            return CompletableFuture.completedFuture(true);
        }
        CompletableFuture<Boolean> created = new CompletableFuture<>();
        CompletableFuture<Boolean> existing = pending.putIfAbsent(name, created);
        if (existing != null) {
            return existing; // concurrent handshakes for one name share one resolution (and one order)
        }
        created.whenComplete((ok, t) -> {
            pending.remove(name, created);
            if (!closed) {
                evictIfFull(); // names pending during a burst could not be evicted then
            }
        });
        try {
            workers.execute(() -> resolve(name, created));
        } catch (RejectedExecutionException e) {
            created.complete(false);
        }
        return created;
    }

    /** This manager's link in the key manager's chain of sources (see {@link OnDemandSource}). */
    public CertificateSource source() {
        return new OnDemandSource(config, configured, this::ready, services.keyManager()::find);
    }

    private void resolve(String name, CompletableFuture<Boolean> done) {
        try {
            // The application decides first, also for stored names: a random-name flood then never
            // reaches the store, and a name no longer allowed is not served from it either.
            if (!decide(name)) {
                LOG.debug("autocert4j: on-demand certificate for {} not allowed by the decision function", name);
                done.complete(false);
                return;
            }
            // One read of the store: a usable stored certificate goes live here, else the same
            // state machine orders one.
            ManagedCertificate m = admit(name);
            CertEvent.Loaded loaded = m.loadStored();
            if (loaded != null && m.isLive()) {
                services.events().emit(loaded);
                m.kick(); // its own schedule renews it from now on, while it stays in memory
                done.complete(true);
                return;
            }
            String refused = domainBudget == null ? null : domainBudget.tryOrder(name, services.now());
            if (refused == null) {
                refused = limits.tryStartOrder(name, services.now());
            }
            if (refused != null) {
                LOG.info("autocert4j: no on-demand order for {}: {}", name, refused);
                drop(m);
                done.complete(false);
                return;
            }
            m.whenLive().whenComplete((status, failure) -> {
                if (failure == null) {
                    limits.succeeded(name);
                    done.complete(true);
                } else {
                    limits.failed(name, services.now());
                    drop(m); // a name nobody may ask for again is not retried in the background
                    done.complete(false);
                }
            });
            m.kick();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            done.complete(false);
        } catch (RuntimeException e) {
            LOG.warn("autocert4j: on-demand resolution of {} failed unexpectedly", name, e);
            done.complete(false);
        }
    }

    private ManagedCertificate admit(String name) {
        ManagedCertificate m = new ManagedCertificate(List.of(name), services, workers, this, false);
        ManagedCertificate before = loaded.putIfAbsent(name, m);
        if (before != null) {
            return before;
        }
        evictIfFull();
        return m;
    }

    /** Asks the application (cached both ways for decisionCacheTtl); a slow or failing decider means no. */
    private boolean decide(String name) throws InterruptedException {
        long now = System.nanoTime();
        Decision d = decisions.get(name);
        if (d != null && now - d.expiresNanos() < 0) {
            return d.allowed();
        }
        boolean allowed;
        try {
            Boolean answer = config.decider().allow(name).toCompletableFuture()
                    .get(config.handshakeWait().toMillis(), TimeUnit.MILLISECONDS);
            allowed = Boolean.TRUE.equals(answer);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            LOG.warn("autocert4j: the on-demand decision function failed for {} ({}); treated as no", name, LogSafe.text(e.toString()));
            allowed = false;
        }
        if (decisions.size() > 100_000) {
            decisions.clear(); // bounded: a flood of random names cannot grow it without limit
        }
        decisions.put(name, new Decision(allowed, now + config.decisionCacheTtl().toNanos()));
        return allowed;
    }

    @Override
    public boolean shouldRenew(ManagedCertificate m) throws InterruptedException {
        if (loaded.get(m.id) != m) {
            return true; // a configured certificate
        }
        if (decide(m.id)) {
            return true;
        }
        afterNoLongerAllowed(m);
        return false;
    }

    private void afterNoLongerAllowed(ManagedCertificate m) {
        try {
            index.remove(m.id);
        } catch (IOException e) {
            LOG.warn("autocert4j: cannot remove {} from the on-demand index: {}", m.id, LogSafe.text(e.getMessage()));
        }
        workers.execute(() -> drop(m));
    }

    @Override
    public void renewed(ManagedCertificate m, CertBundle bundle) {
        // Off the handshake's path: the index is only read by the renewal sweep, while the
        // handshakes waiting for this certificate are released as soon as it is live.
        try {
            indexWrites.execute(() -> {
                try {
                    index.put(m.id, bundle.notBefore(), bundle.notAfter());
                } catch (IOException e) {
                    // The certificate is stored; only its renewal sweep entry is missing until the next issuance.
                    LOG.warn("autocert4j: cannot record {} in the on-demand index: {}", m.id, LogSafe.text(e.getMessage()));
                }
            });
        } catch (RejectedExecutionException e) {
            LOG.debug("autocert4j: closing, {} not recorded in the on-demand index", m.id);
        }
    }

    /** Drops the least recently used certificates (10 % below the limit), never one with an order in flight. */
    private void evictIfFull() {
        int max = config.maxCertificatesInMemory();
        if (loaded.size() <= max) {
            return;
        }
        synchronized (this) {
            if (loaded.size() <= max) {
                return;
            }
            int target = Math.max(0, max - Math.max(1, max / 10));
            // Each last use is read once: handshakes keep updating them, and a sort whose keys change
            // under it throws ("Comparison method violates its general contract").
            record Candidate(String name, ManagedCertificate m, long lastUsed) {
            }
            List<Candidate> all = new ArrayList<>(loaded.size());
            for (Map.Entry<String, ManagedCertificate> e : loaded.entrySet()) {
                all.add(new Candidate(e.getKey(), e.getValue(), lastUsed(e.getKey())));
            }
            all.sort(Comparator.comparingLong(Candidate::lastUsed));
            for (Candidate c : all) {
                if (loaded.size() <= target) {
                    break;
                }
                if (!pending.containsKey(c.name()) && c.m().isLive()) {
                    drop(c.m());
                    evictions.incrementAndGet();
                }
            }
        }
    }

    private long lastUsed(String name) {
        LiveKeyManager.Entry e = services.keyManager().find(name);
        // never used by a handshake yet (being loaded, ordering): treat as just used
        return e == null ? System.nanoTime() : e.lastUsedNanos;
    }

    /** Stops managing {@code m} in memory; its stored copy and index entry stay (reloaded on the next handshake). */
    public void drop(ManagedCertificate m) {
        if (loaded.remove(m.id, m)) {
            m.stop(new IllegalStateException("on-demand certificate " + m.id + " was unloaded"));
            services.keyManager().remove(m.id, m.names);
        }
    }

    /** Forgets an on-demand certificate entirely (removeCertificate): unloaded, out of the index. */
    public boolean remove(String name) {
        ManagedCertificate m = loaded.get(Names.normalize(name));
        if (m == null) {
            return false;
        }
        drop(m);
        try {
            index.remove(m.id);
        } catch (IOException e) {
            LOG.warn("autocert4j: cannot remove {} from the on-demand index: {}", m.id, LogSafe.text(e.getMessage()));
        }
        return true;
    }

    public Optional<ManagedCertificate> loaded(String name) {
        return Optional.ofNullable(loaded.get(Names.normalize(name)));
    }

    public List<ManagedCertificate> loaded() {
        return List.copyOf(loaded.values());
    }

    public long evictions() {
        return evictions.get();
    }

    /**
     * Brings stored on-demand certificates that are due (or will be before the next sweep) into
     * memory, where their own schedule renews them; a certificate renewed by a peer is adopted then.
     */
    private void sweep() {
        if (closed) {
            return;
        }
        Instant horizon = services.now().plus(config.sweepInterval());
        int due = 0;
        try {
            for (OnDemandIndex.Entry e : index.dueBefore(horizon, services.policy())) {
                if (closed) {
                    return;
                }
                if (!loaded.containsKey(e.name()) && !pending.containsKey(e.name())) {
                    if (decide(e.name())) {
                        due++;
                        ready(e.name());
                    } else {
                        LOG.info("autocert4j: not renewing on-demand certificate {}: the decision function no longer allows it", e.name());
                        index.remove(e.name());
                    }
                }
            }
            if (due > 0) {
                LOG.info("autocert4j: on-demand sweep loaded {} certificate(s) due for renewal", due);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: the on-demand renewal sweep failed ({}); trying again in {}", LogSafe.text(e.toString()), config.sweepInterval());
        }
    }

    public void close() {
        closed = true;
        IllegalStateException why = new IllegalStateException("this AutoCert was closed");
        loaded.values().forEach(m -> m.stop(why));
        pending.values().forEach(f -> f.complete(false));
        workers.shutdownNow();
        indexWrites.shutdown();
        try {
            if (!indexWrites.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("autocert4j: on-demand index writes still pending at close; those certificates are renewed once a handshake loads them");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "OnDemandCertificates[loaded=" + loaded.size() + ", pending=" + pending.size() + "]";
    }
}
