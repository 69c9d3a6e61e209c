package io.github.autocert4j.internal.assembly;

import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.acme.AcmeIssuer;
import io.github.autocert4j.internal.acme.AcmePreparation;
import io.github.autocert4j.internal.config.Config;
import io.github.autocert4j.internal.ondemand.OnDemandCertificates;
import io.github.autocert4j.internal.renewal.CertificateSet;
import io.github.autocert4j.internal.renewal.FailedValidationBudget;
import io.github.autocert4j.internal.renewal.LazyStart;
import io.github.autocert4j.internal.renewal.ManagedCertificate;
import io.github.autocert4j.internal.renewal.Services;
import io.github.autocert4j.internal.renewal.StartupLoad;
import io.github.autocert4j.internal.renewal.StoreWatch;
import io.github.autocert4j.internal.store.CertificateStorage;
import io.github.autocert4j.internal.store.LeftoverSweep;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.ChallengeCertificates;
import io.github.autocert4j.internal.tls.ChallengeSource;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.SelfSigned;
import io.github.autocert4j.internal.tls.SourceChain;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.Events;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running parts of one {@code AutoCert}, assembled from its {@link Config}: the key manager,
 * the renewal executor, {@link Services}, the configured certificates, on-demand TLS, the store
 * watch, the leftover sweep and the start-up load; and what the facade asks of them (start,
 * add, remove, status, close). {@code AutoCert} keeps the public methods and the pieces of its
 * own package (the responders, {@code TlsSessions}, the JSSE context) and delegates here.
 */
public final class Wiring {
    private static final Logger LOG = LoggerFactory.getLogger("io.github.autocert4j.AutoCert"); // the facade's log, as before
    /** Above this many certificates, start-up logs one summary line instead of one line each. */
    private static final int MAX_PER_CERTIFICATE_LOG_LINES = 100;
    /** Above this many certificates, start-up reads the store in parallel. */
    private static final int PARALLEL_LOAD_ABOVE = 64;

    private final Services services;
    private final boolean ownsExecutor;
    private final CertificateSet certificates;
    private final OnDemandCertificates onDemand;
    private final StoreWatch storeWatch;
    private final LeftoverSweep leftovers;
    private final StartupLoad startupLoad;
    /** Lazy loading (more configured certificates than {@code lazyLoadAbove}), or null: the eager start-up load. */
    private final LazyStart lazy;
    private final AcmeActions acmeActions;

    /**
     * @param solvers every challenge solver, for the issuers
     * @param alpnCertificates the TLS-ALPN-01 responder's validation certificates, or null when that type is not used
     */
    public Wiring(Config config, List<ChallengeSolver> solvers, ChallengeCertificates alpnCertificates, Duration challengeMaxAge) {
        List<Issuer> issuers = config.issuers().stream().map(f -> f.create(config.store(), solvers)).toList();
        // Without configured certificates (on-demand only) the fallback names no real host.
        List<String> first = config.certificates().isEmpty() ? List.of("autocert4j.invalid") : config.certificates().get(0);
        java.time.Clock clock = config.clock();
        LiveKeyManager keyManager = new LiveKeyManager(config.certificates().isEmpty() ? null : first.get(0),
                () -> SelfSigned.create(first, clock.instant())); // made on first need: off the path to the first certificate
        ScheduledExecutorService executor = config.executor();
        this.ownsExecutor = executor == null;
        if (executor == null) {
            executor = Executors.newScheduledThreadPool(1, DaemonThreads.named("autocert4j-renewal"));
        }
        this.services = new Services(config, issuers, new CertificateStorage(config.store()), keyManager, executor,
                new Events(config.listener()), new Random());
        this.certificates = new CertificateSet(services, config.certificates(), config.certificates().size() <= MAX_PER_CERTIFICATE_LOG_LINES);
        this.onDemand = config.onDemand() == null ? null : new OnDemandCertificates(config.onDemand(), services,
                name -> certificates.byName(name) != null);
        this.lazy = LazyStart.applies(config.certificates().size(), config.lazyLoadAbove()) ? new LazyStart(services, this::covering,
                () -> certificates.all().isEmpty() ? null : certificates.all().get(0)) : null;
        // The one place the order of certificate sources is decided; each source does one job.
        keyManager.useSources(SourceChain.builder()
                .then("tls-alpn-01 challenges", alpnCertificates == null ? null : new ChallengeSource(alpnCertificates))
                .then("live certificates", keyManager.certificates().named())
                .then("configured, not loaded yet", lazy == null ? null : lazy.source())
                .then("on-demand", onDemand == null ? null : onDemand.source())
                .then("default or fallback", keyManager.certificates().byDefault())
                .build());
        this.storeWatch = new StoreWatch(services, this::byStoreKey, this::inMemory);
        this.leftovers = new LeftoverSweep(config.store(), challengeMaxAge);
        this.startupLoad = new StartupLoad(config.store(), PARALLEL_LOAD_ABOVE, this::loaded);
        this.acmeActions = new AcmeActions(services, this::managed);
    }

    /** The last step of {@code build()}: what the first order needs that involves no I/O with the CA, on a daemon thread (issue 23). */
    public void prepareAcmeClients() {
        AcmePreparation.start(acmeIssuers());
    }

    /** Revocation and the ACME account operations (issue 20). */
    public AcmeActions acmeActions() {
        return acmeActions;
    }

    public Services services() {
        return services;
    }

    public LiveKeyManager keyManager() {
        return services.keyManager();
    }

    public CertificateSet certificates() {
        return certificates;
    }

    /** On-demand TLS, or null when it is not enabled. */
    public OnDemandCertificates onDemand() {
        return onDemand;
    }

    private ManagedCertificate byStoreKey(String key) {
        ManagedCertificate m = certificates.byStoreKey(key);
        String dir = m == null && onDemand != null ? StoreLayout.certDirOfBundle(key) : null;
        return dir != null ? onDemand.loaded(dir).orElse(null) : m;
    }

    /** The configured certificates, in the order they were added, then the on-demand ones loaded in memory. */
    public List<ManagedCertificate> inMemory() {
        List<ManagedCertificate> all = new ArrayList<>(certificates.all());
        if (onDemand != null) {
            all.addAll(onDemand.loaded());
        }
        return all;
    }

    /**
     * {@code AutoCert.start()} once: the store watch (on its own thread: it may wait on a store that
     * is down), the start-up load, the leftover sweep and on-demand TLS. {@code storeProbe} is the
     * builder's {@code checkAccess()} of the store (null: none ran).
     */
    public void start(CompletableFuture<Void> storeProbe) {
        List<ManagedCertificate> all = List.copyOf(certificates.all());
        // Watching the store may wait on it (a database that is down): never on the caller's thread.
        Thread watchStart = DaemonThreads.named("autocert4j-store-watch-start").newThread(storeWatch::start);
        watchStart.start();
        // Reserved before the load can start an order, fetched once the load says a certificate is to be ordered (issue 23).
        Consumer<Boolean> directoryAhead = acmeIssuers().stream().findFirst().map(AcmeIssuer::reserveDirectoryPrefetch).orElse(null);
        boolean storeAnswered = false;
        try {
            if (lazy != null) {
                lazy.start(all); // reads nothing now: first handshakes and a background sweep load them
            } else {
                // The builder's probe still waiting, or answered "unavailable": the store is down, do not wait for it again.
                storeAnswered = startupLoad.run(all, storeProbe != null && (!storeProbe.isDone() || storeProbe.isCompletedExceptionally()));
            }
        } finally {
            // Released if the load failed or was not run (lazy): an order then never waits for it.
            if (directoryAhead != null) {
                directoryAhead.accept(storeAnswered && all.stream().anyMatch(m -> !m.isLive()));
            }
        }
        if (storeAnswered) {
            // A store that answers is watched when start() returns, as before (bounded: it could fail just now).
            try {
                watchStart.join(StartupLoad.STORE_SILENCE.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        leftovers.start();
        if (onDemand != null) {
            onDemand.start();
        }
    }

    /** The ACME issuers, most preferred first. */
    private List<AcmeIssuer> acmeIssuers() {
        return services.issuers().stream().map(i -> i instanceof FailedValidationBudget b ? b.delegate() : i)
                .filter(AcmeIssuer.class::isInstance).map(AcmeIssuer.class::cast).toList();
    }

    /**
     * Reports a start-up load round (in order, from the load's one thread, never concurrently) and
     * checks the certificates the store answered about; those it could not be asked about are
     * read again by the load, not checked (a check could order what is stored).
     */
    private void loaded(List<ManagedCertificate> round, List<CertificateSet.LoadResult> results, boolean first) {
        List<ManagedCertificate> answered = new ArrayList<>(round.size());
        for (int i = 0; i < round.size(); i++) {
            CertificateSet.LoadResult r = results.get(i);
            if (r.loaded() != null) {
                services.events().emit(r.loaded());
            }
            if (!r.unavailable()) {
                answered.add(round.get(i));
            }
        }
        if (first) {
            long live = round.stream().filter(ManagedCertificate::isLive).count();
            if (round.size() > MAX_PER_CERTIFICATE_LOG_LINES) {
                LOG.info("autocert4j: serving {} of {} certificates from the store", live, round.size());
            }
            if (live < round.size()) {
                List<String> waiting = round.stream().filter(m -> !m.isLive()).map(m -> m.id).limit(5).toList();
                LOG.info("autocert4j: serving a self-signed fallback for {} certificate(s) ({}{}) until {}; "
                        + "clients see an untrusted certificate meanwhile", round.size() - live, String.join(", ", waiting),
                        round.size() - live > waiting.size() ? ", ..." : "",
                        answered.size() < round.size() ? "the store answers or the CA issues them" : "the CA issues them");
            }
        }
        answered.forEach(ManagedCertificate::kick);
    }

    /**
     * Whether the handshake for {@code serverName} can proceed now (see {@code AutoCert.certificateReady}):
     * a live or configured name at once, any other through on-demand TLS if enabled.
     */
    public CompletableFuture<Boolean> certificateReady(String serverName) {
        if (serverName == null || services.keyManager().find(serverName) != null) {
            return CompletableFuture.completedFuture(true);
        }
        if (configuredCovers(serverName)) {
            return lazy == null ? CompletableFuture.completedFuture(true) : lazy.ready(serverName);
        }
        return onDemand == null ? CompletableFuture.completedFuture(false) : onDemand.ready(serverName);
    }

    /**
     * Whether a configured certificate covers {@code serverName} (exactly, or by its wildcard), issued
     * or not: until it is issued, its handshakes get the self-signed fallback, never an on-demand order.
     */
    private boolean configuredCovers(String serverName) {
        return covering(serverName) != null;
    }

    /** The configured certificate covering {@code serverName} exactly or by its wildcard, or null. */
    private ManagedCertificate covering(String serverName) {
        String name = serverName.toLowerCase(Locale.ROOT);
        ManagedCertificate m = certificates.byName(name);
        int dot = name.indexOf('.');
        return m != null || dot <= 0 ? m : certificates.byName("*" + name.substring(dot));
    }

    /** Adds a configured certificate (see {@code AutoCert.addCertificate}); loads and checks it if {@code started}. */
    public CompletableFuture<CertificateStatus> addCertificate(String[] names, boolean started) {
        if (onDemand != null) {
            for (String n : names == null ? new String[0] : names) {
                onDemand.loaded(n).ifPresent(onDemand::drop); // configured from now on
            }
        }
        ManagedCertificate m = certificates.add(names);
        CompletableFuture<CertificateStatus> live = m.whenLive();
        if (started) {
            CertEvent.Loaded loaded = m.loadStored();
            if (loaded != null) {
                services.events().emit(loaded);
            }
            m.kick();
        }
        return live;
    }

    /** Stops managing the certificate covering {@code name} (see {@code AutoCert.removeCertificate}). */
    public boolean removeCertificate(String name) {
        ManagedCertificate m = certificates.remove(name);
        if (m == null) {
            return onDemand != null && onDemand.remove(name);
        }
        // Stopped first (an order in progress is interrupted, nothing is scheduled any more); revokeOnRemove of a certificate
        // lazy loading never loaded reads the stored one afterwards only to learn what to revoke.
        boolean neverLoaded = lazy != null && lazy.notLoaded(m);
        m.stop(new IllegalStateException("certificate " + m.id + " was removed"));
        if (lazy != null) {
            lazy.forget(m);
        }
        try {
            if (!m.awaitIdle(Duration.ofSeconds(10))) {
                LOG.warn("autocert4j: certificate {} was removed while an order was still running; it stops at its next step "
                        + "(a certificate already issued is still stored, not served)", m.id);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        acmeActions.removed(m, neverLoaded); // revokeOnRemove: while it is still served here
        services.keyManager().remove(m.id, m.names);
        LOG.info("autocert4j: stopped managing certificate {} {}", m.id, m.names);
        return true;
    }

    /** One status per certificate in {@link #inMemory()} order. */
    public List<CertificateStatus> status() {
        Instant now = services.now();
        List<CertificateStatus> all = new ArrayList<>();
        inMemory().forEach(m -> all.add(lazy == null ? m.status(now) : lazy.status(m, now)));
        return all;
    }

    /** {@code m}'s status ({@code NOT_LOADED} while lazy loading has not read it yet). */
    public CertificateStatus status(ManagedCertificate m) {
        return lazy == null ? m.status(services.now()) : lazy.status(m, services.now());
    }

    /** Lazy loading, or null when start-up loads every certificate (no more of them than {@code lazyLoadAbove}). */
    public LazyStart lazyStart() {
        return lazy;
    }

    /** The state machine of the configured or loaded on-demand certificate covering {@code name}, or null. */
    public ManagedCertificate managed(String name) {
        ManagedCertificate m = certificates.byName(name);
        return m != null || onDemand == null ? m : onDemand.loaded(name).orElse(null);
    }

    /** The first half of {@code AutoCert.close()}: every certificate stopped, then on-demand, the load, the watch, the sweep. */
    public void stopWork() {
        IllegalStateException why = new IllegalStateException("this AutoCert was closed");
        certificates.all().forEach(m -> m.stop(why));
        if (onDemand != null) {
            onDemand.close();
        }
        startupLoad.close();
        if (lazy != null) {
            lazy.close();
        }
        storeWatch.close();
        leftovers.close();
    }

    /** The last step of {@code AutoCert.close()}: the renewal executor, if this manager made it, then the ACME HTTP clients. */
    public void shutdownExecutor() {
        if (ownsExecutor) {
            services.executor().shutdownNow();
            try {
                if (!services.executor().awaitTermination(5, TimeUnit.SECONDS)) {
                    // Neither an order past its finalization request (AcmeIssuer.issue) nor its store write (OrderStep.save) is
                    // interrupted: a CA or a store slower than that outlives close().
                    LOG.warn("autocert4j: close() did not wait longer than 5 s for the renewal threads; a certificate still being "
                            + "downloaded from the CA or written to the store {} is lost if the JVM exits now (the next start orders it "
                            + "again)", services.storage().store());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        acmeIssuers().forEach(AcmeIssuer::closeClient);
    }

    @Override
    public String toString() {
        return certificates.all().stream().map(m -> m.names).toList() + (onDemand == null ? "" : " + " + onDemand);
    }
}
