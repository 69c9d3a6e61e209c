package io.github.autocert4j;

import java.io.IOException;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import javax.net.ssl.SSLContext;

import org.shredzone.acme4j.AccountBuilder;
import org.shredzone.acme4j.Authorization;
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
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.exception.AcmeNotSupportedException;
import org.shredzone.acme4j.exception.AcmeRateLimitedException;
import org.shredzone.acme4j.exception.AcmeServerException;
import org.shredzone.acme4j.provider.GenericAcmeProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ACME account at one CA: logs in (creating the account only when the store has none), places
 * orders, answers their challenges through the configured solvers, polls fast, finalizes with a
 * fresh key and verifies what comes back. Knows nothing about scheduling or serving.
 */
final class AcmeClient {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeClient.class);
    private static final Duration FIRST_POLL = Duration.ofMillis(20);
    private static final Duration MAX_POLL = Duration.ofSeconds(2);
    private static final int MAX_POLLS = 2_000;

    private final URI directory;
    private final SSLContext acmeTrust;
    private final CertStore store;
    private final StoreLayout layout;
    private final String email;
    private final Duration httpTimeout;
    private final List<ChallengeSolver> solvers;

    /** The Retry-After of the last 429/503 answer on the calling thread (see AcmeHttpClient). */
    private final ThreadLocal<Instant> lastRetryAfter = new ThreadLocal<>();
    private Session session;
    private Login login;

    AcmeClient(URI directory, SSLContext acmeTrust, CertStore store, StoreLayout layout, String email,
               Duration httpTimeout, List<ChallengeSolver> solvers) {
        this.directory = directory;
        this.acmeTrust = acmeTrust;
        this.store = store;
        this.layout = layout;
        this.email = email;
        this.httpTimeout = httpTimeout;
        this.solvers = List.copyOf(solvers);
    }

    /** The CA's directory metadata (profiles, ToS, ...). */
    synchronized Metadata metadata() throws AcmeException {
        return session().getMetadata();
    }

    /** Whether the CA's directory offers ARI (a renewalInfo resource). */
    synchronized boolean supportsAri() throws AcmeException {
        return session().resourceUrlOptional(org.shredzone.acme4j.connector.Resource.RENEWAL_INFO).isPresent();
    }

    private Session session() {
        if (session == null) {
            session = new Session(directory, new Provider(acmeTrust, lastRetryAfter));
            session.networkSettings().setTimeout(httpTimeout);
        }
        return session;
    }

    /** Logs in, creating the account only if the store has no account key with a known location. */
    synchronized Login login() throws AcmeException, IOException {
        if (login != null) {
            return login;
        }
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
                login = session().login(URI.create(new String(location.get(), StandardCharsets.UTF_8).trim()).toURL(), accountKey);
            } else {
                // newAccount with a key the CA already knows returns that account: never a duplicate.
                AccountBuilder builder = new AccountBuilder().useKeyPair(accountKey).agreeToTermsOfService();
                if (email != null) {
                    builder.addEmail(email);
                }
                login = builder.createLogin(session());
                store.store(layout.accountLocation(), (login.getAccountLocation().toExternalForm() + "\n").getBytes(StandardCharsets.UTF_8));
                LOG.info("ACME account ready at {}", login.getAccountLocation());
            }
            return login;
        }
    }

    /** The CA's suggested renewal window for {@code cert}, or empty if the CA has no ARI. */
    Optional<AriWindow> renewalInfo(X509Certificate cert) throws AcmeException, IOException {
        if (!supportsAri()) {
            return Optional.empty();
        }
        try {
            RenewalInfo info = login().bindRenewalInfo(cert);
            Optional<Instant> retryAfter = info.fetch();
            return Optional.of(new AriWindow(info.getSuggestedWindowStart(), info.getSuggestedWindowEnd(),
                    info.getExplanation().map(URL::toExternalForm).orElse(null), retryAfter.orElse(null)));
        } catch (AcmeNotSupportedException e) {
            return Optional.empty();
        }
    }

    /**
     * Orders, validates, finalizes and downloads a certificate for {@code names} with {@code newKey},
     * and verifies it. Throws on any failure; nothing is stored or served here.
     */
    CertBundle obtain(List<String> names, KeyPair newKey, String profile, X509Certificate replaces, long deadlineNanos)
            throws Exception {
        lastRetryAfter.remove();
        Login login = login();
        Order order;
        try {
            order = placeOrder(login, names, profile, replaces);
        } catch (AcmeServerException e) {
            if (!accountGone(e)) {
                throw e;
            }
            // The CA lost the account (a reset staging CA, a restored server): register the same
            // stored key again instead of failing every renewal; the key is never replaced.
            LOG.warn("autocert4j: the CA no longer knows the account {}; registering its key again", login.getAccountLocation());
            login = forgetAccountLocation();
            order = placeOrder(login, names, profile, replaces);
        }

        List<Presented> presented = new ArrayList<>();
        try {
            for (Authorization auth : order.getAuthorizations()) {
                if (auth.getStatus() == Status.VALID) {
                    continue;
                }
                presented.add(present(auth));
            }
            for (Presented p : presented) {
                p.challenge.trigger();
            }
            for (Presented p : presented) {
                Status s = poll("authorization of " + p.request.identifier(), p.auth::fetch, p.auth::getStatus,
                        Set.of(Status.VALID, Status.INVALID), deadlineNanos);
                if (s != Status.VALID) {
                    p.challenge.fetch();
                    String why = p.challenge.getError().map(AcmeClient::describe).orElse("status " + s);
                    throw new IssuanceException("the CA could not validate " + p.request.identifier() + " by "
                            + p.request.type() + ": " + why, false, null);
                }
            }
        } finally {
            for (Presented p : presented) {
                try {
                    p.solver.cleanUp(p.request);
                } catch (Exception e) {
                    LOG.warn("challenge clean-up for {} failed: {}", p.request.identifier(), e.toString());
                }
            }
        }

        Status ready = poll("order", order::fetch, order::getStatus, Set.of(Status.READY, Status.VALID, Status.INVALID), deadlineNanos);
        if (ready == Status.INVALID) {
            throw new IssuanceException("the CA marked the order invalid: " + order.getError().map(AcmeClient::describe).orElse("no detail"), false, null);
        }
        if (ready == Status.READY) {
            order.execute(newKey);
        }
        Status done = poll("finalization", order::fetch, order::getStatus, Set.of(Status.VALID, Status.INVALID), deadlineNanos);
        if (done != Status.VALID) {
            throw new IssuanceException("the CA failed to finalize the order: " + order.getError().map(AcmeClient::describe).orElse("no detail"), false, null);
        }
        List<X509Certificate> chain = order.getCertificate().getCertificateChain();
        return new CertBundle(newKey, chain);
    }

    /** Places the order; if the CA refuses {@code replaces} without asking us to wait, places it once more without. */
    private Order placeOrder(Login login, List<String> names, String profile, X509Certificate replaces) throws AcmeException {
        try {
            return newOrder(login, names, profile, replaces);
        } catch (AcmeServerException e) {
            // A CA asking us to wait (rateLimited, or any Retry-After) gets its wait, not a second order.
            if (replaces == null || e instanceof AcmeRateLimitedException || lastRetryAfter.get() != null || accountGone(e)) {
                throw e;
            }
            // RFC 9773 §5: a CA may refuse "replaces" (already replaced, unknown cert): order without it.
            // Refusals come as 4xx (alreadyReplaced, malformed) but also as 5xx: Pebble answers
            // serverInternal "could not find an order for the given certificate".
            LOG.info("CA refused the order with 'replaces' ({}); ordering again without it", describe(e));
            return newOrder(login, names, profile, null);
        }
    }

    private static boolean accountGone(AcmeServerException e) {
        return e.getType().toString().endsWith(":accountDoesNotExist");
    }

    /** Forgets the stored account location and logs in again with the same key (newAccount: the CA re-registers it). */
    private synchronized Login forgetAccountLocation() throws AcmeException, IOException {
        store.delete(layout.accountLocation());
        login = null;
        return login();
    }

    private static Order newOrder(Login login, List<String> names, String profile, X509Certificate replaces) throws AcmeException {
        OrderBuilder builder = login.newOrder().domains(names);
        if (profile != null) {
            builder.profile(profile);
        }
        if (replaces != null) {
            builder.replaces(replaces);
        }
        return builder.create();
    }

    private record Presented(Authorization auth, Challenge challenge, ChallengeSolver solver, ChallengeSolver.Challenge request) {
    }

    private Presented present(Authorization auth) throws Exception {
        String identifier = auth.getIdentifier().getDomain();
        if (auth.getStatus() != Status.PENDING) {
            throw new IssuanceException("authorization for " + identifier + " is " + auth.getStatus(), false, null);
        }
        for (ChallengeSolver solver : solvers) {
            Optional<Challenge> found = auth.findChallenge(solver.challengeType());
            if (found.isPresent() && found.get() instanceof TokenChallenge challenge) {
                String token = challenge.getJSON().get("token").asString();
                ChallengeSolver.Challenge request = new ChallengeSolver.Challenge(solver.challengeType(), identifier, token, challenge.getAuthorization());
                solver.present(request);
                return new Presented(auth, challenge, solver, request);
            }
        }
        List<String> offered = auth.getChallenges().stream().map(Challenge::getType).toList();
        throw new IssuanceException("no configured solver for " + identifier + ": the CA offers " + offered
                + "; add a ChallengeSolver for one of them", true, null);
    }

    /**
     * Polls a resource until it reaches one of {@code until}: first after 20 ms, doubling up to 2 s,
     * or exactly as long as the server's Retry-After asks; bounded by the order deadline.
     */
    interface Fetch {
        Optional<Instant> fetch() throws AcmeException;
    }

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
            sb.append(" [").append(sub.getIdentifier().map(id -> id.getValue() + ": ").orElse("")).append(describe(sub)).append(']');
        }
        return sb.toString();
    }

    static String describe(Exception e) {
        if (e instanceof AcmeServerException se) {
            return describe(se.getProblem());
        }
        StringBuilder sb = new StringBuilder(e.getClass().getSimpleName());
        if (e.getMessage() != null) {
            sb.append(": ").append(e.getMessage());
        }
        // acme4j wraps I/O failures ("Network error"): keep what actually happened.
        Throwable cause = e.getCause();
        for (int depth = 0; cause != null && depth < 3; depth++, cause = cause.getCause()) {
            sb.append(" (").append(cause.getClass().getSimpleName());
            if (cause.getMessage() != null) {
                sb.append(": ").append(cause.getMessage());
            }
            sb.append(')');
        }
        return sb.toString();
    }

    /** The CA's ARI answer. */
    record AriWindow(Instant start, Instant end, String explanation, Instant retryAfter) {
    }

    /** A failure of one order, classified for the scheduler. */
    static final class IssuanceException extends Exception {
        final boolean permanent;
        final Instant retryAfter;

        IssuanceException(String message, boolean permanent, Instant retryAfter) {
            super(message);
            this.permanent = permanent;
            this.retryAfter = retryAfter;
        }
    }

    private static final Set<String> PERMANENT_PROBLEMS = Set.of("rejectedIdentifier", "unsupportedIdentifier",
            "userActionRequired", "externalAccountRequired", "invalidContact", "unsupportedContact", "invalidProfile",
            "badSignatureAlgorithm");

    /** Maps any failure of {@link #obtain} to permanent-or-not with the CA's Retry-After, if any. */
    IssuanceException classify(Exception e) {
        // Retry-After of the failing 429/503 answer, if the CA sent one (acme4j keeps it only for rateLimited).
        Instant askedRetry = lastRetryAfter.get();
        lastRetryAfter.remove();
        if (e instanceof IssuanceException ie) {
            return ie;
        }
        if (e instanceof AcmeRateLimitedException rl) {
            return new IssuanceException("rate limited by the CA: " + describe(rl), false, rl.getRetryAfter().orElse(askedRetry));
        }
        if (e instanceof AcmeServerException se) {
            String type = se.getType().toString();
            String shortType = type.substring(type.lastIndexOf(':') + 1);
            boolean permanent = PERMANENT_PROBLEMS.contains(shortType) && askedRetry == null;
            return new IssuanceException("the CA refused: " + describe(se), permanent, askedRetry);
        }
        if (askedRetry != null) {
            return new IssuanceException("the CA is unavailable (" + describe(e) + "), asked to retry at " + askedRetry, false, askedRetry);
        }
        if (e instanceof AcmeNotSupportedException ns) {
            return new IssuanceException("the CA does not support " + ns.getMessage(), true, null);
        }
        if (e instanceof ChainVerifier.VerificationException ve) {
            return new IssuanceException("the issued certificate failed verification and was discarded: " + ve.getMessage(), false, null);
        }
        return new IssuanceException(describe(e), false, null);
    }

    /** acme4j provider that trusts a private CA (such as Pebble) for the ACME API when one is configured. */
    private static final class Provider extends GenericAcmeProvider {
        private final SSLContext trust;
        private final ThreadLocal<Instant> retryAfter;

        Provider(SSLContext trust, ThreadLocal<Instant> retryAfter) {
            this.trust = trust;
            this.retryAfter = retryAfter;
        }

        @Override
        public HttpClient createHttpClient(NetworkSettings settings) {
            HttpClient.Builder b = HttpClient.newBuilder()
                    .followRedirects(HttpClient.Redirect.NORMAL)
                    .connectTimeout(settings.getTimeout())
                    .proxy(settings.getProxySelector());
            if (trust != null) {
                b.sslContext(trust);
            }
            return new AcmeHttpClient(b.build(), settings.getTimeout(), retryAfter);
        }
    }
}
