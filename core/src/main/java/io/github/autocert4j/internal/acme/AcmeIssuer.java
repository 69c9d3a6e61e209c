package io.github.autocert4j.internal.acme;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Names;

import java.net.InetAddress;
import java.net.URI;
import java.net.URL;
import java.net.UnknownHostException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;

import org.shredzone.acme4j.Identifier;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Metadata;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.OrderBuilder;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Issuer} for one ACME CA (RFC 8555) and one account there: logs in (creating the
 * account only when the store has none), places orders, answers their challenges through the
 * configured solvers, polls fast, finalizes with the caller's CSR, and turns every failure into an
 * {@link IssuanceException} that says what happened and what to do. The only class (with
 * {@link AcmeHttpClient}) that sees acme4j types.
 *
 * <p>Each order gets its own acme4j {@code Session} (sharing one HTTP client per CA), so the
 * {@code Retry-After} that {@link AcmeHttpClient} records belongs to that order alone, whatever
 * thread runs it.
 */
public final class AcmeIssuer implements Issuer {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class);
    /** How long a challenge may carry an error without a retry or a change of status: {@link Authorizations#ERROR_GRACE}. */
    public static final Duration ERROR_GRACE = Authorizations.ERROR_GRACE;
    private final URI directory;
    private final String id;
    private final CertStore store;
    private final StoreLayout layout;
    private final String email;
    private final Duration httpTimeout;
    private final List<ChallengeSolver> solvers;
    private final List<String> challengeTypes;
    private final String eabKeyId;
    private final String eabHmacKey;   // never logged
    private final String preferredChain;
    private final Clock clock;
    private final Object accountMonitor = new Object();
    private final AcmeFailures failures;
    private final AcmeAccount accounts;
    private final Authorizations authorizations;
    private final CaHealth health;
    private final CaHttpClient http;
    private final DirectoryPrefetch prefetch = new DirectoryPrefetch();
    private Session infoSession;        // for ARI and metadata; guarded by accountMonitor
    private long infoSessionNanos;      // when infoSession was made: it (and its directory) is renewed daily

    /** How long the ARI session keeps its directory (fetched once per session) before a new session reads it again. */
    private static final long INFO_SESSION_NANOS = Duration.ofDays(1).toNanos();

    /**
     * @param ca the CA and its own settings (EAB, preferred chain); its trust file is already read into {@code trust}
     * @param trust the SSL context for the CA's API, or null for the JDK's default trust
     * @param solvers every challenge solver, the first of a type answering that type
     * @param challengeTypes the challenge types to use, most preferred first; each has a solver
     */
    public AcmeIssuer(AcmeCa ca, SSLContext trust, CertStore store, String email, Duration httpTimeout, List<ChallengeSolver> solvers,
               List<String> challengeTypes) {
        this(ca, trust, store, email, httpTimeout, solvers, challengeTypes, Clock.systemUTC());
    }

    /** @param clock the manager's clock: when a CA that did not answer is asked first again */
    public AcmeIssuer(AcmeCa ca, SSLContext trust, CertStore store, String email, Duration httpTimeout, List<ChallengeSolver> solvers,
               List<String> challengeTypes, Clock clock) {
        this.clock = clock;
        this.directory = ca.directory();
        this.id = StoreLayout.caId(directory);
        this.http = new CaHttpClient(trust, httpTimeout);
        this.store = store;
        this.layout = new StoreLayout(directory);
        this.email = email;
        this.httpTimeout = httpTimeout;
        this.solvers = List.copyOf(solvers);
        this.challengeTypes = List.copyOf(challengeTypes);
        this.eabKeyId = ca.eabKeyId();
        this.eabHmacKey = ca.eabHmacKey();
        this.preferredChain = ca.preferredChain();
        this.failures = new AcmeFailures(directory);
        this.accounts = new AcmeAccount(ca, store, new StoreLayout(directory), email, clock, accountMonitor, failures);
        this.authorizations = new Authorizations(directory, this.solvers, this.challengeTypes);
        this.health = new CaHealth(directory, httpTimeout, clock);
    }

    /**
     * When this CA, having not answered recently, is asked first again; null if it is not resting.
     * See {@link CaHealth#restingUntil}.
     */
    public Instant restingUntil(Instant now) {
        return health.restingUntil(now);
    }

    /** Turns any failure into an IssuanceException naming what failed and the fix: {@link AcmeFailures#classify}. */
    public IssuanceException classify(Exception e, Instant askedRetry, String step) {
        return failures.classify(e, askedRetry, step);
    }

    @Override
    public String id() {
        return id;
    }

    public URI directory() {
        return directory;
    }

    @Override
    public Result issue(Request request) throws IssuanceException, InterruptedException {
        AtomicReference<Instant> retryAfter = new AtomicReference<>();
        AtomicBoolean committed = new AtomicBoolean(); // finalization asked for: see below
        Session session = newSession(retryAfter, committed::get);
        long deadline = System.nanoTime() + request.timeout().toNanos();
        String step = "checking the challenge solvers before ordering";
        try {
            authorizations.preflight(request.names());
            step = "fetching the directory " + directory;
            Metadata meta = session.getMetadata();
            String profile = chooseProfile(meta, request.profile(), request.profileRequired());
            step = "logging in to the ACME account";
            Login login = accounts.login(session);
            X509Certificate replaces = request.replaces() != null
                    && session.resourceUrlOptional(Resource.RENEWAL_INFO).isPresent() ? request.replaces() : null;
            step = "placing the order";
            Order order;
            try {
                order = placeOrder(login, request.names(), profile, replaces, retryAfter);
            } catch (AcmeException e) {
                Login again = accounts.recoverAccount(session, login, e, retryAfter.get());
                if (again == null) {
                    throw e;
                }
                login = again;
                step = "placing the order with the account registered again";
                order = placeOrder(login, request.names(), profile, replaces, retryAfter);
            }
            step = "validating " + request.names();
            authorizations.authorize(order, deadline);
            step = "finalizing the order";
            Status ready = Authorizations.poll("order", order::fetch, order::getStatus, Set.of(Status.READY, Status.VALID, Status.INVALID),
                    deadline, false);
            if (ready == Status.INVALID) {
                throw failures.refusal("the CA " + directory + " marked the order invalid", order.getError().orElse(null));
            }
            // From the finalization request on, the CA may sign: a certificate it signed counts against its duplicate limit
            // (Let's Encrypt: 5 a week), and lost to an interrupt (close(), a removal) the next start would order it again.
            // So this order's remaining requests and waits go on through interrupts (each bounded by its timeout, the polls
            // by the order's deadline); the caller stores what it returns and, stopped, does not take it live.
            if (ready == Status.READY && Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("stopped before finalizing the order: nothing was signed");
            }
            committed.set(true);
            http.hold(); // until this order ends: closeClient() waits for it
            if (ready == Status.READY) {
                order.execute(request.csr());
            }
            Status done = Authorizations.poll("finalization", order::fetch, order::getStatus, Set.of(Status.VALID, Status.INVALID),
                    deadline, true, true);
            if (done != Status.VALID) {
                throw failures.refusal("the CA " + directory + " failed to finalize the order", order.getError().orElse(null));
            }
            step = "downloading the certificate";
            List<X509Certificate> chain = PreferredChain.choose(order.getCertificate(), preferredChain, id);
            health.answered();
            return new Result(chain, reportedProfile(order, profile));
        } catch (IssuanceException e) {
            health.answered(); // a refusal or a failed validation: the CA answers
            throw namingTheCa(e);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (committed.get()) {
                LOG.warn("autocert4j: the CA {} may have signed a certificate for {} that was not obtained ({}: {}); the next order "
                        + "asks for a new one", directory, request.names(), step, LogSafe.text(String.valueOf(e.getMessage())));
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("interrupted while " + step);
            }
            Instant asked = retryAfter.get();
            IssuanceException failure = namingTheCa(failures.classify(e, asked, step));
            health.noteFailure(e, asked);
            throw failure;
        } finally {
            if (committed.get()) {
                http.release();
            }
        }
    }

    /** Makes sure the message names this CA's directory: every failure of the order flow says where it happened. */
    private IssuanceException namingTheCa(IssuanceException e) {
        if (e.getMessage() != null && e.getMessage().contains(directory.toString())) {
            return e;
        }
        return new IssuanceException("at the CA " + directory + ": " + e.getMessage(), e.permanent(), e.retryAfter().orElse(null),
                e.problemType().orElse(null), e.detail().orElse(null), e.getCause());
    }

    @Override
    public Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException {
        Instant resting = health.restingUntil(clock.instant());
        if (resting != null) {
            throw IssuanceException.transientFailure("the CA " + directory + " is not asked for renewal information (ARI) before "
                    + resting + ": it did not answer recently. Fix: none needed, it is asked again then", null);
        }
        try {
            synchronized (accountMonitor) {
                if (infoSession == null || System.nanoTime() - infoSessionNanos > INFO_SESSION_NANOS) {
                    infoSession = newSession(new AtomicReference<>());
                    infoSessionNanos = System.nanoTime();
                }
                if (infoSession.resourceUrlOptional(Resource.RENEWAL_INFO).isEmpty()) {
                    return Optional.empty();
                }
                RenewalInfo info = accounts.login(infoSession).bindRenewalInfo(certificate);
                Optional<Instant> retryAfter = info.fetch();
                return Optional.of(new Window(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(),
                        info.getExplanation().map(URL::toExternalForm).map(LogSafe::text).orElse(null), retryAfter.orElse(null)));
            }
        } catch (AcmeNotSupportedException e) {
            return Optional.empty();
        } catch (Exception e) {
            health.noteFailure(e, null);
            throw failures.classify(e, null, "fetching the renewal information (ARI)");
        }
    }

    private Session newSession(AtomicReference<Instant> retryAfter) {
        return newSession(retryAfter, () -> false);
    }

    private Session newSession(AtomicReference<Instant> retryAfter, BooleanSupplier committed) {
        Session session = new Session(directory, new AcmeProvider(http::get, httpTimeout, retryAfter, prefetch, committed));
        session.networkSettings().setTimeout(httpTimeout);
        return session;
    }

    /**
     * Sets up the HTTP client and its TLS context now: {@link AcmePreparation} calls this on a thread
     * of its own from {@code build()}, so that the first order finds them ready instead of paying for them before its
     * first request (issue 23). A failure is thrown to that thread, which leaves it to the first request to report
     * (nothing is kept: that request makes the client again and fails the same way).
     */
    void prepareClient() {
        http.get().prepare();
    }

    /**
     * Reserves the directory of the order about to be placed for a fetch on a thread of its own ({@link DirectoryPrefetch}):
     * {@code start()} calls this before the start-up load, then the result with true if a certificate is to be ordered
     * (the client's set-up, the TLS handshake and the directory request then overlap the order's key generation, issue
     * 23), else with false. Null if nothing was reserved.
     */
    public Consumer<Boolean> reserveDirectoryPrefetch() {
        AtomicReference<Instant> retryAfter = new AtomicReference<>();
        return prefetch.reserve(directory, retryAfter, () -> {
            AcmeProvider provider = new AcmeProvider(http::get, httpTimeout, retryAfter, null);
            Session session = new Session(directory, provider);
            session.networkSettings().setTimeout(httpTimeout);
            return provider.fetch(session, directory);
        }, json -> DirectoryPrefetch.headNonce(new AcmeHttpClient(http.get(), httpTimeout, new AtomicReference<>()),
                json.get("newNonce").asURL(), httpTimeout));
    }

    /**
     * The end of {@code AutoCert.close()}: this CA's HTTP client is let go ({@link CaHttpClient#close()}), once no order past
     * its finalization request uses it ({@link CaHttpClient#hold()}).
     */
    public void closeClient() {
        http.close();
    }

    /**
     * Revocation (RFC 8555 §7.6, signed by the account or by the certificate's key), key rollover and deactivation of
     * this CA's account: {@link AccountLifecycle}; the one place the ACME revocation call lives (CLI, {@code StoreAdmin}).
     */
    public AccountLifecycle account() {
        return new AccountLifecycle(directory, store, accounts, accountMonitor, () -> newSession(new AtomicReference<>()), clock);
    }

    private String chooseProfile(Metadata meta, String wanted, boolean required) throws IssuanceException {
        if (wanted == null) {
            return null;
        }
        Set<String> offered = meta.isProfileAllowed() ? meta.getProfiles() : Set.of();
        if (offered.contains(wanted)) {
            return wanted;
        }
        if (required) {
            throw IssuanceException.permanentFailure("the CA " + directory + " does not offer the required profile '" + wanted
                    + "' (it offers " + offered + "). Fix: choose one of those in profile(), or drop requireProfile(true)");
        }
        LOG.warn("autocert4j: the CA {} does not offer profile '{}' (it offers {}); ordering with the CA's default profile", id, wanted, offered);
        return null;
    }

    private static String reportedProfile(Order order, String asked) {
        try {
            return order.getProfile();
        } catch (RuntimeException e) {
            return asked;
        }
    }

    /**
     * Places the order. A refusal that is about {@code replaces} itself (already replaced, unknown
     * to the CA) is answered by ordering once more without it; any other refusal, and any refusal
     * that asks us to wait, is reported as it is: a CA outage must not cost two orders per attempt.
     */
    private Order placeOrder(Login login, List<String> names, String profile, X509Certificate replaces,
                             AtomicReference<Instant> retryAfter) throws AcmeException {
        try {
            return newOrder(login, names, profile, replaces);
        } catch (AcmeServerException e) {
            if (replaces == null || e instanceof AcmeRateLimitedException || retryAfter.get() != null || !AcmeFailures.aboutReplaces(e.getProblem())) {
                throw e;
            }
            LOG.info("autocert4j: the CA refused the order's 'replaces' ({}); ordering again without it", AcmeFailures.describe(e.getProblem()));
            return newOrder(login, names, profile, null);
        }
    }

    private static Order newOrder(Login login, List<String> names, String profile, X509Certificate replaces) throws AcmeException {
        List<Identifier> identifiers = new ArrayList<>();
        for (String name : names) {
            identifiers.add(Names.isIpAddress(name) ? Identifier.ip(ipLiteral(name)) : Identifier.dns(name));
        }
        OrderBuilder builder = login.newOrder().identifiers(identifiers);
        if (profile != null) {
            builder.profile(profile);
        }
        if (replaces != null) {
            builder.replaces(replaces);
        }
        return builder.create();
    }

    private static InetAddress ipLiteral(String name) {
        try {
            return InetAddress.getByName(name); // a literal: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + name, e);
        }
    }

    /** The common name (CN) in {@code principal}, or null: {@link PreferredChain#commonName}. */
    public static String commonName(javax.security.auth.x500.X500Principal principal) {
        return PreferredChain.commonName(principal);
    }

    @Override
    public String toString() {
        return "AcmeIssuer[" + directory + "]";
    }
}
