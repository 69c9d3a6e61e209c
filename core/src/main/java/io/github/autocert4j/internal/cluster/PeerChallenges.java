package io.github.autocert4j.internal.cluster;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Consumer;
import java.util.function.Function;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Challenge answers that another server sharing the store published, for the server the CA's
 * validation reached instead: read from the store only when asked, through a small cache that
 * remembers hits (30 s) and misses (2 s), at most a few reads at a time and a bounded number per
 * second, so a flood of random tokens or names cannot hammer the store (beyond the per-second bound
 * the answer is "none"). A lookup has three outcomes ({@link Result}): an answer, a definite "none"
 * (the store said so), or "cannot tell" (the store failed, or lookups pile up behind a slow store):
 * a server that cannot reach the store must not claim a token is unknown, since the CA's validation
 * would then fail on it while a peer could have answered. An answer stored longer ago than the maximum age (an abandoned order's leftover)
 * counts as none. Shared by the HTTP-01 and TLS-ALPN-01 responders.
 *
 * @param <V> what a stored answer becomes (a key authorization, a challenge certificate)
 */
public final class PeerChallenges<V> {
    private static final Logger LOG = LoggerFactory.getLogger(PeerChallenges.class);
    public static final int CACHE_ENTRIES = 256;
    private static final long HIT_TTL_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long MISS_TTL_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int CONCURRENT_LOOKUPS = 4;
    private static final int LOOKUPS_PER_SECOND = 50;

    private static final long WARN_EVERY_NANOS = TimeUnit.SECONDS.toNanos(10);

    private record Cached<V>(V value, long expiresNanos) {
    }

    /**
     * What one lookup knows.
     *
     * @param value the answer, or null
     * @param decided true when {@code value} is the store's answer (null: definitely none), false when
     *        the store could not be asked or did not answer (then {@code value} is null)
     */
    public record Result<V>(V value, boolean decided) {
        private static final Result<?> UNKNOWN = new Result<>(null, false);
        private static final Result<?> NONE = new Result<>(null, true);

        @SuppressWarnings("unchecked")
        public static <V> Result<V> unknown() {
            return (Result<V>) UNKNOWN;
        }

        @SuppressWarnings("unchecked")
        public static <V> Result<V> none() {
            return (Result<V>) NONE;
        }

        public static <V> Result<V> of(V value) {
            return value == null ? none() : new Result<>(value, true);
        }

        /** The answer if there is one; "none" and "cannot tell" alike are empty. */
        public Optional<V> asOptional() {
            return Optional.ofNullable(value);
        }
    }

    private final CertStore store;
    private final Function<String, String> storeKey;
    private final BiFunction<String, byte[], V> decode;
    private final Consumer<V> cachedHit;
    private final Consumer<V> droppedHit;
    private final String threadName;
    private final int cacheEntries;
    private final Duration maxAge; // null: stored answers never expire
    private final Map<String, Cached<V>> cache = new LinkedHashMap<>(64, 0.75f, true); // guarded by itself
    private final Semaphore inFlight = new Semaphore(CONCURRENT_LOOKUPS);
    private long windowStartNanos;   // guarded by cache
    private int lookupsInWindow;     // guarded by cache
    private volatile ExecutorService threads;
    private long lastWarnNanos;      // guarded by cache
    private int failuresSinceWarn;   // guarded by cache

    /**
     * @param storeKey where the answer for an id is published
     * @param decode what the stored bytes of an id become
     * @param cachedHit told when a found answer enters the cache
     * @param droppedHit told when a found answer leaves the cache (expired, evicted, forgotten)
     */
    public PeerChallenges(CertStore store, Function<String, String> storeKey, BiFunction<String, byte[], V> decode, Consumer<V> cachedHit,
                   Consumer<V> droppedHit, String threadName) {
        this(store, storeKey, decode, cachedHit, droppedHit, threadName, CACHE_ENTRIES, null);
    }

    /**
     * The same with another cache capacity (tests) and a maximum age of stored answers
     * ({@link CertStore#age}; null: they never expire).
     */
    public PeerChallenges(CertStore store, Function<String, String> storeKey, BiFunction<String, byte[], V> decode, Consumer<V> cachedHit,
                   Consumer<V> droppedHit, String threadName, int cacheEntries, Duration maxAge) {
        this.cacheEntries = cacheEntries;
        this.maxAge = maxAge;
        this.store = store;
        this.storeKey = storeKey;
        this.decode = decode;
        this.cachedHit = cachedHit;
        this.droppedHit = droppedHit;
        this.threadName = threadName;
    }

    /** The cached answer, without reading the store: null if the cache does not know, empty for a remembered miss. */
    public Optional<V> cached(String id) {
        synchronized (cache) {
            Cached<V> c = cache.get(id);
            if (c == null) {
                return null;
            }
            if (System.nanoTime() - c.expiresNanos() > 0) {
                drop(id);
                return null;
            }
            return Optional.ofNullable(c.value());
        }
    }

    /** The answer for {@code id}: cached, else read from the store (blocking, bounded); empty if none, unknown or over the bound. */
    public Optional<V> load(String id) {
        return decide(id).asOptional();
    }

    /**
     * What the store says about {@code id}: cached, else read from the store (blocking, bounded);
     * "none" beyond the per-second bound, "cannot tell" if the store failed or too many reads are in flight.
     */
    public Result<V> decide(String id) {
        Optional<V> known = cached(id);
        if (known != null) {
            return Result.of(known.orElse(null));
        }
        if (!admit()) {
            // Over the per-second bound: a flood of made-up tokens. "None" (404), as before: "cannot tell" (503)
            // would make a load balancer replay the flood on every other server.
            return Result.none();
        }
        if (!inFlight.tryAcquire()) {
            return Result.unknown(); // lookups pile up behind a slow store: this server cannot tell in time
        }
        try {
            String key = storeKey.apply(id);
            Optional<byte[]> bytes = store.load(key);
            if (bytes.isPresent() && maxAge != null) {
                Optional<Duration> age = store.age(key);
                if (age.isPresent() && age.get().compareTo(maxAge) > 0) {
                    bytes = Optional.empty(); // an abandoned order's leftover: never answered, swept later
                }
            }
            V value = bytes.map(b -> decode.apply(id, b)).orElse(null);
            synchronized (cache) {
                drop(id);
                cache.put(id, new Cached<>(value, System.nanoTime() + (value != null ? HIT_TTL_NANOS : MISS_TTL_NANOS)));
                if (value != null) {
                    cachedHit.accept(value);
                }
                // Through the entry iterator only: a get() on this access-ordered map is a structural
                // change that would break the iteration (and leave the cache growing without bound).
                Iterator<Map.Entry<String, Cached<V>>> eldest = cache.entrySet().iterator();
                while (cache.size() > cacheEntries && eldest.hasNext()) {
                    Cached<V> c = eldest.next().getValue();
                    eldest.remove();
                    if (c.value() != null) {
                        droppedHit.accept(c.value());
                    }
                }
            }
            return Result.of(value);
        } catch (IOException | RuntimeException e) {
            warnFailure(e);
            return Result.unknown();
        } finally {
            inFlight.release();
        }
    }

    /** One WARN line (no stack trace) per 10 s however many lookups fail: a store outage must not flood the log. */
    private void warnFailure(Exception e) {
        int suppressed;
        synchronized (cache) {
            long now = System.nanoTime();
            if (lastWarnNanos != 0 && now - lastWarnNanos < WARN_EVERY_NANOS) {
                failuresSinceWarn++;
                return;
            }
            lastWarnNanos = now;
            suppressed = failuresSinceWarn;
            failuresSinceWarn = 0;
        }
        LOG.warn("autocert4j: cannot look up a challenge in the shared store; meanwhile such HTTP-01 requests get 503 so that a "
                + "load balancer tries another server: {}{}",
                LogSafe.text(e.toString()), suppressed > 0 ? " (" + suppressed + " more failed lookups in the last 10 s)" : "");
    }

    /** {@link #load} without blocking the caller: at once when cached, else on a small thread pool. */
    public CompletableFuture<Optional<V>> loadAsync(String id) {
        return decideAsync(id).thenApply(Result::asOptional);
    }

    /** {@link #decide} without blocking the caller: at once when cached, else on a small thread pool ("cannot tell" if it is full). */
    public CompletableFuture<Result<V>> decideAsync(String id) {
        Optional<V> known = cached(id);
        if (known != null) {
            return CompletableFuture.completedFuture(Result.of(known.orElse(null)));
        }
        try {
            return CompletableFuture.supplyAsync(() -> decide(id), threads());
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(Result.unknown());
        }
    }

    /** How many answers and misses are cached (tests). */
    public int cachedEntries() {
        synchronized (cache) {
            return cache.size();
        }
    }

    /** Forgets what is cached for {@code id} (its challenge was withdrawn). */
    public void forget(String id) {
        synchronized (cache) {
            drop(id);
        }
    }

    private void drop(String id) { // under cache
        Cached<V> c = cache.remove(id);
        if (c != null && c.value() != null) {
            droppedHit.accept(c.value());
        }
    }

    /** A fixed window of one second holding at most LOOKUPS_PER_SECOND store reads. */
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

    private ExecutorService threads() {
        ExecutorService t = threads;
        if (t == null) {
            synchronized (this) {
                if (threads == null) {
                    ThreadPoolExecutor pool = new ThreadPoolExecutor(CONCURRENT_LOOKUPS, CONCURRENT_LOOKUPS, 30, TimeUnit.SECONDS,
                            new LinkedBlockingQueue<>(64), DaemonThreads.named(threadName), new ThreadPoolExecutor.AbortPolicy());
                    pool.allowCoreThreadTimeOut(true);
                    threads = pool;
                }
                t = threads;
            }
        }
        return t;
    }

    /** Stops the lookup threads. */
    public void close() {
        ExecutorService t = threads;
        if (t != null) {
            t.shutdownNow();
        }
    }
}
