package io.github.autocert4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 * tokens cannot hammer the store (beyond the bound, unknown tokens get 404).
 *
 * <p>The Netty handler and the Servlet filter read from it; any other HTTP stack can too:
 *
 * <pre>{@code
 * Http01Responder acme = autoCert.http01();
 * if (path.startsWith(Http01Responder.PATH_PREFIX)) {
 *     String token = path.substring(Http01Responder.PATH_PREFIX.length());
 *     acme.keyAuthorization(token).ifPresentOrElse(body -> reply(200, body), () -> reply(404, ""));
 * }
 * }</pre>
 */
public final class Http01Responder implements ChallengeSolver {

    /** The path prefix the CA requests: {@code /.well-known/acme-challenge/}. */
    public static final String PATH_PREFIX = "/.well-known/acme-challenge/";

    // RFC 8555 §8.3: the token is base64url without padding. CAs use 43 chars; allow up to 256.
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");
    private final Map<String, String> pending = new ConcurrentHashMap<>();
    private final CertStore shared;
    private final PeerChallenges<String> peers; // null without a shared store
    private final AtomicLong answered = new AtomicLong();

    /** Creates an empty responder answering only what it was given itself. {@code AutoCert} creates one for you: see {@code AutoCert#http01()}. */
    public Http01Responder() {
        this(null);
    }

    /** A responder that also publishes through, and looks up in, {@code shared} (null: this process only). */
    Http01Responder(CertStore shared) {
        this.shared = shared;
        this.peers = shared == null ? null : new PeerChallenges<>(shared, StoreLayout::http01Challenge,
                (token, bytes) -> new String(bytes, StandardCharsets.US_ASCII), v -> { }, v -> { }, "autocert4j-challenge-lookup");
    }

    /**
     * The raw (undecoded) path of an HTTP request target in origin form ({@code /a?b}) or absolute
     * form ({@code http://h/a}), without query or fragment; null if it is neither. Adapters match
     * {@link #PATH_PREFIX} against it, so that encoded tricks stay visible (and get a 400).
     */
    public static String requestPath(String requestTarget) {
        if (requestTarget == null || requestTarget.isEmpty()) {
            return null;
        }
        String path = requestTarget;
        if (!requestTarget.startsWith("/")) {
            int scheme = requestTarget.indexOf("://");
            if (scheme <= 0) {
                return null;
            }
            // The authority ends at the first '/', '?' or '#'; only a '/' starts a path.
            int end = scheme + 3;
            while (end < requestTarget.length() && "/?#".indexOf(requestTarget.charAt(end)) < 0) {
                end++;
            }
            if (end == requestTarget.length() || requestTarget.charAt(end) != '/') {
                return "/";
            }
            path = requestTarget.substring(end);
        }
        int cut = path.length();
        int q = path.indexOf('?');
        if (q >= 0) {
            cut = q;
        }
        int h = path.indexOf('#');
        if (h >= 0 && h < cut) {
            cut = h;
        }
        return path.substring(0, cut);
    }

    /** Whether {@code token} is syntactically a token (base64url, 1..256 chars); adapters answer 400 otherwise. */
    public static boolean isWellFormedToken(String token) {
        return token != null && TOKEN.matcher(token).matches();
    }

    /**
     * The key authorization to serve for {@code token}, if a challenge with that token is pending
     * here or (in a cluster) on another server. May wait briefly for the shared store: call it
     * from a worker thread, never from an event loop (use {@link #lookup} there).
     */
    public Optional<String> keyAuthorization(String token) {
        if (!isWellFormedToken(token)) {
            return Optional.empty();
        }
        String local = pending.get(token);
        if (local != null || peers == null) {
            return counted(Optional.ofNullable(local));
        }
        return counted(peers.load(token));
    }

    /**
     * Like {@link #keyAuthorization} but never blocks the caller: completes at once when the
     * answer is in memory, else after a store lookup on a small thread pool of the responder's.
     * For event-loop servers (Netty).
     */
    public CompletableFuture<Optional<String>> lookup(String token) {
        if (!isWellFormedToken(token)) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
        String local = pending.get(token);
        if (local != null || peers == null) {
            return CompletableFuture.completedFuture(counted(Optional.ofNullable(local)));
        }
        return peers.loadAsync(token).thenApply(this::counted);
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
                shared.store(StoreLayout.http01Challenge(challenge.token()), challenge.keyAuthorization().getBytes(StandardCharsets.US_ASCII));
            } catch (IOException e) {
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

    private Optional<String> counted(Optional<String> answer) {
        if (answer.isPresent()) {
            answered.incrementAndGet();
        }
        return answer;
    }

    @Override
    public String toString() {
        return "Http01Responder[pending=" + pending.size() + (shared == null ? "" : ", shared") + "]";
    }
}
