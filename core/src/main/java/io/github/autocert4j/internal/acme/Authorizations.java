package io.github.autocert4j.internal.acme;

import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.internal.util.LogSafe;
import io.github.autocert4j.internal.util.Names;
import io.github.autocert4j.internal.util.Uninterruptibly;
import java.net.URI;
import java.net.URL;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.shredzone.acme4j.Authorization;
import org.shredzone.acme4j.Order;
import org.shredzone.acme4j.Problem;
import org.shredzone.acme4j.Status;
import org.shredzone.acme4j.challenge.Challenge;
import org.shredzone.acme4j.challenge.TokenChallenge;
import org.shredzone.acme4j.exception.AcmeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The challenge part of an order: checks before ordering that every name can be proven, presents
 * each authorization's challenge with its solver, waits for the CA's validation and polls order
 * resources, all bounded by the order deadline. Split out of {@link AcmeIssuer} (issue 19), which
 * keeps the order flow around it.
 */
final class Authorizations {
    private static final Logger LOG = LoggerFactory.getLogger(AcmeIssuer.class); // the CA's log, as before
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
    private final URI directory;
    private final List<ChallengeSolver> solvers;
    private final List<String> challengeTypes;

    Authorizations(URI directory, List<ChallengeSolver> solvers, List<String> challengeTypes) {
        this.directory = directory;
        this.solvers = solvers;
        this.challengeTypes = challengeTypes;
    }

    /**
     * Lets each solver check its configuration for the names it will most likely answer (the first type in
     * challengeTypes that can prove the name), before anything is sent to the CA: a wrong DNS key costs no order.
     */
    void preflight(List<String> names) throws Exception {
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

    private record Presented(Authorization auth, Challenge challenge, ChallengeSolver solver, ChallengeSolver.Challenge request) {
    }

    void authorize(Order order, long deadline) throws Exception {
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
        return error.map(e -> ", the challenge's last error: " + AcmeFailures.describe(e)).orElse("");
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
        return new IssuanceException(what + ": " + AcmeFailures.describe(problem) + fix, false, null, problem.getType().toString(),
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
     * Polls a resource until it reaches one of {@code until}: the first poll at once if {@code status} may be stale
     * (not {@code current}: the order as it was placed, read before its authorizations became valid; waiting 20 ms
     * there was idle time on the path to every certificate, issue 23), else first after 20 ms; then doubling up to
     * 2 s, or exactly as long as the server's Retry-After asks; bounded by the order deadline.
     *
     * @param current whether {@code status} was read from the CA just now (acme4j reads the order again right after
     *                finalizing it: a poll at once would only ask again what it just answered)
     */
    public static Status poll(String what, Fetch fetch, Supplier<Status> status, Set<Status> until, long deadlineNanos, boolean current)
            throws AcmeException, InterruptedException, TimeoutException {
        return poll(what, fetch, status, until, deadlineNanos, current, false);
    }

    /**
     * As {@link #poll(String, Fetch, Supplier, Set, long, boolean)}; if {@code committed} (the order's finalization was
     * asked for: the CA may have signed), an interrupt does not end its waits ({@link Uninterruptibly}).
     */
    public static Status poll(String what, Fetch fetch, Supplier<Status> status, Set<Status> until, long deadlineNanos, boolean current,
                              boolean committed) throws AcmeException, InterruptedException, TimeoutException {
        Duration delay = FIRST_POLL;
        Status s = status.get();
        for (int i = 0; i < MAX_POLLS; i++) {
            if (until.contains(s)) {
                return s;
            }
            Optional<Instant> retryAfter = Optional.empty();
            if (i > 0 || !current) {
                retryAfter = fetch.fetch();
                s = status.get();
                if (until.contains(s)) {
                    return s;
                }
            }
            Duration wait = pollWait(retryAfter, delay);
            if (retryAfter.isEmpty() && (i > 0 || !current)) {
                delay = delay.multipliedBy(2).compareTo(MAX_POLL) > 0 ? MAX_POLL : delay.multipliedBy(2);
            }
            if (System.nanoTime() + wait.toNanos() - deadlineNanos > 0) {
                throw new TimeoutException(what + " still " + s + " when the order timeout ran out");
            }
            if (committed) {
                Uninterruptibly.sleep(wait.toNanos());
            } else {
                Thread.sleep(wait.toMillis(), (int) (wait.toNanos() % 1_000_000));
            }
        }
        throw new TimeoutException(what + " still " + s + " after " + MAX_POLLS + " polls");
    }
}
