package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.DaemonThreads;

import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.toolbox.JSON;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA's directory fetched ahead of the first order ({@link AcmeIssuer#reserveDirectoryPrefetch}), on a thread of its own,
 * and handed to the first session that asks within {@link #FRESH} of its arrival, once: in a fresh JVM the HTTP
 * client's set-up, the TLS handshake with the CA and the directory request then run beside the order's key
 * generation instead of after it (issue 23). A session that asks while the request is in flight waits for it (the
 * request is bounded by the request timeout, as the session's own would be). A prefetch that failed is reported to that session as its own
 * request would have failed (the same exception, the same Retry-After), so a CA that does not answer costs one
 * timeout, not two; a stale one (older than {@link #FRESH}) is dropped and the session asks the CA itself. jose4j,
 * which the first signed request needs, is initialised earlier, from {@code build()} ({@link AcmePreparation}).
 */
final class DirectoryPrefetch {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryPrefetch.class);
    /** How long a prefetched directory may be used: it is for the order being placed at start-up, not a cache. */
    static final Duration FRESH = Duration.ofSeconds(30);

    private CompletableFuture<Outcome> pending; // guarded by this
    private long arrivedNanos;               // guarded by this

    /** What the prefetch got: the directory, or the failure and the Retry-After its answer carried. */
    private record Outcome(JSON json, Exception error, Instant retryAfter) {
    }

    /**
     * Reserves the next session's directory for a prefetch, before anything could order (so that the order waits for
     * the prefetch rather than racing it); the returned consumer is called once: with true, it starts fetching with
     * {@code fetch} on a thread of its own; with false, the reservation is released and sessions fetch for themselves.
     * {@code retryAfter} is the one the fetch's client records a 429/503's Retry-After in. Null if a prefetch is in
     * flight or unused already.
     */
    Consumer<Boolean> reserve(URI directory, AtomicReference<Instant> retryAfter, Callable<JSON> fetch) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        synchronized (this) {
            if (pending != null && (!pending.isDone() || !stale())) {
                return null;
            }
            pending = f;
        }
        return go -> {
            if (!go) {
                synchronized (this) {
                    if (pending == f) {
                        pending = null;
                    }
                }
                f.complete(new Outcome(null, null, null));
                return;
            }
            DaemonThreads.named("autocert4j-acme-directory").newThread(() -> {
                Outcome outcome = new Outcome(null, null, null);
                try {
                    outcome = new Outcome(fetch.call(), null, null);
                } catch (AcmeException | RuntimeException e) {
                    LOG.debug("autocert4j: fetching the directory {} ahead of the first order failed; the order reports it", directory, e);
                    outcome = new Outcome(null, e, retryAfter.get());
                } catch (Exception | LinkageError e) {
                    LOG.debug("autocert4j: fetching the directory {} ahead of the first order failed; the order fetches it", directory, e);
                } finally {
                    synchronized (this) {
                        arrivedNanos = System.nanoTime();
                    }
                    f.complete(outcome);
                }
            }).start();
        };
    }

    private boolean stale() {
        return System.nanoTime() - arrivedNanos > FRESH.toNanos();
    }

    /**
     * The prefetched directory if one is in flight or fresh (taken once), else null; throws what the prefetch failed
     * with, having set {@code retryAfter} as the session's own request would have.
     */
    JSON take(Duration timeout, AtomicReference<Instant> retryAfter) throws AcmeException {
        CompletableFuture<Outcome> f;
        synchronized (this) {
            f = pending;
            pending = null;
            if (f == null || f.isDone() && stale()) {
                return null;
            }
        }
        Outcome o;
        try {
            // The prefetch is bounded by the request timeout itself, counted from its own start (after the client's
            // set-up), which may be later than this wait's: twice the timeout only backs that bound up.
            o = f.get(timeout.multipliedBy(2).toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        }
        if (o.error() instanceof AcmeException e) {
            retryAfter.set(o.retryAfter());
            throw e;
        }
        if (o.error() instanceof RuntimeException e) {
            retryAfter.set(o.retryAfter());
            throw e;
        }
        return o.json();
    }

    /**
     * Initialises jose4j's algorithm tables (the static initialiser of {@code AlgorithmFactoryFactory} checks every JWS
     * and JWE algorithm against the JCA providers, about 100 classes), which the first signed ACME request otherwise
     * pays for on the order's thread ({@link AcmePreparation} calls it from {@code build()}). By name, so that core does
     * not depend on jose4j's API; nothing happens if absent.
     */
    static void warmJose() {
        try {
            Class.forName("org.jose4j.jwa.AlgorithmFactoryFactory", true, JSON.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            LOG.debug("autocert4j: jose4j not initialised ahead of the first request", e);
        }
    }
}
