package io.github.autocert4j;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
    private static final Logger LOG = LoggerFactory.getLogger(Http01Responder.class);

    /** The path prefix the CA requests: {@code /.well-known/acme-challenge/}. */
    public static final String PATH_PREFIX = "/.well-known/acme-challenge/";

    // RFC 8555 §8.3: the token is base64url without padding. CAs use 43 chars; allow up to 256.
    private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_-]{1,256}");
    private static final int CACHE_ENTRIES = 256;
    private static final long HIT_TTL_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long MISS_TTL_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int CONCURRENT_LOOKUPS = 4;
    private static final int LOOKUPS_PER_SECOND = 50;

    private final Map<String, String> pending = new ConcurrentHashMap<>();
    private final CertStore shared;
    private final Map<String, Cached> cache = new LinkedHashMap<>(64, 0.75f, true);
    private final Semaphore inFlight = new Semaphore(CONCURRENT_LOOKUPS);
    private final AtomicLong answered = new AtomicLong();
    private long windowStartNanos;      // guarded by cache
    private int lookupsInWindow;        // guarded by cache
    private volatile ExecutorService lookupThreads;

    private record Cached(String value, long expiresNanos) {
    }

    /** Creates an empty responder answering only what it was given itself. {@code AutoCert} creates one for you: see {@code AutoCert#http01()}. */
    public Http01Responder() {
        this(null);
    }

    /** A responder that also publishes through, and looks up in, {@code shared} (null: this process only). */
    Http01Responder(CertStore shared) {
        this.shared = shared;
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
        if (local != null || shared == null) {
            return counted(Optional.ofNullable(local));
        }
        Optional<String> cached = cached(token);
        if (cached != null) {
            return counted(cached);
        }
        return counted(loadShared(token));
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
        if (local != null || shared == null) {
            return CompletableFuture.completedFuture(counted(Optional.ofNullable(local)));
        }
        Optional<String> cached = cached(token);
        if (cached != null) {
            return CompletableFuture.completedFuture(counted(cached));
        }
        try {
            return CompletableFuture.supplyAsync(() -> counted(loadShared(token)), lookupThreads());
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(Optional.empty());
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
        if (!isWellFormedToken(challenge.token())) {
            // A token we could never serve: fail the order now with a clear reason instead of a CA timeout.
            throw new IllegalArgumentException("the CA sent an http-01 token that is not base64url: cannot serve it");
        }
        pending.put(challenge.token(), challenge.keyAuthorization());
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
            synchronized (cache) {
                cache.remove(challenge.token());
            }
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
                if (!isWellFormedToken(challenge.token())) {
                    throw new IllegalArgumentException("the CA sent an http-01 token that is not base64url: cannot serve it");
                }
                pending.put(challenge.token(), challenge.keyAuthorization());
            }

            @Override
            public void cleanUp(Challenge challenge) {
                pending.remove(challenge.token(), challenge.keyAuthorization());
            }
        };
    }

    /** Stops the lookup threads (called by {@code AutoCert.close()}). */
    void close() {
        ExecutorService t = lookupThreads;
        if (t != null) {
            t.shutdownNow();
        }
    }

    private Optional<String> counted(Optional<String> answer) {
        if (answer.isPresent()) {
            answered.incrementAndGet();
        }
        return answer;
    }

    /** The cached answer, or null if the cache does not know (a cached miss is an empty Optional). */
    private Optional<String> cached(String token) {
        synchronized (cache) {
            Cached c = cache.get(token);
            if (c == null) {
                return null;
            }
            if (System.nanoTime() - c.expiresNanos() > 0) {
                cache.remove(token);
                return null;
            }
            return Optional.ofNullable(c.value());
        }
    }

    private Optional<String> loadShared(String token) {
        if (!admit() || !inFlight.tryAcquire()) {
            return Optional.empty(); // over the bound: answer 404 rather than queue behind a flood
        }
        try {
            Optional<String> value = shared.load(StoreLayout.http01Challenge(token)).map(b -> new String(b, StandardCharsets.US_ASCII));
            long now = System.nanoTime();
            synchronized (cache) {
                cache.put(token, new Cached(value.orElse(null), now + (value.isPresent() ? HIT_TTL_NANOS : MISS_TTL_NANOS)));
                while (cache.size() > CACHE_ENTRIES) {
                    cache.remove(cache.keySet().iterator().next());
                }
            }
            return value;
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: cannot look up challenge token in the shared store: {}", LogSafe.text(e.toString()));
            return Optional.empty();
        } finally {
            inFlight.release();
        }
    }

    /** A fixed window of one second holding at most LOOKUPS_PER_SECOND store lookups. */
    private boolean admit() {
        long now = System.nanoTime();
        synchronized (cache) {
            if (now - windowStartNanos > TimeUnit.SECONDS.toNanos(1)) {
                windowStartNanos = now;
                lookupsInWindow = 0;
            }
            return ++lookupsInWindow <= LOOKUPS_PER_SECOND;
        }
    }

    private ExecutorService lookupThreads() {
        ExecutorService t = lookupThreads;
        if (t == null) {
            synchronized (this) {
                if (lookupThreads == null) {
                    ThreadPoolExecutor pool = new ThreadPoolExecutor(CONCURRENT_LOOKUPS, CONCURRENT_LOOKUPS, 30, TimeUnit.SECONDS,
                            new LinkedBlockingQueue<>(64), r -> {
                                Thread th = new Thread(r, "autocert4j-challenge-lookup");
                                th.setDaemon(true);
                                return th;
                            }, new ThreadPoolExecutor.AbortPolicy());
                    pool.allowCoreThreadTimeOut(true);
                    lookupThreads = pool;
                }
                t = lookupThreads;
            }
        }
        return t;
    }

    @Override
    public String toString() {
        return "Http01Responder[pending=" + pending.size() + (shared == null ? "" : ", shared") + "]";
    }
}
