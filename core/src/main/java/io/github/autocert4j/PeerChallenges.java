package io.github.autocert4j;

import java.io.IOException;
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
 * second, so a flood of random tokens or names cannot hammer the store (beyond the bound the
 * answer is "none"). Shared by the HTTP-01 and TLS-ALPN-01 responders.
 *
 * @param <V> what a stored answer becomes (a key authorization, a challenge certificate)
 */
final class PeerChallenges<V> {
    private static final Logger LOG = LoggerFactory.getLogger(PeerChallenges.class);
    private static final int CACHE_ENTRIES = 256;
    private static final long HIT_TTL_NANOS = TimeUnit.SECONDS.toNanos(30);
    private static final long MISS_TTL_NANOS = TimeUnit.SECONDS.toNanos(2);
    private static final int CONCURRENT_LOOKUPS = 4;
    private static final int LOOKUPS_PER_SECOND = 50;

    private record Cached<V>(V value, long expiresNanos) {
    }

    private final CertStore store;
    private final Function<String, String> storeKey;
    private final BiFunction<String, byte[], V> decode;
    private final Consumer<V> cachedHit;
    private final Consumer<V> droppedHit;
    private final String threadName;
    private final int cacheEntries;
    private final Map<String, Cached<V>> cache = new LinkedHashMap<>(64, 0.75f, true); // guarded by itself
    private final Semaphore inFlight = new Semaphore(CONCURRENT_LOOKUPS);
    private long windowStartNanos;   // guarded by cache
    private int lookupsInWindow;     // guarded by cache
    private volatile ExecutorService threads;

    /**
     * @param storeKey where the answer for an id is published
     * @param decode what the stored bytes of an id become
     * @param cachedHit told when a found answer enters the cache
     * @param droppedHit told when a found answer leaves the cache (expired, evicted, forgotten)
     */
    PeerChallenges(CertStore store, Function<String, String> storeKey, BiFunction<String, byte[], V> decode, Consumer<V> cachedHit,
                   Consumer<V> droppedHit, String threadName) {
        this(store, storeKey, decode, cachedHit, droppedHit, threadName, CACHE_ENTRIES);
    }

    /** The same with another cache capacity (tests). */
    PeerChallenges(CertStore store, Function<String, String> storeKey, BiFunction<String, byte[], V> decode, Consumer<V> cachedHit,
                   Consumer<V> droppedHit, String threadName, int cacheEntries) {
        this.cacheEntries = cacheEntries;
        this.store = store;
        this.storeKey = storeKey;
        this.decode = decode;
        this.cachedHit = cachedHit;
        this.droppedHit = droppedHit;
        this.threadName = threadName;
    }

    /** The cached answer, without reading the store: null if the cache does not know, empty for a remembered miss. */
    Optional<V> cached(String id) {
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

    /** The answer for {@code id}: cached, else read from the store (blocking, bounded); empty if none or over the bound. */
    Optional<V> load(String id) {
        Optional<V> known = cached(id);
        if (known != null) {
            return known;
        }
        if (!admit() || !inFlight.tryAcquire()) {
            return Optional.empty(); // over the bound: no answer rather than queueing behind a flood
        }
        try {
            Optional<byte[]> bytes = store.load(storeKey.apply(id));
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
            return Optional.ofNullable(value);
        } catch (IOException | RuntimeException e) {
            LOG.warn("autocert4j: cannot look up a challenge in the shared store: {}", LogSafe.text(e.toString()));
            return Optional.empty();
        } finally {
            inFlight.release();
        }
    }

    /** {@link #load} without blocking the caller: at once when cached, else on a small thread pool. */
    CompletableFuture<Optional<V>> loadAsync(String id) {
        Optional<V> known = cached(id);
        if (known != null) {
            return CompletableFuture.completedFuture(known);
        }
        try {
            return CompletableFuture.supplyAsync(() -> load(id), threads());
        } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(Optional.empty());
        }
    }

    /** How many answers and misses are cached (tests). */
    int cachedEntries() {
        synchronized (cache) {
            return cache.size();
        }
    }

    /** Forgets what is cached for {@code id} (its challenge was withdrawn). */
    void forget(String id) {
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
    void close() {
        ExecutorService t = threads;
        if (t != null) {
            t.shutdownNow();
        }
    }
}
