package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.cluster.PeerChallenges;
import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.util.ChallengePaths;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;


/**
 * The HTTP-01 challenge solver: holds the key authorizations of pending challenges so that the
 * host's own plain-HTTP listener can answer {@code GET /.well-known/acme-challenge/{token}}.
 *
 * <p>In a cluster (servers sharing one {@link CertStore}), every key authorization is also
 * published through the store, so whichever server the CA's validation request reaches can
 * answer it. Tokens this server published are answered from memory; others are looked up in the
 * store, only for well-formed tokens, through a small cache that also remembers misses for a few
 * seconds, at most a few lookups at a time and a bounded number per second, so a flood of random
 * tokens cannot hammer the store (beyond the per-second bound, unknown tokens get 404). A peer's
 * answer is served only if it is a key authorization of this manager's own ACME account (the store
 * holds the token and the account's thumbprint; an answer for any other account, planted by whoever
 * can write the store, gets 404: docs/security.md).
 *
 * <p>A lookup has three outcomes ({@link Answer}): 200 with the key authorization; 404 when the token
 * is not pending anywhere (the store said so); 503 when this server cannot tell (the store failed, did
 * not answer within {@value #LOOKUP_TIMEOUT_MILLIS} ms, or lookups pile up behind a slow store). A
 * server cut off from a shared store thus never claims a peer's token is unknown: behind a load
 * balancer that retries another server on 503 (docs/cluster.md), the CA's request reaches one that
 * knows. Challenge answers stored longer ago than the maximum age (an abandoned order's) count as not pending.
 *
 * <p>The whole answer to a request on the plain-HTTP port (pass to the host, or 200/400/404/405/503
 * with its headers and body) is decided here too, by {@link #respond} / {@link #respondAsync}, from
 * the method and the raw request target; every adapter (Netty, Servlet, Vert.x, Quarkus, Spring Boot,
 * Micronaut) only renders the {@link Http01Reply}, and so can any other HTTP stack:
 *
 * <pre>{@code
 * Http01Reply reply = autoCert.http01().respond(method, rawRequestTarget); // respondAsync(...) on an event loop
 * if (reply.passToHost()) { next.handle(request); } else { write(reply); }
 * }</pre>
 */
public final class Http01Responder implements ChallengeSolver {

    /** The path prefix the CA requests: {@code /.well-known/acme-challenge/}. */
    public static final String PATH_PREFIX = "/.well-known/acme-challenge/";

    /** How long a lookup in the shared store may take before the answer is 503 ("cannot tell"). */
    public static final long LOOKUP_TIMEOUT_MILLIS = 2000;

    /**
     * What to answer for a challenge request: the outcome of one lookup, rendered by every adapter
     * as {@link #status()} with {@link #body()}.
     *
     * @param outcome whether the token is pending, not pending, or cannot be told now
     * @param keyAuthorization the key authorization when {@link Outcome#FOUND}, else null
     */
    public record Answer(Outcome outcome, String keyAuthorization) {
        /** 404: no server has the token pending. */
        public static final Answer NOT_FOUND = new Answer(Outcome.NOT_FOUND, null);
        /** 503: this server cannot tell now. */
        public static final Answer UNKNOWN = new Answer(Outcome.UNKNOWN, null);

        /** Checks that a key authorization comes with FOUND and only with it. */
        public Answer {
            if (outcome == null || (outcome == Outcome.FOUND) != (keyAuthorization != null)) {
                throw new IllegalArgumentException("an Answer carries a key authorization exactly when its outcome is FOUND: "
                        + outcome);
            }
        }

        /** The HTTP status to answer with: 200, 404 or 503. */
        public int status() {
            return outcome.status();
        }

        /** The response body: the key authorization for 200, else the status's reason phrase and a newline. */
        public String body() {
            return keyAuthorization != null ? keyAuthorization : outcome.reason() + "\n";
        }

        /** The key authorization, if the token is pending. */
        public Optional<String> found() {
            return Optional.ofNullable(keyAuthorization);
        }
    }

    /** The three outcomes of a challenge lookup. */
    public enum Outcome {
        /** The token is pending here or on a server sharing the store: 200 with the key authorization. */
        FOUND(200, "OK"),
        /** No server has the token pending (or its answer expired): 404. */
        NOT_FOUND(404, "Not Found"),
        /**
         * This server cannot tell (the shared store failed or was too slow): 503, so that a load
         * balancer retries another server.
         */
        UNKNOWN(503, "Service Unavailable");

        private final int status;
        private final String reason;

        Outcome(int status, String reason) {
            this.status = status;
            this.reason = reason;
        }

        /** The HTTP status of this outcome. */
        public int status() {
            return status;
        }

        /** The HTTP reason phrase of this outcome. */
        public String reason() {
            return reason;
        }
    }

    // RFC 8555 §8.3: the token is base64url without padding. CAs use 43 chars; allow up to 256.
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");
    private final Map<String, String> pending = new ConcurrentHashMap<>();
    private final CertStore shared;
    private final java.util.function.UnaryOperator<String> published;
    private final PeerChallenges<String> peers; // null without a shared store
    private final AtomicLong answered = new AtomicLong();

    /** Creates an empty responder answering only what it was given itself. {@code AutoCert} creates one for you: see {@code AutoCert#http01()}. */
    public Http01Responder() {
        this(null);
    }

    /** A responder that also publishes through, and looks up in, {@code shared} (null: this process only). */
    Http01Responder(CertStore shared) {
        this(shared, null);
    }

    /** The same; answers stored longer ago than {@code maxAge} (null: no limit) are an abandoned order's and never served. */
    Http01Responder(CertStore shared, Duration maxAge) {
        this(shared, maxAge, null);
    }

    /**
     * The same, serving a peer's answer only for one of {@code own} accounts (null: any, for tests and
     * tools that only publish): a key authorization planted in the store for another account is never served.
     */
    Http01Responder(CertStore shared, Duration maxAge, OwnAccounts own) {
        this(shared, maxAge, own, null);
    }

    /** The same, publishing {@code published.apply(keyAuthorization)} (null: the key authorization) for the peers. */
    Http01Responder(CertStore shared, Duration maxAge, OwnAccounts own, java.util.function.UnaryOperator<String> published) {
        this.published = published == null ? java.util.function.UnaryOperator.identity() : published;
        this.shared = shared;
        this.peers = shared == null ? null : new PeerChallenges<>(shared, StoreLayout::http01Challenge,
                (token, bytes) -> {
                    String stored = new String(bytes, StandardCharsets.US_ASCII);
                    return own == null ? stored : own.answerFor(token, stored, StoreLayout.http01Challenge(token));
                }, v -> { }, v -> { }, "autocert4j-challenge-lookup",
                PeerChallenges.CACHE_ENTRIES, maxAge);
    }

    /**
     * The raw (undecoded) path of an HTTP request target in origin form ({@code /a?b}) or absolute
     * form ({@code http://h/a}), without query or fragment; null if it is neither. Adapters match
     * {@link #PATH_PREFIX} against it, so that encoded tricks stay visible (and get a 400).
     */
    public static String requestPath(String requestTarget) {
        return ChallengePaths.path(requestTarget);
    }

    /** Whether {@code token} is syntactically a token (base64url, 1..256 chars); adapters answer 400 otherwise. */
    public static boolean isWellFormedToken(String token) {
        return token != null && TOKEN.matcher(token).matches();
    }

    /**
     * The key authorization to serve for {@code token}, if a challenge with that token is pending
     * here or (in a cluster) on another server; empty also when this server cannot tell (use
     * {@link #answer} to tell the two apart). May wait up to {@value #LOOKUP_TIMEOUT_MILLIS} ms
     * for the shared store: call it from a worker thread, never from an event loop.
     */
    public Optional<String> keyAuthorization(String token) {
        return answer(token).found();
    }

    /**
     * Like {@link #keyAuthorization} but never blocks the caller: completes at once when the
     * answer is in memory, else after a store lookup on a small thread pool of the responder's.
     * For event-loop servers (Netty).
     */
    public CompletableFuture<Optional<String>> lookup(String token) {
        return answerAsync(token).thenApply(Answer::found);
    }

    /**
     * What to answer for {@code token}: 200 with the key authorization, 404 if no server has it
     * pending, 503 if this server cannot tell (see the class comment). Waits at most
     * {@value #LOOKUP_TIMEOUT_MILLIS} ms for the shared store: call it from a worker thread, never
     * from an event loop (use {@link #answerAsync} there). A malformed token is NOT_FOUND here;
     * adapters answer 400 for it before asking.
     */
    public Answer answer(String token) {
        CompletableFuture<Answer> a = answerAsync(token);
        if (a.isDone()) {
            return a.getNow(Answer.UNKNOWN);
        }
        try {
            return a.get(LOOKUP_TIMEOUT_MILLIS + 100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Answer.UNKNOWN;
        } catch (ExecutionException | TimeoutException e) {
            return Answer.UNKNOWN;
        }
    }

    /**
     * {@link #answer} without blocking the caller: completes at once when the answer is in memory,
     * else after a store lookup on a small thread pool of the responder's, at the latest after
     * {@value #LOOKUP_TIMEOUT_MILLIS} ms (then 503). For event-loop servers (Netty, Reactor Netty).
     */
    public CompletableFuture<Answer> answerAsync(String token) {
        if (!isWellFormedToken(token)) {
            return CompletableFuture.completedFuture(Answer.NOT_FOUND);
        }
        String local = pending.get(token);
        if (local != null) {
            answered.incrementAndGet();
            return CompletableFuture.completedFuture(new Answer(Outcome.FOUND, local));
        }
        if (peers == null) {
            return CompletableFuture.completedFuture(Answer.NOT_FOUND);
        }
        CompletableFuture<PeerChallenges.Result<String>> lookup = peers.decideAsync(token);
        if (!lookup.isDone()) {
            // A store that does not answer (a cut network drops packets) must not hold the CA's request:
            // answer 503 in time for the load balancer to try another server.
            lookup = lookup.completeOnTimeout(PeerChallenges.Result.unknown(), LOOKUP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
        }
        return lookup.handle((r, failure) -> {
            if (failure != null || !r.decided()) {
                return Answer.UNKNOWN;
            }
            if (r.value() == null) {
                return Answer.NOT_FOUND;
            }
            answered.incrementAndGet();
            return new Answer(Outcome.FOUND, r.value());
        });
    }

    /**
     * The whole answer to a request with {@code method} and the raw (undecoded) {@code requestTarget}
     * (origin or absolute form, as sent) on the plain-HTTP port: see {@link Http01Reply} for the table.
     * Never throws. May wait up to {@value #LOOKUP_TIMEOUT_MILLIS} ms for the shared store: call it from
     * a worker thread, never from an event loop (use {@link #respondAsync} there).
     */
    public Http01Reply respond(String method, String requestTarget) {
        CompletableFuture<Http01Reply> reply = respondAsync(method, requestTarget);
        try {
            return reply.isDone() ? reply.join() : reply.get(LOOKUP_TIMEOUT_MILLIS + 100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Http01Reply.of(503, method);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            return Http01Reply.of(503, method);
        }
    }

    /**
     * {@link #respond} without blocking the caller; never completes exceptionally. Every answer but a
     * store lookup's (a token another server may have published) is complete at once, in particular
     * {@link Http01Reply#PASS_TO_HOST}, so an adapter can pass a request on synchronously:
     * {@code if (f.isDone() && f.join().passToHost())}.
     */
    public CompletableFuture<Http01Reply> respondAsync(String method, String requestTarget) {
        try {
            ChallengePaths.Target target = ChallengePaths.classify(requestTarget);
            if (target.kind() == ChallengePaths.Kind.HOST) {
                return CompletableFuture.completedFuture(Http01Reply.PASS_TO_HOST);
            }
            int early = !"GET".equals(method) && !"HEAD".equals(method) ? 405
                    : target.kind() == ChallengePaths.Kind.DISGUISED ? 400
                    : target.token().isEmpty() ? 404
                    : !isWellFormedToken(target.token()) ? 400 : 0;
            if (early != 0) {
                return CompletableFuture.completedFuture(Http01Reply.of(early, method));
            }
            return answerAsync(target.token()).handle((a, failure) -> failure != null || a == null ? Http01Reply.of(503, method)
                    : a.outcome() == Outcome.FOUND ? Http01Reply.found(a.keyAuthorization(), method) : Http01Reply.of(a.status(), method));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(Http01Reply.of(400, method));
        }
    }

    /** How many challenges this process has pending right now. */
    public int pendingCount() {
        return pending.size();
    }

    /** How many challenge requests were answered with a key authorization (200) since start. */
    public long answeredCount() {
        return answered.get();
    }

    @Override
    public String challengeType() {
        return "http-01";
    }

    /**
     * Makes {@code challenge} answerable here and, in a cluster, on every server sharing the store.
     *
     * @throws UncheckedIOException if the shared store cannot be written (the order then fails and is retried)
     */
    @Override
    public void present(Challenge challenge) {
        presentHere(challenge);
        if (shared != null) {
            try {
                shared.store(StoreLayout.http01Challenge(challenge.token()),
                        published.apply(challenge.keyAuthorization()).getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
                pending.remove(challenge.token(), challenge.keyAuthorization()); // present() that throws withdraws what it published
                throw new UncheckedIOException("cannot publish the HTTP-01 challenge to the other servers through the store: " + e.getMessage(), e);
            }
        }
    }

    /** Withdraws {@code challenge} here and from the shared store. */
    @Override
    public void cleanUp(Challenge challenge) {
        pending.remove(challenge.token(), challenge.keyAuthorization());
        if (shared != null) {
            peers.forget(challenge.token());
            try {
                shared.delete(StoreLayout.http01Challenge(challenge.token()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot withdraw the HTTP-01 challenge from the store: " + e.getMessage(), e);
            }
        }
    }

    /** A view that answers in this process only, publishing nothing to the store (dry runs). */
    ChallengeSolver localOnly() {
        Http01Responder self = this;
        return new ChallengeSolver() {
            @Override
            public String challengeType() {
                return self.challengeType();
            }

            @Override
            public void present(Challenge challenge) {
                presentHere(challenge);
            }

            @Override
            public void cleanUp(Challenge challenge) {
                pending.remove(challenge.token(), challenge.keyAuthorization());
            }
        };
    }

    /** Makes {@code challenge} answerable from this process's memory. */
    private void presentHere(Challenge challenge) {
        if (!isWellFormedToken(challenge.token())) {
            // A token we could never serve: fail the order now with a clear reason instead of a CA timeout.
            throw new IllegalArgumentException("the CA sent an http-01 token that is not base64url: cannot serve it");
        }
        pending.put(challenge.token(), challenge.keyAuthorization());
    }

    /** Stops the lookup threads (called by {@code AutoCert.close()}). */
    void close() {
        if (peers != null) {
            peers.close();
        }
    }

    @Override
    public String toString() {
        return "Http01Responder[pending=" + pending.size() + (shared == null ? "" : ", shared") + "]";
    }
}
