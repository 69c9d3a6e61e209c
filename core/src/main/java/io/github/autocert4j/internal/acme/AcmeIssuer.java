package io.github.autocert4j.internal.acme;

import io.github.autocert4j.AcmeCa;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertStore;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.URI;
import java.net.URL;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.CertPathBuilderException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLHandshakeException;

import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Identifier;
import org.shredzone.acme4j.Login;
import org.shredzone.acme4j.Metadata;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.OrderBuilder;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.RenewalInfo;
import org.shredzone.acme4j.Session;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.TokenChallenge;
import org.shredzone.acme4j.connector.NetworkSettings;
import org.shredzone.acme4j.connector.Resource;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.shredzone.acme4j.toolbox.JSON;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Issuer} for one ACME CA (RFC 8555) and one account there: logs in (creating the
 * account only when the store has none), places orders, answers their challenges through the
 * configured solvers, polls fast, finalizes with the caller's CSR, and turns every failure into an
 * {@link IssuanceException} that says what happened and what to do. The only class (with
 * {@link AcmeHttpClient}) that sees acme4j types.
 *
 * <p>Each order gets its own acme4j {@code Session} (sharing one JDK HTTP client), so the
 * {@code Retry-After} that {@link AcmeHttpClient} records belongs to that order alone, whatever
 * thread runs it.
 */
public final class AcmeIssuer implements Issuer {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class);
    private static final Duration FIRST_POLL = Duration.ofMillis(20);
    private static final Duration MAX_POLL = Duration.ofSeconds(2);
    private static final int MAX_POLLS = 2_000;
    /** The longest wait between two polls a CA's Retry-After can ask for (the order deadline bounds it too). */
    public static final Duration MAX_POLL_RETRY_AFTER = Duration.ofSeconds(60);
    /**
     * How long a challenge may carry an error, with neither a Retry-After (RFC 8555 §8.2: a CA that
     * validates again says when) nor a change of status, before the validation counts as failed.
     * smallstep (Caddy's CA) keeps a failed challenge "pending" with its error and never retries on its own.
     */
    public static final Duration ERROR_GRACE = Duration.ofSeconds(3);
    /** The first time a CA that did not answer is asked only after the other CAs; doubled each time after, up to {@link #MAX_REST}. */
    public static final Duration FIRST_REST = Duration.ofMinutes(1);
    public static final Duration MAX_REST = Duration.ofHours(1);
    /** Answers of HTTP 5xx without Retry-After, in consecutive attempts, that make a CA rest like one that timed out. */
    public static final int SERVER_ERRORS_TO_REST = 2;
    /** The stored account key is registered again at most once per this interval (a CA that keeps losing accounts). */
    public static final Duration REREGISTRATION_INTERVAL = Duration.ofMinutes(10);
    private static final Set<String> PERMANENT_PROBLEMS = Set.of("rejectedIdentifier", "unsupportedIdentifier",
            "userActionRequired", "externalAccountRequired", "invalidContact", "unsupportedContact", "invalidProfile",
            "badSignatureAlgorithm", "caa");
    // What a refusal of "replaces" itself looks like (RFC 9773 alreadyReplaced; Pebble's "could
    // not find an order for the given certificate"; other CAs name the field or ARI).
    private static final Pattern ABOUT_REPLACES = Pattern.compile("(?i).*(replace|given certificate|renewal ?info|\\bARI\\b).*");

    private final URI directory;
    private final String id;
    private final SSLContext trust;
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
    private volatile HttpClient http;
    private Account account;            // guarded by accountMonitor
    private Session infoSession;        // for ARI and metadata; guarded by accountMonitor
    private Instant lastRegistration;   // when the key was last registered again; guarded by accountMonitor
    // Whether the CA answers: one state for every certificate of this manager (failover order, ARI).
    private final Object health = new Object();
    private Instant restingUntil;       // guarded by health
    private int rests;                  // consecutive rests without an answer in between; guarded by health
    private int serverErrors;           // consecutive attempts answered 5xx without Retry-After; guarded by health
    private long infoSessionNanos;      // when infoSession was made: it (and its directory) is renewed daily

    /** How long the ARI session keeps its directory (fetched once per session) before a new session reads it again. */
    private static final long INFO_SESSION_NANOS = Duration.ofDays(1).toNanos();

    private record Account(URL location, KeyPair keyPair) {
    }

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
        this.trust = trust;
        this.store = store;
        this.layout = new StoreLayout(directory);
        this.email = email;
        this.httpTimeout = httpTimeout;
        this.solvers = List.copyOf(solvers);
        this.challengeTypes = List.copyOf(challengeTypes);
        this.eabKeyId = ca.eabKeyId();
        this.eabHmacKey = ca.eabHmacKey();
        this.preferredChain = ca.preferredChain();
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
        Session session = newSession(retryAfter);
        long deadline = System.nanoTime() + request.timeout().toNanos();
        String step = "checking the challenge solvers before ordering";
        try {
            preflight(request.names());
            step = "fetching the directory " + directory;
            Metadata meta = session.getMetadata();
            String profile = chooseProfile(meta, request.profile(), request.profileRequired());
            step = "logging in to the ACME account";
            Login login = login(session);
            X509Certificate replaces = request.replaces() != null
                    && session.resourceUrlOptional(Resource.RENEWAL_INFO).isPresent() ? request.replaces() : null;
            step = "placing the order";
            Order order;
            try {
                order = placeOrder(login, request.names(), profile, replaces, retryAfter);
            } catch (AcmeException e) {
                Login again = recoverAccount(session, login, e, retryAfter.get());
                if (again == null) {
                    throw e;
                }
                login = again;
                step = "placing the order with the account registered again";
                order = placeOrder(login, request.names(), profile, replaces, retryAfter);
            }
            step = "validating " + request.names();
            authorize(order, deadline);
            step = "finalizing the order";
            Status ready = poll("order", order::fetch, order::getStatus, Set.of(Status.READY, Status.VALID, Status.INVALID), deadline);
            if (ready == Status.INVALID) {
                throw refusal("the CA " + directory + " marked the order invalid", order.getError().orElse(null));
            }
            if (ready == Status.READY) {
                order.execute(request.csr());
            }
            Status done = poll("finalization", order::fetch, order::getStatus, Set.of(Status.VALID, Status.INVALID), deadline);
            if (done != Status.VALID) {
                throw refusal("the CA " + directory + " failed to finalize the order", order.getError().orElse(null));
            }
            step = "downloading the certificate";
            List<X509Certificate> chain = chooseChain(order.getCertificate());
            answered();
            return new Result(chain, reportedProfile(order, profile));
        } catch (IssuanceException e) {
            answered(); // a refusal or a failed validation: the CA answers
            throw namingTheCa(e);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("interrupted while " + step);
            }
            Instant asked = retryAfter.get();
            IssuanceException failure = namingTheCa(classify(e, asked, step));
            noteFailure(e, asked);
            throw failure;
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

    // ------------------------------------------------------------------ whether the CA answers

    /**
     * When this CA, having not answered recently (a timeout, or HTTP 5xx without Retry-After in
     * consecutive attempts), is asked first again; null if it is not resting. Until then the
     * manager asks it only after the other CAs (failover costs one timeout, not one per attempt),
     * and ARI is not fetched from it.
     */
    public Instant restingUntil(Instant now) {
        synchronized (health) {
            return restingUntil != null && now.isBefore(restingUntil) ? restingUntil : null;
        }
    }

    /** The CA answered (an issued certificate, a refusal, a failed validation): it is asked first again. */
    private void answered() {
        boolean wasResting;
        synchronized (health) {
            wasResting = rests > 0;
            rests = 0;
            serverErrors = 0;
            restingUntil = null;
        }
        if (wasResting) {
            LOG.info("autocert4j: the CA {} answers again; it is asked in its configured order", directory);
        }
    }

    /** Records a failure that was not a refusal: the CA's silence or repeated server errors make it rest. */
    private void noteFailure(Exception e, Instant askedRetry) {
        String why = null;
        Instant now = clock.instant();
        Instant until = null;
        synchronized (health) {
            if (firstCause(e, AcmeHttpClient.Unanswered.class) != null) {
                why = "did not answer within httpTimeout (" + httpTimeout.toSeconds() + " s)";
            } else if (askedRetry == null && serverError(e)) {
                serverErrors++;
                if (serverErrors >= SERVER_ERRORS_TO_REST) {
                    why = "answered HTTP 5xx without Retry-After in " + serverErrors + " attempts in a row";
                }
            }
            if (why != null) {
                rests++;
                serverErrors = 0;
                Duration rest = FIRST_REST.multipliedBy(1L << Math.min(rests - 1, 12));
                restingUntil = now.plus(rest.compareTo(MAX_REST) > 0 ? MAX_REST : rest);
                until = restingUntil;
            }
        }
        if (why != null) {
            LOG.warn("autocert4j: the CA {} {}; until {} it is asked only after the other configured CAs, then first again. "
                    + "Fix: check that this host reaches the CA and the CA's status page; with a second CA (acmeCa(...)) "
                    + "certificates keep coming from it meanwhile", directory, why, until);
        }
    }

    /** An answer of HTTP 5xx: acme4j's "HTTP 5xx" for a body that is no problem document, or a problem with status 5xx. */
    public static boolean serverError(Throwable e) {
        if (e instanceof AcmeServerException se) {
            String type = se.getType().toString();
            if (type.endsWith(":serverInternal")) {
                return true;
            }
            try {
                return se.getProblem().asJSON().get("status").map(v -> v.asInt() >= 500).orElse(false);
            } catch (RuntimeException notANumber) {
                return false;
            }
        }
        return e instanceof AcmeException && String.valueOf(e.getMessage()).matches("HTTP 5\\d\\d.*");
    }

    @Override
    public Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException {
        Instant resting = restingUntil(clock.instant());
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
                RenewalInfo info = login(infoSession).bindRenewalInfo(certificate);
                Optional<Instant> retryAfter = info.fetch();
                return Optional.of(new Window(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(),
                        info.getExplanation().map(URL::toExternalForm).map(LogSafe::text).orElse(null), retryAfter.orElse(null)));
            }
        } catch (AcmeNotSupportedException e) {
            return Optional.empty();
        } catch (Exception e) {
            noteFailure(e, null);
            throw classify(e, null, "fetching the renewal information (ARI)");
        }
    }

    private Session newSession(AtomicReference<Instant> retryAfter) {
        Session session = new Session(directory, new Provider(this::httpClient, httpTimeout, retryAfter));
        session.networkSettings().setTimeout(httpTimeout);
        return session;
    }

    /** One JDK HTTP client for every session of this CA: connections and TLS sessions are reused across orders. */
    private HttpClient httpClient() {
        HttpClient c = http;
        if (c == null) {
            synchronized (this) {
                if (http == null) {
                    HttpClient.Builder b = HttpClient.newBuilder()
                            .followRedirects(HttpClient.Redirect.NORMAL)
                            .connectTimeout(httpTimeout)
                            .proxy(HttpClient.Builder.NO_PROXY);
                    if (trust != null) {
                        b.sslContext(trust);
                    }
                    http = b.build();
                }
                c = http;
            }
        }
        return c;
    }

    /**
     * Revokes {@code certificate} at this CA (RFC 8555 section 7.6): signed with the stored account of
     * this CA if the store has one (key and location), else with the certificate's own key
     * {@code certificateKey}. Registers nothing. The one place the ACME revocation call lives (the CLI's
     * {@code revoke} and {@link StoreAdmin#revoke} use it).
     *
     * @param certificateKey the certificate's key pair, used when the store holds no account for this CA; may be null
     */
    public void revoke(X509Certificate certificate, KeyPair certificateKey, org.shredzone.acme4j.RevocationReason reason)
            throws IssuanceException {
        Session session = newSession(new AtomicReference<>());
        try {
            Optional<byte[]> keyPem = store.load(layout.accountKey());
            Optional<byte[]> location = store.load(layout.accountLocation());
            if (keyPem.isPresent() && location.isPresent()) {
                Login login = session.login(URI.create(new String(location.get(), StandardCharsets.UTF_8).trim()).toURL(),
                        Pem.decodeKeyPair(keyPem.get()));
                org.shredzone.acme4j.Certificate.revoke(login, certificate, reason);
            } else if (certificateKey != null) {
                org.shredzone.acme4j.Certificate.revoke(session, certificateKey, certificate, reason);
            } else {
                throw IssuanceException.permanentFailure("no account for " + directory + " in the store and no certificate key to sign "
                        + "the revocation with. Fix: revoke from the store the certificate was issued into");
            }
        } catch (AcmeException e) {
            throw IssuanceException.permanentFailure("the CA at " + directory + " refused to revoke serial "
                    + certificate.getSerialNumber().toString(16) + ": " + LogSafe.text(e.getMessage())
                    + ". Fix: check that this is the CA that issued it and that it is not revoked already");
        } catch (IOException e) {
            throw IssuanceException.transientFailure("cannot read the account of " + directory + " from the store: "
                    + LogSafe.text(e.getMessage()), e);
        }
    }

    /** Logs in, creating the account only if the store has no account key with a known location. */
    private Login login(Session session) throws AcmeException, IOException, IssuanceException {
        synchronized (accountMonitor) {
            if (account == null) {
                account = loadOrRegister(session);
            }
            return session.login(account.location(), account.keyPair());
        }
    }

    private Account loadOrRegister(Session session) throws AcmeException, IOException, IssuanceException {
        try (CertStore.Lock ignored = store.lock(layout.accountLock())) {
            KeyPair accountKey;
            Optional<byte[]> keyPem = store.load(layout.accountKey());
            if (keyPem.isPresent()) {
                accountKey = Pem.decodeKeyPair(keyPem.get());
            } else {
                accountKey = KeyType.EC_P256.generate();
                // Saved before registering: a crash after registration must not orphan the account.
                store.store(layout.accountKey(), Pem.encodeKeyPair(accountKey));
            }
            Optional<byte[]> location = store.load(layout.accountLocation());
            if (location.isPresent()) {
                return new Account(URI.create(new String(location.get(), StandardCharsets.UTF_8).trim()).toURL(), accountKey);
            }
            Login login = register(session, accountKey);
            store.store(layout.accountLocation(), (login.getAccountLocation().toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
            LOG.info("autocert4j: ACME account ready at {}", login.getAccountLocation());
            return new Account(login.getAccountLocation(), accountKey);
        }
    }

    /** newAccount for {@code accountKey}; a key the CA already knows returns that account: never a duplicate. */
    private Login register(Session session, KeyPair accountKey) throws AcmeException, IssuanceException {
        AccountBuilder builder = new AccountBuilder().useKeyPair(accountKey).agreeToTermsOfService();
        if (email != null) {
            builder.addEmail(email);
        }
        if (eabKeyId != null) {
            builder.withKeyIdentifier(eabKeyId, new javax.crypto.spec.SecretKeySpec(AcmeCa.decodeHmacKey(eabHmacKey), "HmacSHA256"))
                    .withMacAlgorithm("HS256");
        }
        try {
            return builder.createLogin(session);
        } catch (AcmeServerException e) {
            if (bindingRefused(e)) {
                throw eabRefused(e);
            }
            throw e;
        }
    }

    /**
     * After the first account-bound request of an order (newOrder) failed with {@code failure}:
     * whether the CA lost the account, and if so the login of the account registered again; null if
     * the account is not the problem (the failure is then reported as it is).
     *
     * <p>The CA lost it when it says so ({@code accountDoesNotExist}), or when it answers HTTP 5xx
     * without Retry-After (Caddy's CA answers 500 with an empty body for an account it lost) and an
     * account lookup by key ({@code onlyReturnExisting}) finds none. The same stored key is registered
     * again: newAccount is idempotent for a key the CA still knows, so a mistaken diagnosis costs
     * nothing and never orphans or duplicates an account; a new key would leave the old account
     * behind and need a new key file written before the registration to stay crash-safe. The new
     * location replaces the stored one in one atomic store write, under the account lock (servers
     * sharing the store, and other certificates of this manager, use it instead of registering again).
     * At most one registration per {@link #REREGISTRATION_INTERVAL}, logged once with the reason.
     */
    private Login recoverAccount(Session session, Login failedLogin, AcmeException failure, Instant askedRetry)
            throws AcmeException, IOException, IssuanceException {
        String reason;
        if (failure instanceof AcmeServerException se && accountGone(se)) {
            reason = "it answered " + describe(se.getProblem());
        } else if (askedRetry == null && serverError(failure)) {
            reason = null; // decided by the lookup below
        } else {
            return null;
        }
        URL failed = failedLogin.getAccountLocation();
        synchronized (accountMonitor) {
            try (CertStore.Lock ignored = store.lock(layout.accountLock())) {
                KeyPair key = failedLogin.getKeyPair();
                Optional<byte[]> stored = store.load(layout.accountLocation());
                if (stored.isPresent()) {
                    URL now = URI.create(new String(stored.get(), StandardCharsets.UTF_8).trim()).toURL();
                    if (!now.toExternalForm().equals(failed.toExternalForm())) {
                        // Another server sharing the store (or another certificate here) registered it meanwhile.
                        account = new Account(now, key);
                        return session.login(now, key);
                    }
                }
                if (reason == null) {
                    try {
                        Login existing = new AccountBuilder().onlyExisting().useKeyPair(key).createLogin(session);
                        if (existing.getAccountLocation().toExternalForm().equals(failed.toExternalForm())) {
                            return null; // the CA knows the account: the 5xx is its own trouble
                        }
                        LOG.warn("autocert4j: the CA {} knows the ACME account key under {}, not under the stored {}; using that",
                                directory, existing.getAccountLocation(), failed);
                        storeLocation(existing.getAccountLocation(), key);
                        return existing;
                    } catch (AcmeServerException lookup) {
                        if (!accountGone(lookup)) {
                            return null;
                        }
                        reason = "it answered " + LogSafe.text(String.valueOf(failure.getMessage()))
                                + " to an order and its account lookup by key found no account";
                    } catch (AcmeException lookup) {
                        return null; // the lookup failed as well: an outage, reported as the original failure
                    }
                }
                Instant now = clock.instant();
                if (lastRegistration != null && now.isBefore(lastRegistration.plus(REREGISTRATION_INTERVAL))) {
                    throw IssuanceException.transientFailure("the CA " + directory + " does not know the ACME account " + failed
                            + " (" + reason + ") although autocert4j registered the account key again at " + lastRegistration
                            + "; it is registered again at most every " + REREGISTRATION_INTERVAL.toMinutes() + " minutes, so not "
                            + "before " + lastRegistration.plus(REREGISTRATION_INTERVAL) + ". Fix: check the CA: it keeps losing accounts "
                            + "(a database that is reset or not persisted?)", null);
                }
                lastRegistration = now;
                Login login = register(session, key);
                storeLocation(login.getAccountLocation(), key);
                boolean same = login.getAccountLocation().toExternalForm().equals(failed.toExternalForm());
                LOG.warn("autocert4j: the CA {} no longer knows the ACME account {} ({}); registered the stored account key again: {}",
                        directory, failed, reason, same ? "the CA answered with the same account URL" : "now " + login.getAccountLocation());
                return login;
            }
        }
    }

    /** Replaces the stored account location (one atomic write) and the cached account; caller holds the account lock. */
    private void storeLocation(URL location, KeyPair key) throws IOException {
        store.store(layout.accountLocation(), (location.toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
        account = new Account(location, key);
    }

    /**
     * Lets each solver check its configuration for the names it will most likely answer (the first type in
     * challengeTypes that can prove the name), before anything is sent to the CA: a wrong DNS key costs no order.
     */
    private void preflight(List<String> names) throws Exception {
        java.util.Map<ChallengeSolver, List<String>> bySolver = new java.util.IdentityHashMap<>();
        List<ChallengeSolver> order = new ArrayList<>();
        for (String name : names) {
            for (String type : challengeTypes) {
                ChallengeSolver solver = solverFor(type);
                if (solver != null && canProve(type, name)) {
                    if (!bySolver.containsKey(solver)) {
                        order.add(solver);
                    }
                    bySolver.computeIfAbsent(solver, s -> new ArrayList<>()).add(name);
                    break;
                }
            }
        }
        for (ChallengeSolver solver : order) {
            solver.preflight(List.copyOf(bySolver.get(solver)));
        }
    }

    /** Whether a CA offers {@code type} for {@code name}: DNS-01 never for IP addresses, HTTP-01 and TLS-ALPN-01 never for wildcards. */
    public static boolean canProve(String type, String name) {
        return switch (type) {
            case "dns-01" -> !Names.isIpAddress(name);
            case "http-01", "tls-alpn-01" -> !name.startsWith("*.");
            default -> true;
        };
    }

    private ChallengeSolver solverFor(String type) {
        for (ChallengeSolver s : solvers) {
            if (type.equals(s.challengeType())) {
                return s;
            }
        }
        return null;
    }

    /**
     * Whether a refused newAccount refused the external account binding: with a binding configured,
     * "unauthorized" (unknown key id, wrong HMAC key) or "malformed" (a binding it cannot parse).
     */
    private boolean bindingRefused(AcmeServerException e) {
        String type = e.getType().toString();
        return eabKeyId != null && (type.endsWith(":unauthorized") || type.endsWith(":malformed"));
    }

    /** A refused binding cannot pass on a retry: permanent, naming the fix; the key is never in the message. */
    private IssuanceException eabRefused(AcmeServerException e) {
        return new IssuanceException("the CA " + directory + " refused the external account binding while creating the ACME account: "
                + describe(e.getProblem()) + ". Fix: check the key id and HMAC key given to .externalAccountBinding(keyId, hmacKey) "
                + "(or AcmeCa.withExternalAccountBinding) against the EAB credentials in your account at the CA; they may also have "
                + "been used up or revoked", true, null, e.getType().toString(), e.getProblem().getDetail().orElse(null), e);
    }

    /**
     * The CA's default chain, or the first alternate chain whose top certificate was issued by (or
     * is) {@link #preferredChain}; the default when none matches, with a log line.
     */
    private List<X509Certificate> chooseChain(org.shredzone.acme4j.Certificate certificate) throws AcmeException {
        List<X509Certificate> main = certificate.getCertificateChain();
        if (preferredChain == null || topMatches(main, preferredChain)) {
            return main;
        }
        List<String> offered = new ArrayList<>();
        offered.add(topIssuer(main));
        for (org.shredzone.acme4j.Certificate alternate : certificate.getAlternateCertificates()) {
            List<X509Certificate> chain = alternate.getCertificateChain();
            if (topMatches(chain, preferredChain)) {
                LOG.info("autocert4j: using the CA's alternate chain to '{}' (preferredChain)", preferredChain);
                return chain;
            }
            offered.add(topIssuer(chain));
        }
        LOG.info("autocert4j: the CA {} offers no chain to '{}' (its chains end at {}); using its default chain", id,
                LogSafe.text(preferredChain), offered);
        return main;
    }

    private static boolean topMatches(List<X509Certificate> chain, String commonName) {
        X509Certificate top = chain.get(chain.size() - 1);
        return commonName.equals(commonName(top.getIssuerX500Principal())) || commonName.equals(commonName(top.getSubjectX500Principal()));
    }

    private static String topIssuer(List<X509Certificate> chain) {
        return LogSafe.text(String.valueOf(commonName(chain.get(chain.size() - 1).getIssuerX500Principal())));
    }

    public static String commonName(javax.security.auth.x500.X500Principal principal) {
        try {
            for (javax.naming.ldap.Rdn rdn : new javax.naming.ldap.LdapName(principal.getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    return String.valueOf(rdn.getValue());
                }
            }
        } catch (javax.naming.InvalidNameException e) {
            return null;
        }
        return null;
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
            if (replaces == null || e instanceof AcmeRateLimitedException || retryAfter.get() != null || !aboutReplaces(e.getProblem())) {
                throw e;
            }
            LOG.info("autocert4j: the CA refused the order's 'replaces' ({}); ordering again without it", describe(e.getProblem()));
            return newOrder(login, names, profile, null);
        }
    }

    public static boolean aboutReplaces(Problem problem) {
        String type = problem.getType().toString();
        if (type.endsWith(":alreadyReplaced")) {
            return true;
        }
        boolean refusalType = type.endsWith(":malformed") || type.endsWith(":serverInternal") || type.endsWith(":conflict");
        return refusalType && problem.getDetail().map(d -> ABOUT_REPLACES.matcher(d).matches()).orElse(false);
    }

    private static boolean accountGone(AcmeServerException e) {
        return e.getType().toString().endsWith(":accountDoesNotExist");
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

    private record Presented(Authorization auth, Challenge challenge, ChallengeSolver solver, ChallengeSolver.Challenge request) {
    }

    private void authorize(Order order, long deadline) throws Exception {
        List<Presented> presented = new ArrayList<>();
        try {
            for (Authorization auth : order.getAuthorizations()) {
                if (auth.getStatus() != Status.VALID) {
                    presented.add(present(auth));
                }
            }
            for (Presented p : presented) {
                p.challenge().trigger();
            }
            for (Presented p : presented) {
                awaitValidation(p, deadline);
            }
        } finally {
            for (Presented p : presented) {
                try {
                    p.solver().cleanUp(p.request());
                } catch (Exception e) {
                    LOG.warn("autocert4j: challenge clean-up for {} failed: {}", p.request().identifier(), LogSafe.text(e.toString()));
                }
            }
        }
    }

    /**
     * Polls the authorization (RFC 8555 §7.5.1) and reads the challenge's state from it (the
     * challenge resource itself only if the authorization leaves it out: smallstep validates again
     * on every POST to a challenge), until the authorization is valid or the CA has given up: the
     * authorization or the challenge invalid (or the authorization otherwise final), or the
     * challenge carrying an error for {@link #ERROR_GRACE} with no Retry-After and no change of
     * status (§8.2: a CA that validates again says when). Retry-After on polls is honoured, up to
     * {@link #MAX_POLL_RETRY_AFTER} and the order deadline.
     */
    private void awaitValidation(Presented p, long deadlineNanos) throws Exception {
        Authorization auth = p.auth();
        String what = "the authorization of " + p.request().identifier() + " (" + p.request().type() + ")";
        Duration delay = FIRST_POLL;
        Duration wait = FIRST_POLL;
        long errorSince = 0;
        String lastState = null;
        for (int i = 0; i < MAX_POLLS; i++) {
            if (System.nanoTime() + wait.toNanos() - deadlineNanos > 0) {
                throw new TimeoutException(what + " still " + auth.getStatus() + " when the order timeout ran out" + lastErrorText(p, auth));
            }
            sleep(wait);
            Optional<Instant> retryAfter = auth.fetch();
            Status authStatus = auth.getStatus();
            if (authStatus == Status.VALID) {
                return;
            }
            Challenge challenge = currentChallenge(p, auth);
            if (challenge == null) {
                Optional<Instant> own = p.challenge().fetch();
                retryAfter = own.isPresent() ? own : retryAfter;
                challenge = p.challenge();
            }
            Status challengeStatus = challenge.getStatus();
            Problem error = challenge.getError().orElse(null);
            if (authStatus == Status.INVALID || challengeStatus == Status.INVALID || authStatus == Status.DEACTIVATED
                    || authStatus == Status.EXPIRED || authStatus == Status.REVOKED) {
                throw validationFailed(p, error, "the CA marked the " + (challengeStatus == Status.INVALID ? "challenge" : "authorization")
                        + " " + (challengeStatus == Status.INVALID ? challengeStatus : authStatus));
            }
            String state = authStatus + "/" + challengeStatus;
            if (error == null || retryAfter.isPresent() || !state.equals(lastState)) {
                // No error, or the CA shows it is still at work (a Retry-After, a new status): the grace starts again.
                errorSince = error == null ? 0 : System.nanoTime();
            } else if (System.nanoTime() - errorSince >= ERROR_GRACE.toNanos()) {
                throw validationFailed(p, error, "the challenge kept this error for " + ERROR_GRACE.toSeconds() + " s, status "
                        + challengeStatus + ", and the CA did not say it would validate again (no Retry-After)");
            }
            lastState = state;
            wait = pollWait(retryAfter, delay);
            if (errorSince != 0 && retryAfter.isEmpty()) {
                // Look again when the grace ends, not up to one poll interval after.
                Duration graceLeft = ERROR_GRACE.minusNanos(System.nanoTime() - errorSince).plusMillis(1);
                wait = graceLeft.compareTo(wait) < 0 ? (graceLeft.isNegative() ? Duration.ZERO : graceLeft) : wait;
            }
            delay = delay.multipliedBy(2).compareTo(MAX_POLL) > 0 ? MAX_POLL : delay.multipliedBy(2);
        }
        throw new TimeoutException(what + " still " + auth.getStatus() + lastErrorText(p, auth) + " after " + MAX_POLLS + " polls");
    }

    /** The challenge being validated, as the authorization reports it now, or null if it leaves it out. */
    private static Challenge currentChallenge(Presented p, Authorization auth) {
        URL url = p.challenge().getLocation();
        for (Challenge c : auth.getChallenges()) {
            if (c.getLocation().toExternalForm().equals(url.toExternalForm())) {
                return c;
            }
        }
        return null;
    }

    private static String lastErrorText(Presented p, Authorization auth) {
        Challenge c = currentChallenge(p, auth);
        Optional<Problem> error = (c != null ? c : p.challenge()).getError();
        return error.map(e -> ", the challenge's last error: " + describe(e)).orElse("");
    }

    /** A failed validation: the CA's problem type and detail, and what to check for this challenge type. */
    private IssuanceException validationFailed(Presented p, Problem problem, String verdict) {
        String identifier = p.request().identifier();
        String type = p.request().type();
        String fix = switch (type) {
            case "http-01" -> ". Fix: make sure http://" + identifier + "/.well-known/acme-challenge/ reaches this server's http01() "
                    + "responder on port 80 from the internet (DNS records of the name, firewall, a proxy or load balancer in front)";
            case "tls-alpn-01" -> ". Fix: make sure port 443 of " + identifier + " reaches this server from the internet and that its TLS "
                    + "server answers acme-tls/1 with tlsAlpn01() (no TLS-terminating proxy in front)";
            case "dns-01" -> ". Fix: check that the TXT record _acme-challenge." + identifier.replaceFirst("^\\*\\.", "")
                    + " is published in the zone the public DNS serves for the name (delegation, the solver's zone, propagation)";
            default -> ". Fix: check that the " + type + " solver's answer reaches the CA";
        };
        String what = "the CA " + directory + " could not validate " + identifier + " by " + type + " (" + verdict + ")";
        if (problem == null) {
            return IssuanceException.transientFailure(what + ", without saying why" + fix, null);
        }
        return new IssuanceException(what + ": " + describe(problem) + fix, false, null, problem.getType().toString(),
                problem.getDetail().orElse(null), null);
    }

    /** How long to wait before the next poll: the CA's Retry-After if it gave one (at most {@link #MAX_POLL_RETRY_AFTER}), else {@code delay}. */
    public static Duration pollWait(Optional<Instant> retryAfter, Duration delay) {
        return retryAfter.map(t -> Duration.between(Instant.now(), t)).filter(d -> !d.isNegative())
                .map(d -> d.compareTo(MAX_POLL_RETRY_AFTER) > 0 ? MAX_POLL_RETRY_AFTER : d)
                .orElse(delay);
    }

    private static void sleep(Duration d) throws InterruptedException {
        Thread.sleep(d.toMillis(), (int) (d.toNanos() % 1_000_000));
    }

    private Presented present(Authorization auth) throws Exception {
        String identifier = auth.getIdentifier().getValue();
        if (auth.getStatus() != Status.PENDING) {
            throw IssuanceException.transientFailure("the CA " + directory + " returned the authorization for " + identifier + " as "
                    + auth.getStatus() + ", not pending, in a new order. Fix: none needed if it is the CA's passing fault: the next "
                    + "attempt places a new order", null);
        }
        // The first preferred type that the CA offers for this identifier and a solver answers.
        for (String type : challengeTypes) {
            ChallengeSolver solver = solverFor(type);
            Optional<Challenge> found = auth.findChallenge(type);
            if (solver != null && found.isPresent() && found.get() instanceof TokenChallenge challenge) {
                String token = challenge.getJSON().get("token").asString();
                ChallengeSolver.Challenge request = new ChallengeSolver.Challenge(type,
                        Names.normalize(identifier), token, challenge.getAuthorization());
                solver.present(request);
                return new Presented(auth, challenge, solver, request);
            }
        }
        List<String> offered = auth.getChallenges().stream().map(Challenge::getType).toList();
        throw IssuanceException.permanentFailure("no configured challenge type can prove " + identifier + ": the CA " + directory
                + " offers " + offered + ", challengeTypes() are " + challengeTypes + ". Fix: list one of the offered types in "
                + "challengeTypes(...) and give it a solver (wildcards need dns-01 with .challengeSolver(dns01Solver); IP addresses "
                + "need http-01 or tls-alpn-01)");
    }

    /** The order resource polled by {@link #poll}. */
    public interface Fetch {
        Optional<Instant> fetch() throws AcmeException;
    }

    /**
     * Polls a resource until it reaches one of {@code until}: first after 20 ms, doubling up to 2 s,
     * or exactly as long as the server's Retry-After asks; bounded by the order deadline.
     */
    public static Status poll(String what, Fetch fetch, Supplier<Status> status, Set<Status> until, long deadlineNanos)
            throws AcmeException, InterruptedException, TimeoutException {
        Duration delay = FIRST_POLL;
        Status s = status.get();
        for (int i = 0; i < MAX_POLLS; i++) {
            if (until.contains(s)) {
                return s;
            }
            Optional<Instant> retryAfter = Optional.empty();
            if (i > 0) {
                retryAfter = fetch.fetch();
                s = status.get();
                if (until.contains(s)) {
                    return s;
                }
            }
            Duration wait = pollWait(retryAfter, delay);
            if (retryAfter.isEmpty() && i > 0) {
                delay = delay.multipliedBy(2).compareTo(MAX_POLL) > 0 ? MAX_POLL : delay.multipliedBy(2);
            }
            if (System.nanoTime() + wait.toNanos() - deadlineNanos > 0) {
                throw new TimeoutException(what + " still " + s + " when the order timeout ran out");
            }
            Thread.sleep(wait.toMillis(), (int) (wait.toNanos() % 1_000_000));
        }
        throw new TimeoutException(what + " still " + s + " after " + MAX_POLLS + " polls");
    }

    public static String describe(Problem problem) {
        StringBuilder sb = new StringBuilder();
        sb.append(problem.getType());
        problem.getDetail().ifPresent(d -> sb.append(": ").append(d));
        for (Problem sub : problem.getSubProblems()) {
            sb.append(" [").append(sub.getIdentifier().map(i -> i.getValue() + ": ").orElse("")).append(describe(sub)).append(']');
        }
        return LogSafe.text(sb.toString());
    }

    private IssuanceException refusal(String what, Problem problem) {
        String fix = ". Fix: none needed if it is the CA's passing fault: the next attempt places a new order; if it persists, the "
                + "CA's detail says what it objects to";
        if (problem == null) {
            return IssuanceException.transientFailure(what + " (no detail)" + fix, null);
        }
        return new IssuanceException(what + ": " + describe(problem) + fix, false, null, problem.getType().toString(),
                problem.getDetail().orElse(null), null);
    }

    /** Turns any failure into an IssuanceException whose message says what failed, while doing what, and the fix. */
    public IssuanceException classify(Exception e, Instant askedRetry, String step) {
        if (e instanceof IssuanceException ie) {
            return ie;
        }
        if (e instanceof AcmeServerException se) {
            Problem p = se.getProblem();
            String type = p.getType().toString();
            String shortType = type.substring(type.lastIndexOf(':') + 1);
            Instant retry = se instanceof AcmeRateLimitedException rl ? rl.getRetryAfter().orElse(askedRetry) : askedRetry;
            boolean permanent = PERMANENT_PROBLEMS.contains(shortType) && retry == null;
            String verb = se instanceof AcmeRateLimitedException ? "rate limited by the CA " + directory + " while " : "the CA " + directory + " refused ";
            String fix = fixFor(shortType);
            if (fix.isEmpty()) {
                fix = se instanceof AcmeRateLimitedException
                        ? ". Fix: none needed now: autocert4j asks again " + (retry != null ? "after " + retry + ", as the CA asked" : "along the "
                        + "backoff schedule") + "; if it recurs, order less often for these names (the CA's rate limits: see the detail)"
                        : serverError(se) ? ". Fix: none needed if the CA's fault passes: retried along the backoff schedule; if it persists, "
                        + "check the CA's status page" : ". Fix: the CA's detail says what it objects to; retried along the backoff schedule";
            }
            return new IssuanceException(verb + step + ": " + describe(p) + fix, permanent, retry, type,
                    p.getDetail().orElse(null), null);
        }
        if (askedRetry != null) {
            return new IssuanceException("the CA " + directory + " is unavailable (" + rootMessage(e) + ") while " + step
                    + "; it asked to be contacted again at " + askedRetry + ". Fix: none needed: autocert4j asks again then (another "
                    + "CA configured with acmeCa(...) is asked meanwhile)", false, askedRetry, null, null, e);
        }
        if (e instanceof AcmeNotSupportedException ns) {
            return IssuanceException.permanentFailure("the CA " + directory + " does not support " + ns.getMessage() + " (while " + step
                    + "). Fix: leave out the setting that needs it, or use a CA that supports it");
        }
        if (e instanceof TimeoutException) {
            return IssuanceException.transientFailure("at the CA " + directory + ": " + e.getMessage() + " (orderTimeout). Fix: if the CA "
                    + "is only slow, raise RenewalPolicy.withOrderTimeout(...); check the CA's status page", null);
        }
        String where = directory.getHost() + (directory.getPort() > 0 ? ":" + directory.getPort() : "");
        Throwable untrusted = firstCause(e, CertPathBuilderException.class, CertificateException.class);
        Throwable handshake = firstCause(e, SSLHandshakeException.class);
        if (untrusted != null || handshake != null && String.valueOf(handshake.getMessage()).contains("PKIX")) {
            Throwable cause = untrusted != null ? untrusted : handshake;
            return IssuanceException.transientFailure("the ACME server's TLS certificate at " + where + " is not trusted ("
                    + cause.getClass().getSimpleName() + ") while " + step + ". Fix: for a private CA (Pebble, step-ca, ...) "
                    + "pass its root with acmeServerTrust(Path.of(\"ca.pem\")); public CAs need no setting", null);
        }
        Throwable connect = firstCause(e, ConnectException.class, HttpConnectTimeoutException.class);
        if (connect != null) {
            return IssuanceException.transientFailure("cannot connect to the ACME server at " + where + " ("
                    + connect.getClass().getSimpleName() + ") while " + step + ". Fix: check directory(" + directory
                    + ") and that this host can reach it (firewall, proxy)", null);
        }
        if (firstCause(e, UnknownHostException.class, UnresolvedAddressException.class) != null) {
            return IssuanceException.transientFailure("cannot resolve the ACME server " + directory.getHost() + " while " + step
                    + ". Fix: check the host name in directory(" + directory + ") and this host's DNS", null);
        }
        Throwable timeout = firstCause(e, HttpTimeoutException.class);
        if (timeout != null) {
            return IssuanceException.transientFailure("the ACME server at " + where + " did not answer in time while " + step
                    + " (" + LogSafe.text(timeout.getMessage()) + "). Fix: check that this host reaches " + directory + " (firewall, "
                    + "proxy) and the CA's status page; raise RenewalPolicy.withHttpTimeout(...) if the CA is only slow; other CAs "
                    + "configured with acmeCa(...) are asked first for a while", null);
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.startsWith("HTTP ") && step.startsWith("fetching the directory")) {
            return IssuanceException.transientFailure("the ACME directory " + directory + " answered " + LogSafe.text(msg)
                    + ". Fix: check the directory URL (Let's Encrypt: " + AutoCert.LETS_ENCRYPT_PRODUCTION + ")", null);
        }
        String fix = step.startsWith("validating")
                ? ". Fix: see the challenge solver's message (for dns-01: the DNS server and credentials given to the solver)"
                : ". Fix: none needed if it passes (retried along the backoff schedule); if it persists, check the network path to the "
                + "CA and its status page";
        return IssuanceException.transientFailure(rootMessage(e) + " while " + step + " at the CA " + directory + fix, null);
    }

    private static String fixFor(String shortType) {
        return switch (shortType) {
            case "rejectedIdentifier", "unsupportedIdentifier" -> ". Fix: remove the name, or check that it is a public name this CA will issue for";
            case "caa" -> ". Fix: add this CA to the domain's CAA records, or remove them";
            case "externalAccountRequired" -> ". Fix: this CA needs external account binding: get a key id and HMAC key from the CA and "
                    + "configure them with .externalAccountBinding(keyId, hmacKey) (or AcmeCa.withExternalAccountBinding for a further CA)";
            case "userActionRequired" -> ". Fix: visit the CA's instance URL in the detail (often new terms of service) and act there";
            case "invalidContact", "unsupportedContact" -> ". Fix: use a valid e-mail address in email(), or leave it out";
            case "badSignatureAlgorithm" -> ". Fix: choose another keyType()";
            case "accountDoesNotExist" -> ". Fix: none needed once: autocert4j registers the stored account key again; if the CA keeps "
                    + "losing accounts, check its database";
            default -> "";
        };
    }

    /** The first throwable in {@code e}'s cause chain (itself included) of one of {@code types}, or null. */
    @SafeVarargs
    private static Throwable firstCause(Throwable e, Class<? extends Throwable>... types) {
        Throwable c = e;
        for (int i = 0; i < 10 && c != null; i++, c = c.getCause() == c ? null : c.getCause()) {
            for (Class<? extends Throwable> t : types) {
                if (t.isInstance(c)) {
                    return c;
                }
            }
        }
        return null;
    }

    private static Throwable rootCause(Throwable e) {
        Throwable c = e;
        for (int i = 0; i < 10 && c.getCause() != null && c.getCause() != c; i++) {
            c = c.getCause();
        }
        return c;
    }

    /** The innermost message (acme4j wraps I/O failures as "Network error"), once, escaped. */
    private static String rootMessage(Throwable e) {
        Throwable c = rootCause(e);
        String m = c.getMessage();
        return LogSafe.text(c.getClass().getSimpleName() + (m == null ? "" : ": " + m));
    }

    @Override
    public String toString() {
        return "AcmeIssuer[" + directory + "]";
    }

    /** acme4j provider handing every session this CA's shared HTTP client, wrapped for timeouts and Retry-After. */
    private static final class Provider extends GenericAcmeProvider {
        private final Supplier<HttpClient> shared;
        private final Duration timeout;
        private final AtomicReference<Instant> retryAfter;

        public Provider(Supplier<HttpClient> shared, Duration timeout, AtomicReference<Instant> retryAfter) {
            this.shared = shared;
            this.timeout = timeout;
            this.retryAfter = retryAfter;
        }

        @Override
        public HttpClient createHttpClient(NetworkSettings settings) {
            return new AcmeHttpClient(shared.get(), timeout, retryAfter);
        }

        /**
         * The directory once per session: acme4j asks for it again (a conditional GET) on every
         * resource lookup unless the CA sends an Expires header, which Pebble and many CAs do not;
         * that was about 13 directory GETs per order across three nodes.
         */
        @Override
        public JSON directory(Session session, URI serverUri) throws AcmeException {
            return session.hasDirectory() ? null : super.directory(session, serverUri);
        }
    }
}
