package io.github.autocert4j;

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
final class AcmeIssuer implements Issuer {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class);
    private static final Duration FIRST_POLL = Duration.ofMillis(20);
    private static final Duration MAX_POLL = Duration.ofSeconds(2);
    private static final int MAX_POLLS = 2_000;
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
    private final Object accountMonitor = new Object();
    private volatile HttpClient http;
    private Account account;            // guarded by accountMonitor
    private Session infoSession;        // for ARI and metadata; guarded by accountMonitor
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
    AcmeIssuer(AcmeCa ca, SSLContext trust, CertStore store, String email, Duration httpTimeout, List<ChallengeSolver> solvers,
               List<String> challengeTypes) {
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

    URI directory() {
        return directory;
    }

    @Override
    public Result issue(Request request) throws IssuanceException, InterruptedException {
        AtomicReference<Instant> retryAfter = new AtomicReference<>();
        Session session = newSession(retryAfter);
        long deadline = System.nanoTime() + request.timeout().toNanos();
        String step = "fetching the directory " + directory;
        try {
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
            } catch (AcmeServerException e) {
                if (!accountGone(e)) {
                    throw e;
                }
                // The CA lost the account (a reset staging CA, a restored server): register the same
                // stored key again instead of failing every renewal; the key is never replaced.
                LOG.warn("autocert4j: the CA no longer knows the account {}; registering its key again", login.getAccountLocation());
                login = forgetAccountLocation(session);
                order = placeOrder(login, request.names(), profile, replaces, retryAfter);
            }
            step = "validating " + request.names();
            authorize(order, deadline);
            step = "finalizing the order";
            Status ready = poll("order", order::fetch, order::getStatus, Set.of(Status.READY, Status.VALID, Status.INVALID), deadline);
            if (ready == Status.INVALID) {
                throw refusal("the CA marked the order invalid", order.getError().orElse(null));
            }
            if (ready == Status.READY) {
                order.execute(request.csr());
            }
            Status done = poll("finalization", order::fetch, order::getStatus, Set.of(Status.VALID, Status.INVALID), deadline);
            if (done != Status.VALID) {
                throw refusal("the CA failed to finalize the order", order.getError().orElse(null));
            }
            step = "downloading the certificate";
            List<X509Certificate> chain = chooseChain(order.getCertificate());
            return new Result(chain, reportedProfile(order, profile));
        } catch (IssuanceException | InterruptedException e) {
            throw e;
        } catch (Exception e) {
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedException("interrupted while " + step);
            }
            throw classify(e, retryAfter.get(), step);
        }
    }

    @Override
    public Optional<Window> renewalWindow(X509Certificate certificate) throws IssuanceException {
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
            // newAccount with a key the CA already knows returns that account: never a duplicate.
            AccountBuilder builder = new AccountBuilder().useKeyPair(accountKey).agreeToTermsOfService();
            if (email != null) {
                builder.addEmail(email);
            }
            if (eabKeyId != null) {
                builder.withKeyIdentifier(eabKeyId, new javax.crypto.spec.SecretKeySpec(AcmeCa.decodeHmacKey(eabHmacKey), "HmacSHA256"))
                        .withMacAlgorithm("HS256");
            }
            Login login;
            try {
                login = builder.createLogin(session);
            } catch (AcmeServerException e) {
                if (bindingRefused(e)) {
                    throw eabRefused(e);
                }
                throw e;
            }
            store.store(layout.accountLocation(), (login.getAccountLocation().toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
            LOG.info("autocert4j: ACME account ready at {}", login.getAccountLocation());
            return new Account(login.getAccountLocation(), accountKey);
        }
    }

    /** Forgets the stored account location and logs in again with the same key (newAccount: the CA re-registers it). */
    private Login forgetAccountLocation(Session session) throws AcmeException, IOException, IssuanceException {
        synchronized (accountMonitor) {
            store.delete(layout.accountLocation());
            account = null;
            return login(session);
        }
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
        return new IssuanceException("the CA " + id + " refused the external account binding while creating the ACME account: "
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

    static String commonName(javax.security.auth.x500.X500Principal principal) {
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
            throw IssuanceException.permanentFailure("the CA " + id + " does not offer the required profile '" + wanted
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

    static boolean aboutReplaces(Problem problem) {
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
                Status s = poll("authorization of " + p.request().identifier(), p.auth()::fetch, p.auth()::getStatus,
                        Set.of(Status.VALID, Status.INVALID), deadline);
                if (s != Status.VALID) {
                    p.challenge().fetch();
                    Problem why = p.challenge().getError().orElse(null);
                    throw refusal("the CA could not validate " + p.request().identifier() + " by " + p.request().type(), why);
                }
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

    private Presented present(Authorization auth) throws Exception {
        String identifier = auth.getIdentifier().getValue();
        if (auth.getStatus() != Status.PENDING) {
            throw IssuanceException.transientFailure("the authorization for " + identifier + " is " + auth.getStatus(), null);
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
        throw IssuanceException.permanentFailure("no configured challenge type can prove " + identifier + ": the CA " + id
                + " offers " + offered + ", challengeTypes() are " + challengeTypes + ". Fix: list one of the offered types in "
                + "challengeTypes(...) and give it a solver (wildcards need dns-01 with .challengeSolver(dns01Solver); IP addresses "
                + "need http-01 or tls-alpn-01)");
    }

    /** The order resource polled by {@link #poll}. */
    interface Fetch {
        Optional<Instant> fetch() throws AcmeException;
    }

    /**
     * Polls a resource until it reaches one of {@code until}: first after 20 ms, doubling up to 2 s,
     * or exactly as long as the server's Retry-After asks; bounded by the order deadline.
     */
    static Status poll(String what, Fetch fetch, Supplier<Status> status, Set<Status> until, long deadlineNanos)
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
            Duration wait = retryAfter.map(t -> Duration.between(Instant.now(), t)).filter(d -> !d.isNegative()).orElse(delay);
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

    static String describe(Problem problem) {
        StringBuilder sb = new StringBuilder();
        sb.append(problem.getType());
        problem.getDetail().ifPresent(d -> sb.append(": ").append(d));
        for (Problem sub : problem.getSubProblems()) {
            sb.append(" [").append(sub.getIdentifier().map(i -> i.getValue() + ": ").orElse("")).append(describe(sub)).append(']');
        }
        return LogSafe.text(sb.toString());
    }

    private static IssuanceException refusal(String what, Problem problem) {
        if (problem == null) {
            return IssuanceException.transientFailure(what + " (no detail)", null);
        }
        return new IssuanceException(what + ": " + describe(problem), false, null, problem.getType().toString(),
                problem.getDetail().orElse(null), null);
    }

    /** Turns any failure into an IssuanceException whose message says what failed, while doing what, and the fix. */
    IssuanceException classify(Exception e, Instant askedRetry, String step) {
        if (e instanceof IssuanceException ie) {
            return ie;
        }
        if (e instanceof AcmeServerException se) {
            Problem p = se.getProblem();
            String type = p.getType().toString();
            String shortType = type.substring(type.lastIndexOf(':') + 1);
            Instant retry = se instanceof AcmeRateLimitedException rl ? rl.getRetryAfter().orElse(askedRetry) : askedRetry;
            boolean permanent = PERMANENT_PROBLEMS.contains(shortType) && retry == null;
            String verb = se instanceof AcmeRateLimitedException ? "rate limited by the CA " : "the CA " + id + " refused ";
            return new IssuanceException(verb + step + ": " + describe(p) + fixFor(shortType), permanent, retry, type,
                    p.getDetail().orElse(null), null);
        }
        if (askedRetry != null) {
            return new IssuanceException("the CA " + id + " is unavailable (" + rootMessage(e) + ") while " + step
                    + "; it asked to be contacted again at " + askedRetry, false, askedRetry, null, null, e);
        }
        if (e instanceof AcmeNotSupportedException ns) {
            return IssuanceException.permanentFailure("the CA " + id + " does not support " + ns.getMessage() + " (while " + step + ")");
        }
        if (e instanceof TimeoutException) {
            return IssuanceException.transientFailure(e.getMessage() + " (orderTimeout)", null);
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
                    + " (" + LogSafe.text(timeout.getMessage()) + ")", null);
        }
        String msg = String.valueOf(e.getMessage());
        if (msg.startsWith("HTTP ") && step.startsWith("fetching the directory")) {
            return IssuanceException.transientFailure("the ACME directory " + directory + " answered " + LogSafe.text(msg)
                    + ". Fix: check the directory URL (Let's Encrypt: " + AutoCert.LETS_ENCRYPT_PRODUCTION + ")", null);
        }
        return IssuanceException.transientFailure(rootMessage(e) + " while " + step, null);
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

        Provider(Supplier<HttpClient> shared, Duration timeout, AtomicReference<Instant> retryAfter) {
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
