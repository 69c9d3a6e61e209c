package io.github.autocert4j;

import java.net.URI;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.X509ExtendedKeyManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Obtains, stores, renews and serves publicly trusted certificates inside a JVM server.
 *
 * <p>Build one, hand its key material to the host's HTTPS listener and its {@link #http01()}
 * responder to the host's plain-HTTP listener (the Netty and Servlet adapters do both), then
 * {@link #start()} it. The TLS listener works from the first second: a valid stored certificate
 * is served at once, otherwise a self-signed fallback until the CA has issued one. Renewals
 * happen in the background and take effect for new connections without a restart. Certificates
 * can be added and removed while it runs.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()
 *         .directory(AutoCert.LETS_ENCRYPT_PRODUCTION)
 *         .agreeToTermsOfService(true)
 *         .email("ops@example.com")
 *         .certificate("example.com", "www.example.com")
 *         .storageDirectory(Path.of("/var/lib/myapp/certs"))
 *         .build();
 * SSLContext tls = autoCert.sslContext();   // for the HTTPS listener
 * Http01Responder acme = autoCert.http01(); // for the port-80 listener
 * autoCert.start();
 * }</pre>
 */
public final class AutoCert implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AutoCert.class);

    /** Let's Encrypt production. Rate limits apply: test against staging first. */
    public static final URI LETS_ENCRYPT_PRODUCTION = URI.create("https://acme-v02.api.letsencrypt.org/directory");
    /** Let's Encrypt staging: untrusted certificates, generous rate limits. */
    public static final URI LETS_ENCRYPT_STAGING = URI.create("https://acme-staging-v02.api.letsencrypt.org/directory");

    /** Above this many certificates, start-up logs one summary line instead of one line each. */
    private static final int MAX_PER_CERTIFICATE_LOG_LINES = 100;
    /** Above this many certificates, start-up reads the store in parallel. */
    private static final int PARALLEL_LOAD_ABOVE = 64;
    /** Readers for a parallel start-up load. */
    private static final int LOAD_THREADS = 16;

    private final Config config;
    private final Services services;
    private final Http01Responder http01;
    private final boolean ownsExecutor;
    private final List<ManagedCertificate> certificates = new CopyOnWriteArrayList<>();
    private final Map<String, ManagedCertificate> byName = new ConcurrentHashMap<>();
    private final Map<String, ManagedCertificate> byStoreKey = new ConcurrentHashMap<>();
    private final Object membership = new Object();
    private final AtomicBoolean started = new AtomicBoolean();
    private final List<AutoCloseable> watches = new CopyOnWriteArrayList<>();
    private volatile boolean closed;
    private volatile SSLContext sslContext;

    AutoCert(Config config) {
        this.config = config;
        this.http01 = new Http01Responder(config.store());
        List<ChallengeSolver> solvers = new ArrayList<>();
        solvers.add(http01);
        solvers.addAll(config.extraSolvers());
        List<Issuer> issuers = config.issuers().stream().map(f -> f.create(config.store(), solvers)).toList();
        List<String> first = config.certificates().get(0);
        java.time.Clock clock = config.clock();
        LiveKeyManager keyManager = new LiveKeyManager(first.get(0), () -> SelfSigned.create(first, clock.instant()));
        ScheduledExecutorService executor = config.executor();
        this.ownsExecutor = executor == null;
        if (executor == null) {
            executor = Executors.newScheduledThreadPool(1, r -> {
                Thread t = new Thread(r, "autocert4j-renewal");
                t.setDaemon(true);
                return t;
            });
        }
        this.services = new Services(config, issuers, new CertificateStorage(config.store()), keyManager, executor,
                new Events(config.listener()));
        boolean verbose = config.certificates().size() <= MAX_PER_CERTIFICATE_LOG_LINES;
        List<ManagedCertificate> initial = new ArrayList<>(config.certificates().size());
        for (List<String> names : config.certificates()) {
            ManagedCertificate m = new ManagedCertificate(names, services, verbose);
            initial.add(m);
            names.forEach(n -> byName.put(n, m));
            byStoreKey.put(StoreLayout.certBundle(m.id), m);
        }
        // One copy: adding one by one to the copy-on-write list copied it at every add (quadratic:
        // about 5 s for 100,000 certificates).
        certificates.addAll(initial);
    }

    /** Starts configuring a manager. */
    public static AutoCertBuilder builder() {
        return new AutoCertBuilder();
    }

    /**
     * Serves every valid stored certificate at once (no CA contact), then checks each certificate
     * in the background: missing or due certificates are ordered. Returns without waiting for the
     * CA. Calling it again does nothing.
     */
    public AutoCert start() {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed; build a new one");
        }
        if (!started.compareAndSet(false, true)) {
            return this;
        }
        List<ManagedCertificate> all = List.copyOf(certificates);
        // Many certificates load in parallel; events are then reported in order from this thread, never concurrently.
        List<CertEvent.Loaded> loaded = all.size() > PARALLEL_LOAD_ABOVE ? loadInParallel(all)
                : all.stream().map(ManagedCertificate::loadStored).toList();
        loaded.stream().filter(e -> e != null).forEach(services.events()::emit);
        long live = all.stream().filter(ManagedCertificate::isLive).count();
        if (all.size() > MAX_PER_CERTIFICATE_LOG_LINES) {
            LOG.info("autocert4j: serving {} of {} certificates from the store", live, all.size());
        }
        if (live < all.size()) {
            List<String> waiting = all.stream().filter(m -> !m.isLive()).map(m -> m.id).limit(5).toList();
            LOG.info("autocert4j: serving a self-signed fallback for {} certificate(s) ({}{}) until the CA issues them; "
                    + "clients see an untrusted certificate meanwhile", all.size() - live, String.join(", ", waiting),
                    all.size() - live > waiting.size() ? ", ..." : "");
        }
        watchStore(Duration.ofMinutes(1));
        all.forEach(ManagedCertificate::kick);
        return this;
    }

    /**
     * Store reads wait on the disk far more than they compute when the files are not cached, so more
     * readers than cores help (three times faster from a cold page cache on 2 cores with 16 than with 2).
     */
    private static List<CertEvent.Loaded> loadInParallel(List<ManagedCertificate> all) {
        int threads = Math.min(LOAD_THREADS, all.size());
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> {
            Thread t = new Thread(r, "autocert4j-load");
            t.setDaemon(true);
            return t;
        });
        try {
            List<Future<CertEvent.Loaded>> futures = new ArrayList<>(all.size());
            for (ManagedCertificate m : all) {
                futures.add(pool.submit(m::loadStored));
            }
            List<CertEvent.Loaded> loaded = new ArrayList<>(all.size());
            for (Future<CertEvent.Loaded> f : futures) {
                try {
                    loaded.add(f.get());
                } catch (ExecutionException e) {
                    throw new IllegalStateException("loading a stored certificate failed unexpectedly", e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while loading the stored certificates", e);
                }
            }
            return loaded;
        } finally {
            pool.shutdownNow();
        }
    }

    /** The responder the host's plain-HTTP listener consults for {@code /.well-known/acme-challenge/}. */
    public Http01Responder http01() {
        return http01;
    }

    /**
     * The live key manager: picks the current certificate by SNI at every handshake. Hand it to any
     * TLS stack that accepts a {@code KeyManager} (Netty's {@code SslContextBuilder}, Jetty, Tomcat).
     */
    public X509ExtendedKeyManager keyManager() {
        return services.keyManager();
    }

    /**
     * The certificate a handshake with SNI {@code serverName} (null: no SNI) is served right now:
     * exact name, then wildcard, then the first configured certificate, then the self-signed fallback.
     */
    public ServedCertificate servedCertificate(String serverName) {
        LiveKeyManager.Entry e = services.keyManager().select(serverName);
        return new ServedCertificate(e.alias, e.key, List.of(e.chain));
    }

    /** A JSSE {@code SSLContext} whose server side always presents the live certificates. */
    public SSLContext sslContext() {
        SSLContext ctx = sslContext;
        if (ctx == null) {
            synchronized (this) {
                if (sslContext == null) {
                    try {
                        SSLContext c = SSLContext.getInstance("TLS");
                        c.init(new KeyManager[] {keyManager()}, null, null);
                        sslContext = c;
                    } catch (GeneralSecurityException e) {
                        throw new IllegalStateException("this JVM has no TLS SSLContext", e);
                    }
                }
                ctx = sslContext;
            }
        }
        return ctx;
    }

    /**
     * Orders a new certificate for the managed certificate that covers {@code name} now, whatever
     * its expiry, and swaps it in. The future completes with the new status, or exceptionally with
     * an {@link IssuanceException} (the old certificate then stays live, and the renewal is
     * retried along the backoff schedule until it succeeds). Concurrent calls share one order.
     * Call {@link #start()} first.
     */
    public CompletableFuture<CertificateStatus> renewNow(String name) {
        ManagedCertificate m = byName.get(Names.normalize(name));
        if (m == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no managed certificate covers '" + name
                    + "'; managed names: " + new ArrayList<>(byName.keySet())));
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("this AutoCert is closed"));
        }
        if (!started.get()) {
            return CompletableFuture.failedFuture(new IllegalStateException("renewNow() before start(): call autoCert.start() first, "
                    + "so that the stored certificate is loaded before anything replaces it"));
        }
        return m.renewNow();
    }

    /**
     * Adds a certificate covering {@code names} to the running manager (or to the set
     * {@link #start()} will load), validated like the builder's {@code certificate(...)}: an
     * invalid or already managed name throws {@link IllegalArgumentException} naming the fix. A
     * valid stored certificate is served at once, otherwise one is ordered. The future completes
     * when a CA-issued certificate is live, or exceptionally with the first failure (ordering is
     * then retried in the background).
     */
    public CompletableFuture<CertificateStatus> addCertificate(String... names) {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed");
        }
        List<String> normalized = new ArrayList<>();
        List<String> errors = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String n : names == null ? new String[0] : names) {
            String name = Names.normalize(n);
            String problem = Names.problem("addCertificate", name, config.wildcardsAllowed(), config.allowIpAddresses());
            if (problem != null) {
                errors.add(problem);
            } else if (!seen.add(name)) {
                errors.add("addCertificate: '" + name + "' is given twice. Fix: name each host once");
            }
            normalized.add(name);
        }
        if (normalized.isEmpty()) {
            errors.add("addCertificate(): no names given. Fix: addCertificate(\"example.com\", \"www.example.com\")");
        }
        ManagedCertificate m;
        synchronized (membership) {
            for (String name : normalized) {
                ManagedCertificate owner = byName.get(name);
                if (owner != null) {
                    errors.add("addCertificate: '" + name + "' is already managed by certificate " + owner.id
                            + ". Fix: removeCertificate(\"" + owner.id + "\") first, or leave the name out");
                }
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException("cannot add the certificate:\n  - " + String.join("\n  - ", errors));
            }
            m = new ManagedCertificate(normalized, services, true);
            certificates.add(m);
            normalized.forEach(n -> byName.put(n, m));
            byStoreKey.put(StoreLayout.certBundle(m.id), m);
        }
        CompletableFuture<CertificateStatus> live = m.whenLive();
        if (started.get()) {
            CertEvent.Loaded loaded = m.loadStored();
            if (loaded != null) {
                services.events().emit(loaded);
            }
            m.kick();
        }
        return live;
    }

    /**
     * Stops managing the certificate that covers {@code name}: no more renewals, and its names are
     * no longer served (they get the default certificate). The stored copy is kept, so adding it
     * again later serves it at once. Returns whether a certificate was removed.
     */
    public boolean removeCertificate(String name) {
        ManagedCertificate m;
        synchronized (membership) {
            m = byName.get(Names.normalize(name));
            if (m == null) {
                return false;
            }
            certificates.remove(m);
            m.names.forEach(n -> byName.remove(n, m));
            byStoreKey.remove(StoreLayout.certBundle(m.id), m);
            if (!certificates.isEmpty()) {
                services.keyManager().setDefault(certificates.get(0).id);
            }
        }
        m.stop(new IllegalStateException("certificate " + m.id + " was removed"));
        try {
            if (!m.awaitIdle(Duration.ofSeconds(10))) {
                LOG.warn("autocert4j: certificate {} was removed while an order was still running; it stops at its next step", m.id);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        services.keyManager().remove(m.id, m.names);
        LOG.info("autocert4j: stopped managing certificate {} {}", m.id, m.names);
        return true;
    }

    /** One status per managed certificate, in the order they were added. */
    public List<CertificateStatus> status() {
        java.time.Instant now = services.now();
        return certificates.stream().map(m -> m.status(now)).toList();
    }

    /** The status of the managed certificate covering {@code name}. */
    public Optional<CertificateStatus> status(String name) {
        ManagedCertificate m = byName.get(Names.normalize(name));
        return m == null ? Optional.empty() : Optional.of(m.status(services.now()));
    }

    /**
     * Stops the background work: pending {@code renewNow()} and {@code addCertificate()} futures
     * fail, an order in progress is interrupted. Certificates keep being served by TLS listeners
     * already set up.
     */
    @Override
    public void close() {
        closed = true;
        IllegalStateException why = new IllegalStateException("this AutoCert was closed");
        certificates.forEach(m -> m.stop(why));
        for (AutoCloseable w : watches) {
            try {
                w.close();
            } catch (Exception e) {
                LOG.debug("autocert4j: closing the store watch failed: {}", e.toString());
            }
        }
        http01.close();
        if (ownsExecutor) {
            services.executor().shutdownNow();
            try {
                services.executor().awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "AutoCert" + certificates.stream().map(m -> m.names).toList();
    }

    /** The state machine of the certificate covering {@code name}, for tests in this package. */
    ManagedCertificate managed(String name) {
        return byName.get(Names.normalize(name));
    }

    /**
     * Peers sharing the store renew too: adopt their certificates as soon as the store says so.
     * A store that is down at start-up is asked again later (1 min, doubling to 1 h); meanwhile
     * peers' renewals are adopted at the next check.
     */
    private void watchStore(Duration retryIn) {
        if (closed) {
            return;
        }
        try {
            config.store().watch(StoreLayout.certsPrefix(), this::storeChanged).ifPresent(watches::add);
        } catch (java.io.IOException | RuntimeException e) {
            Duration next = retryIn.multipliedBy(2).compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : retryIn.multipliedBy(2);
            LOG.warn("autocert4j: cannot watch the store for renewals by other servers ({}); they are adopted at the next check, "
                    + "and watching is tried again in {}", LogSafe.text(e.toString()), retryIn);
            try {
                services.executor().schedule(() -> watchStore(next), retryIn.toMillis(), TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.RejectedExecutionException rejected) {
                LOG.debug("autocert4j: executor refused the watch retry: {}", rejected.toString());
            }
        }
    }

    private void storeChanged(String key) {
        if (closed) {
            return;
        }
        if (key.equals(StoreLayout.certsPrefix())) {
            certificates.forEach(ManagedCertificate::peerChanged); // the channel was lost: look at everything
            return;
        }
        ManagedCertificate m = byStoreKey.get(key);
        if (m != null) {
            m.peerChanged();
        }
    }
}
