package io.github.autocert4j;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;

import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.shredzone.acme4j.Metadata;
import org.shredzone.acme4j.toolbox.JSON;
import org.shredzone.acme4j.toolbox.JSONBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Obtains, stores, renews and serves publicly trusted certificates inside a JVM server.
 *
 * <p>Build one, hand its key material to the host's HTTPS listener and its {@link #http01()}
 * responder to the host's plain-HTTP listener (the Netty and Servlet adapters do both), then
 * {@link #start()} it. The TLS listener works from the first second: a valid stored certificate
 * is served at once, otherwise a self-signed fallback until the CA has issued one. Renewals
 * happen in the background and take effect for new connections without a restart.
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

    private final List<Managed> managed;
    private final Map<String, Managed> byName;
    private final LiveKeyManager keyManager;
    private final Http01Responder http01;
    private final AcmeClient acme;
    private final CertStore store;
    private final StoreLayout layout;
    private final KeyType keyType;
    private final String profile;
    private final boolean requireProfile;
    private final RenewalPolicy policy;
    private final CertEventListener listener;
    private final ScheduledExecutorService executor;
    private final boolean ownsExecutor;
    private final Clock clock;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;
    private volatile SSLContext sslContext;

    private AutoCert(Builder b, SSLContext acmeTrust, List<ChallengeSolver> solvers) {
        this.clock = b.clock;
        this.store = b.store;
        this.layout = new StoreLayout(b.directory);
        this.keyType = b.keyType;
        this.profile = b.profile;
        this.requireProfile = b.requireProfile;
        this.policy = b.policy;
        this.listener = b.listener;
        this.http01 = b.http01;
        this.managed = new ArrayList<>();
        Map<String, Managed> names = new LinkedHashMap<>();
        for (List<String> cert : b.certificates) {
            Managed m = new Managed(cert.get(0), cert);
            managed.add(m);
            cert.forEach(n -> names.put(n, m));
        }
        this.byName = Collections.unmodifiableMap(names);
        this.keyManager = new LiveKeyManager(managed.get(0).id, SelfSigned.create(managed.get(0).names, clock.instant()));
        this.acme = new AcmeClient(b.directory, acmeTrust, store, layout, b.email, policy.httpTimeout(), solvers);
        if (b.executor != null) {
            this.executor = b.executor;
            this.ownsExecutor = false;
        } else {
            this.executor = Executors.newScheduledThreadPool(1, r -> {
                Thread t = new Thread(r, "autocert4j-renewal");
                t.setDaemon(true);
                return t;
            });
            this.ownsExecutor = true;
        }
    }

    /** Starts configuring a manager. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Serves every valid stored certificate at once (no CA contact), then schedules the first
     * check of each certificate in the background: missing or due certificates are ordered.
     * Returns without waiting for the CA. Calling it again does nothing.
     */
    public AutoCert start() {
        if (closed) {
            throw new IllegalStateException("this AutoCert is closed; build a new one");
        }
        if (!started.compareAndSet(false, true)) {
            return this;
        }
        // Many certificates load in parallel (file reads and parsing dominate); a handful, in order.
        (managed.size() > 64 ? managed.parallelStream() : managed.stream()).forEach(this::loadStored);
        if (managed.size() > MAX_PER_CERTIFICATE_LOG_LINES) {
            long live = managed.stream().filter(Managed::isLive).count();
            LOG.info("autocert4j: serving {} of {} certificates from the store", live, managed.size());
        }
        for (Managed m : managed) {
            schedule(m, clock.instant());
        }
        return this;
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
        return keyManager;
    }

    /**
     * The certificate a handshake with SNI {@code serverName} (null: no SNI) is served right now:
     * exact name, then wildcard, then the first configured certificate, then the self-signed fallback.
     */
    public ServedCertificate servedCertificate(String serverName) {
        LiveKeyManager.Entry e = keyManager.select(serverName);
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
                        c.init(new KeyManager[] {keyManager}, null, null);
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
     * the failure (the old certificate then stays live). Concurrent calls share one order.
     */
    public CompletableFuture<CertificateStatus> renewNow(String name) {
        Managed m = byName.get(normalize(name));
        if (m == null) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("no managed certificate covers '" + name + "'; managed names: " + byName.keySet()));
        }
        if (closed) {
            return CompletableFuture.failedFuture(new IllegalStateException("this AutoCert is closed"));
        }
        synchronized (m) {
            if (m.inFlight != null && !m.inFlight.isDone()) {
                return m.inFlight;
            }
            CompletableFuture<CertificateStatus> f = new CompletableFuture<>();
            m.inFlight = f;
            executor.execute(() -> {
                try {
                    attempt(m, true);
                    f.complete(m.status(clock.instant()));
                } catch (Throwable t) {
                    f.completeExceptionally(t);
                }
            });
            return f;
        }
    }

    /** One status per managed certificate, in the order they were configured. */
    public List<CertificateStatus> status() {
        Instant now = clock.instant();
        return managed.stream().map(m -> m.status(now)).toList();
    }

    /** The status of the managed certificate covering {@code name}. */
    public Optional<CertificateStatus> status(String name) {
        Managed m = byName.get(normalize(name));
        return m == null ? Optional.empty() : Optional.of(m.status(clock.instant()));
    }

    /** Stops the background work. Certificates keep being served by TLS listeners already set up. */
    @Override
    public void close() {
        closed = true;
        for (Managed m : managed) {
            synchronized (m) {
                if (m.scheduled != null) {
                    m.scheduled.cancel(false);
                }
            }
        }
        if (ownsExecutor) {
            executor.shutdownNow();
            try {
                executor.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public String toString() {
        return "AutoCert" + managed.stream().map(m -> m.names).toList();
    }

    // ---------------------------------------------------------------- internals

    private void loadStored(Managed m) {
        try {
            Optional<byte[]> pem = store.load(layout.certBundle(m.id));
            if (pem.isEmpty()) {
                return;
            }
            CertBundle bundle = Pem.decodeBundle(pem.get());
            Instant now = clock.instant();
            try {
                ChainVerifier.verifyUsable(bundle, m.names, now);
            } catch (ChainVerifier.VerificationException namesChanged) {
                // Names were added to the configuration: keep serving the stored certificate for
                // the names it does cover while a new one is ordered at the first check.
                ChainVerifier.verifyUsable(bundle, bundle.dnsNames(), now);
                synchronized (m) {
                    m.reorder = true;
                }
                LOG.info("autocert4j: stored certificate {} does not cover every configured name ({}); serving it until a new one is issued",
                        m.id, namesChanged.getMessage());
            }
            String storedProfile = storedProfile(m);
            goLive(m, bundle, storedProfile);
            if (managed.size() <= MAX_PER_CERTIFICATE_LOG_LINES) {
                LOG.info("autocert4j: serving stored certificate {} (serial {}, expires {})", m.id, bundle.serial().toString(16), bundle.notAfter());
            } else {
                LOG.debug("autocert4j: serving stored certificate {} (serial {}, expires {})", m.id, bundle.serial().toString(16), bundle.notAfter());
            }
            emit(new CertEvent.Loaded(m.id, now, bundle.serial(), bundle.notAfter()));
        } catch (ChainVerifier.VerificationException e) {
            LOG.info("autocert4j: stored certificate {} is not usable ({}); a new one will be ordered", m.id, e.getMessage());
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: cannot read stored certificate {} ({}); a new one will be ordered", m.id, e.toString());
        }
    }

    /** The profile recorded with the stored certificate, or null. */
    private String storedProfile(Managed m) throws IOException {
        Optional<byte[]> meta = store.load(layout.certMeta(m.id));
        return meta.map(bytes -> JSON.parse(new String(bytes, StandardCharsets.UTF_8)))
                .flatMap(json -> json.get("profile").optional().map(v -> v.asString()))
                .orElse(null);
    }

    private void goLive(Managed m, CertBundle bundle, String usedProfile) {
        keyManager.install(m.id, m.names, bundle);
        synchronized (m) {
            m.live = bundle;
            m.liveProfile = usedProfile;
            m.ari = null;
            m.ariChosen = null;
            m.ariNextFetch = null;
        }
    }

    private void schedule(Managed m, Instant when) {
        if (closed) {
            return;
        }
        synchronized (m) {
            if (m.scheduled != null) {
                m.scheduled.cancel(false);
            }
            m.nextCheck = when;
            long delay = Math.max(0, Duration.between(clock.instant(), when).toMillis());
            m.scheduled = executor.schedule(() -> check(m), delay, TimeUnit.MILLISECONDS);
        }
    }

    /** A scheduled check: refresh ARI if due, then renew if the plan says so, else look again later. */
    private void check(Managed m) {
        if (closed) {
            return;
        }
        try {
            CertBundle live;
            synchronized (m) {
                if (m.permanentFailure) {
                    return;
                }
                live = m.live;
            }
            Instant now = clock.instant();
            if (live != null && policy.useAri()) {
                refreshAri(m, live, now);
            }
            RenewalPlanner.Plan plan;
            synchronized (m) {
                plan = m.reorder ? new RenewalPlanner.Plan(true, now, "the configured names changed")
                        : RenewalPlanner.plan(live == null ? null : live.notBefore(), live == null ? null : live.notAfter(),
                                m.ariChosen, now, policy, ThreadLocalRandom.current());
            }
            if (!plan.renewNow()) {
                Instant next = plan.nextCheck();
                synchronized (m) {
                    if (m.ariNextFetch != null && m.ariNextFetch.isBefore(next)) {
                        next = m.ariNextFetch;
                    }
                }
                schedule(m, next);
                return;
            }
            LOG.info("autocert4j: renewing {}: {}", m.id, plan.reason());
            attempt(m, false);
        } catch (Exception e) {
            // attempt() has already scheduled the retry and reported the failure
            LOG.debug("autocert4j: check of {} ended with {}", m.id, e.toString());
        } catch (Throwable t) {
            LOG.error("autocert4j: unexpected error checking {}; retrying in the backoff schedule", m.id, t);
            schedule(m, RenewalPlanner.retryAt(1, null, clock.instant(), policy, ThreadLocalRandom.current()));
        }
    }

    private void refreshAri(Managed m, CertBundle live, Instant now) {
        synchronized (m) {
            if (m.ariNextFetch != null && now.isBefore(m.ariNextFetch)) {
                return;
            }
        }
        try {
            Optional<AcmeClient.AriWindow> window = acme.renewalInfo(live.leaf());
            synchronized (m) {
                if (window.isEmpty()) {
                    m.ari = null;
                    m.ariChosen = null;
                    m.ariNextFetch = now.plus(policy.checkInterval());
                    return;
                }
                AcmeClient.AriWindow w = window.get();
                if (m.ari == null || !m.ari.start().equals(w.start()) || !m.ari.end().equals(w.end())) {
                    m.ariChosen = RenewalPlanner.chooseInWindow(w.start(), w.end(), now, ThreadLocalRandom.current());
                    LOG.info("autocert4j: {} ARI window {} .. {}; renewal planned at {}{}", m.id, w.start(), w.end(), m.ariChosen,
                            w.explanation() == null ? "" : " (CA explanation: " + w.explanation() + ")");
                }
                m.ari = w;
                m.ariNextFetch = RenewalPlanner.nextAriFetch(w.retryAfter(), now, policy);
            }
        } catch (Exception e) {
            // ARI is advisory: fall back to the lifetime rule and ask again later.
            LOG.debug("autocert4j: ARI fetch for {} failed: {}", m.id, e.toString());
            synchronized (m) {
                m.ariNextFetch = now.plus(RenewalPlanner.MIN_ARI_POLL.multipliedBy(10));
            }
        }
    }

    /**
     * Places one order for {@code m} and swaps the result in; on failure reports, schedules the retry
     * and rethrows. Unless {@code forced}, first adopts a certificate that another server sharing
     * the store renewed meanwhile, instead of ordering again.
     */
    private void attempt(Managed m, boolean forced) throws Exception {
        m.work.lock();
        try {
            Instant now = clock.instant();
            CertBundle previous;
            synchronized (m) {
                m.lastAttempt = now;
                m.permanentFailure = false;
                previous = m.live;
            }
            long deadline = System.nanoTime() + policy.orderTimeout().toNanos();
            try (CertStore.Lock ignored = store.lock(layout.certLock(m.id))) {
                if (!forced && adoptRenewedByPeer(m, previous)) {
                    schedule(m, clock.instant());
                    return;
                }
                String usedProfile = chooseProfile();
                X509Certificate replaces = previous != null && acme.supportsAri() ? previous.leaf() : null;
                CertBundle issued = acme.obtain(m.names, keyType.generate(), usedProfile, replaces, deadline);
                ChainVerifier.verify(issued, m.names, clock.instant());
                store.store(layout.certBundle(m.id), Pem.encodeBundle(issued.keyPair(), issued.chain()));
                storeMeta(m, usedProfile);
                goLive(m, issued, usedProfile);
                synchronized (m) {
                    m.failures = 0;
                    m.lastError = null;
                    m.reorder = false;
                }
                LOG.info("autocert4j: certificate {} is live: serial {}, expires {}{}", m.id, issued.serial().toString(16),
                        issued.notAfter(), usedProfile == null ? "" : ", profile " + usedProfile);
                emit(new CertEvent.Issued(m.id, clock.instant(), issued.serial(), issued.notAfter(), previous != null, usedProfile));
            }
            schedule(m, clock.instant());
        } catch (Exception e) {
            if (!closed) {
                onFailure(m, e);
            }
            throw e;
        } finally {
            m.work.unlock();
        }
    }

    /** Whether the store holds a newer, valid, not-yet-due certificate than {@code previous}; if so it goes live. */
    private boolean adoptRenewedByPeer(Managed m, CertBundle previous) {
        try {
            Optional<byte[]> pem = store.load(layout.certBundle(m.id));
            if (pem.isEmpty()) {
                return false;
            }
            CertBundle stored = Pem.decodeBundle(pem.get());
            if (previous != null && (stored.serial().equals(previous.serial()) || !stored.notAfter().isAfter(previous.notAfter()))) {
                return false;
            }
            Instant now = clock.instant();
            ChainVerifier.verify(stored, m.names, now);
            if (RenewalPlanner.plan(stored.notBefore(), stored.notAfter(), null, now, policy, ThreadLocalRandom.current()).renewNow()) {
                return false;
            }
            String storedProfile = storedProfile(m);
            goLive(m, stored, storedProfile);
            LOG.info("autocert4j: adopted certificate {} renewed by another server sharing the store (serial {})", m.id, stored.serial().toString(16));
            emit(new CertEvent.Loaded(m.id, now, stored.serial(), stored.notAfter()));
            return true;
        } catch (IOException | ChainVerifier.VerificationException | RuntimeException e) {
            return false;
        }
    }

    private void onFailure(Managed m, Exception e) {
        if (e instanceof InterruptedException) {
            Thread.currentThread().interrupt();
        }
        AcmeClient.IssuanceException failure = acme.classify(e);
        Instant now = clock.instant();
        Instant next;
        int failures;
        CertBundle live;
        synchronized (m) {
            failures = ++m.failures;
            m.lastError = failure.getMessage();
            m.permanentFailure = failure.permanent;
            next = failure.permanent ? null : RenewalPlanner.retryAt(failures, failure.retryAfter, now, policy, ThreadLocalRandom.current());
            live = m.live;
            m.nextCheck = next;
        }
        if (next != null) {
            schedule(m, next);
            LOG.warn("autocert4j: obtaining certificate {} failed (attempt {}), the current certificate stays live; retrying at {}: {}",
                    m.id, failures, next, failure.getMessage());
        } else {
            LOG.error("autocert4j: obtaining certificate {} failed permanently, not retrying until renewNow() or a restart: {}",
                    m.id, failure.getMessage());
        }
        emit(new CertEvent.Failed(m.id, now, failure.getMessage(), failures, next));
        if (live != null && RenewalPlanner.inWarningWindow(live.notBefore(), live.notAfter(), now, policy)) {
            Duration remaining = Duration.between(now, live.notAfter());
            LOG.warn("autocert4j: certificate {} expires at {} ({} left) and renewal keeps failing: {}", m.id, live.notAfter(),
                    remaining.isNegative() ? Duration.ZERO : remaining, failure.getMessage());
            emit(new CertEvent.ExpiryWarning(m.id, now, live.notAfter(), remaining));
        }
    }

    private String chooseProfile() throws Exception {
        if (profile == null) {
            return null;
        }
        Metadata meta = acme.metadata();
        Set<String> offered = meta.isProfileAllowed() ? meta.getProfiles() : Set.of();
        if (offered.contains(profile)) {
            return profile;
        }
        if (requireProfile) {
            throw new AcmeClient.IssuanceException("the CA does not offer the required profile '" + profile + "' (it offers "
                    + offered + "); choose one of those or drop requireProfile", true, null);
        }
        LOG.warn("autocert4j: the CA does not offer profile '{}' (it offers {}); ordering with the CA's default profile", profile, offered);
        return null;
    }

    private void storeMeta(Managed m, String usedProfile) throws IOException {
        JSONBuilder json = new JSONBuilder();
        json.put("names", m.names);
        if (usedProfile != null) {
            json.put("profile", usedProfile);
        }
        json.put("issuedAt", clock.instant());
        store.store(layout.certMeta(m.id), json.toString().getBytes(StandardCharsets.UTF_8));
    }

    private void emit(CertEvent event) {
        try {
            listener.onEvent(event);
        } catch (RuntimeException e) {
            LOG.warn("autocert4j: event listener threw on {}: {}", event.getClass().getSimpleName(), e.toString());
        }
    }

    static String normalize(String name) {
        return name == null ? null : name.trim().toLowerCase(Locale.ROOT);
    }

    /**
     * Configures an {@link AutoCert}. {@link #build()} checks everything and fails with an
     * {@link IllegalArgumentException} naming the field and the fix.
     *
     * <pre>{@code
     * AutoCert.builder()
     *     .directory(URI.create("https://127.0.0.1:14000/dir")).acmeServerTrust(Path.of("pebble-ca.pem"))
     *     .agreeToTermsOfService(true)
     *     .certificate("app.example.test")
     *     .storageDirectory(Path.of("target/certs"))
     *     .build();
     * }</pre>
     */
    public static final class Builder {
        private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
        private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
        private static final Pattern PROFILE = Pattern.compile("[A-Za-z0-9._-]{1,64}");

        private final List<List<String>> certificates = new ArrayList<>();
        private final List<ChallengeSolver> extraSolvers = new ArrayList<>();
        private final Http01Responder http01 = new Http01Responder();
        private URI directory;
        private Path acmeTrustPem;
        private String email;
        private boolean agreedToTos;
        private KeyType keyType = KeyType.EC_P256;
        private CertStore store;
        private RenewalPolicy policy = RenewalPolicy.defaults();
        private CertEventListener listener = e -> { };
        private ScheduledExecutorService executor;
        private Clock clock = Clock.systemUTC();
        private String profile;
        private boolean requireProfile;
        private final List<String> problems = new ArrayList<>();

        private Builder() {
        }

        /**
         * Adds one certificate covering {@code names} (the first is its id and the default for
         * clients that send no SNI when it is the first certificate). Call again for more certificates.
         */
        public Builder certificate(String... names) {
            if (names == null || names.length == 0) {
                problems.add("certificate(): no names given. Fix: .certificate(\"example.com\", \"www.example.com\")");
                return this;
            }
            List<String> list = new ArrayList<>();
            for (String n : names) {
                list.add(normalize(n));
            }
            certificates.add(list);
            return this;
        }

        /** The ACME directory URL, e.g. {@link AutoCert#LETS_ENCRYPT_PRODUCTION}. */
        public Builder directory(URI directory) {
            this.directory = directory;
            return this;
        }

        /** The ACME directory URL as a string. */
        public Builder directory(String directory) {
            try {
                this.directory = URI.create(directory);
            } catch (IllegalArgumentException e) {
                problems.add("directory: '" + directory + "' is not a URL. Fix: use e.g. " + LETS_ENCRYPT_STAGING);
            }
            return this;
        }

        /**
         * Trusts the CA certificates in this PEM file (in addition to nothing else) for the ACME
         * API's HTTPS. Only for a private CA such as Pebble; public CAs need no setting.
         */
        public Builder acmeServerTrust(Path pemFile) {
            this.acmeTrustPem = pemFile;
            return this;
        }

        /** Contact address for the CA's expiry and policy mail. Optional. */
        public Builder email(String email) {
            this.email = email;
            return this;
        }

        /** You must read the CA's terms of service and agree to them explicitly. */
        public Builder agreeToTermsOfService(boolean agreed) {
            this.agreedToTos = agreed;
            return this;
        }

        /** Key type of the certificates' private keys; default {@link KeyType#EC_P256}. */
        public Builder keyType(KeyType keyType) {
            this.keyType = keyType;
            return this;
        }

        /** Where to keep keys and certificates; default {@code ~/.local/share/autocert4j}. */
        public Builder store(CertStore store) {
            this.store = store;
            return this;
        }

        /** Shorthand for {@code store(FileCertStore.of(directory))}. */
        public Builder storageDirectory(Path directory) {
            this.store = directory == null ? null : FileCertStore.of(directory);
            if (directory == null) {
                problems.add("storageDirectory: null. Fix: pass a writable directory such as Path.of(\"/var/lib/myapp/certs\")");
            }
            return this;
        }

        /** When to check, renew, retry and warn; see {@link RenewalPolicy}. */
        public Builder renewal(RenewalPolicy policy) {
            this.policy = policy;
            return this;
        }

        /** Receives every {@link CertEvent}. */
        public Builder listener(CertEventListener listener) {
            this.listener = listener;
            return this;
        }

        /** Runs checks and orders on this executor instead of an own daemon thread; it is not shut down by {@link AutoCert#close()}. */
        public Builder executor(ScheduledExecutorService executor) {
            this.executor = executor;
            return this;
        }

        /** The clock for all renewal decisions (tests substitute one). */
        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /** Adds a challenge solver (e.g. dns-01 for wildcards). HTTP-01 through {@link AutoCert#http01()} is always available. */
        public Builder challengeSolver(ChallengeSolver solver) {
            if (solver == null) {
                problems.add("challengeSolver: null. Fix: pass a ChallengeSolver instance");
            } else {
                extraSolvers.add(solver);
            }
            return this;
        }

        /** ACME profile to order under (e.g. Let's Encrypt's {@code "shortlived"} or {@code "tlsserver"}). */
        public Builder profile(String profile) {
            this.profile = profile;
            return this;
        }

        /** Fail (permanently, reported) instead of falling back to the CA's default profile when the CA lacks {@link #profile}. */
        public Builder requireProfile(boolean require) {
            this.requireProfile = require;
            return this;
        }

        /** Validates the configuration and creates the manager (not started yet: call {@link AutoCert#start()}). */
        public AutoCert build() {
            List<String> errors = new ArrayList<>(problems);
            if (certificates.isEmpty()) {
                errors.add("certificate: none configured. Fix: call .certificate(\"example.com\", \"www.example.com\")");
            }
            boolean hasDns01 = extraSolvers.stream().anyMatch(s -> "dns-01".equals(s.challengeType()));
            Set<String> seen = new HashSet<>();
            for (List<String> names : certificates) {
                for (String name : names) {
                    String problem = checkName(name, hasDns01);
                    if (problem != null) {
                        errors.add(problem);
                    } else if (!seen.add(name)) {
                        errors.add("certificate: '" + name + "' is listed twice. Fix: name each host in exactly one certificate");
                    }
                }
            }
            if (directory == null) {
                errors.add("directory: not set. Fix: .directory(AutoCert.LETS_ENCRYPT_STAGING) to test, LETS_ENCRYPT_PRODUCTION to go live");
            } else if (!"https".equals(directory.getScheme()) || directory.getHost() == null) {
                errors.add("directory: '" + directory + "' is not an https URL. Fix: use the CA's https directory URL, e.g. " + LETS_ENCRYPT_STAGING);
            }
            if (!agreedToTos) {
                errors.add("agreeToTermsOfService: not agreed. Fix: read the CA's terms of service, then call .agreeToTermsOfService(true)");
            }
            if (email != null && !EMAIL.matcher(email).matches()) {
                errors.add("email: '" + email + "' is not an e-mail address. Fix: .email(\"ops@example.com\") or leave it out");
            }
            if (keyType == null) {
                errors.add("keyType: null. Fix: .keyType(KeyType.EC_P256)");
            }
            if (listener == null) {
                errors.add("listener: null. Fix: pass an event listener or leave it out");
            }
            if (clock == null) {
                errors.add("clock: null. Fix: leave it out to use the system clock");
            }
            if (profile != null && !PROFILE.matcher(profile).matches()) {
                errors.add("profile: '" + profile + "' is not a profile name. Fix: use a name from the CA's directory meta.profiles, e.g. \"shortlived\"");
            }
            if (requireProfile && profile == null) {
                errors.add("requireProfile: set without a profile. Fix: also call .profile(\"shortlived\") or drop requireProfile");
            }
            if (policy == null) {
                errors.add("renewal: null. Fix: leave it out or pass RenewalPolicy.defaults()");
            } else {
                try {
                    policy.validate();
                } catch (IllegalArgumentException e) {
                    errors.add(e.getMessage());
                }
            }
            SSLContext trust = null;
            if (acmeTrustPem != null) {
                try {
                    trust = trustFrom(acmeTrustPem);
                } catch (IOException | GeneralSecurityException | RuntimeException e) {
                    errors.add("acmeServerTrust: cannot use " + acmeTrustPem + " (" + e.getMessage() + "). Fix: pass a readable PEM file with the CA certificate(s) of the ACME server");
                }
            }
            if (store == null && errors.isEmpty()) {
                store = FileCertStore.of(Path.of(System.getProperty("user.home"), ".local", "share", "autocert4j"));
            }
            if (store != null) {
                try {
                    store.checkAccess();
                } catch (IOException | RuntimeException e) {
                    errors.add("store: " + store + " cannot be written (" + e.getMessage() + "). Fix: point storageDirectory() at a directory this process can write, or fix its permissions");
                }
            }
            if (!errors.isEmpty()) {
                throw new IllegalArgumentException("invalid autocert4j configuration:\n  - " + String.join("\n  - ", errors));
            }
            ensureBouncyCastle();
            List<ChallengeSolver> solvers = new ArrayList<>();
            solvers.add(http01);
            solvers.addAll(extraSolvers);
            return new AutoCert(this, trust, solvers);
        }

        private static String checkName(String name, boolean hasDns01) {
            if (name == null || name.isEmpty()) {
                return "certificate: empty name. Fix: use a fully qualified DNS name such as \"example.com\"";
            }
            String host = name;
            if (name.startsWith("*.")) {
                if (!hasDns01) {
                    return "certificate: '" + name + "' is a wildcard, which CAs validate only by DNS-01. Fix: add .challengeSolver(yourDns01Solver) or list the host names instead";
                }
                host = name.substring(2);
            }
            if (host.length() > 253 || !host.contains(".") || host.endsWith(".")) {
                return "certificate: '" + name + "' is not a fully qualified DNS name. Fix: use a public name such as \"app.example.com\" (no IP addresses, no trailing dot)";
            }
            for (String label : host.split("\\.", -1)) {
                if (!LABEL.matcher(label).matches()) {
                    return "certificate: '" + name + "' has an invalid label '" + label + "'. Fix: letters, digits and inner hyphens only, 1-63 characters per label"
                            + (label.contains("*") ? "; a wildcard may only be the whole leftmost label (*.example.com)" : "");
                }
            }
            if (host.chars().allMatch(c -> Character.isDigit(c) || c == '.')) {
                return "certificate: '" + name + "' is an IP address; autocert4j orders DNS names only. Fix: use a DNS name that points at this server";
            }
            return null;
        }

        private static SSLContext trustFrom(Path pem) throws IOException, GeneralSecurityException {
            List<X509Certificate> certs = Pem.decodeCertificates(Files.readAllBytes(pem));
            if (certs.isEmpty()) {
                throw new IOException("no certificate in the file");
            }
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            for (int i = 0; i < certs.size(); i++) {
                ks.setCertificateEntry("acme-ca-" + i, certs.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        }

        /** acme4j's key and CSR code needs BouncyCastle registered; added once, at the end of the provider list. */
        private static void ensureBouncyCastle() {
            if (Security.getProvider(BouncyCastleProvider.PROVIDER_NAME) == null) {
                Provider bc = new BouncyCastleProvider();
                Security.addProvider(bc);
            }
        }
    }
}
