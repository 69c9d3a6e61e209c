package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.DaemonThreads;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.regex.Pattern;

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
 * timeout, not two; a stale one (older than {@link #FRESH}) is dropped and the session asks the CA itself. The same
 * thread then fetches a nonce for the order's first signed request ({@link #takeNonce}): the order's thread, busy
 * with its account key meanwhile, then does not ask for one after the directory (a round trip in a cold JVM). jose4j,
 * which the first signed request needs, is initialised earlier, from {@code build()} ({@link AcmePreparation}).
 */
final class DirectoryPrefetch {
    private static final Logger LOG = LoggerFactory.getLogger(DirectoryPrefetch.class);
    /** How long a prefetched directory may be used: it is for the order being placed at start-up, not a cache. */
    static final Duration FRESH = Duration.ofSeconds(30);
    private static final Pattern BASE64URL = Pattern.compile("[A-Za-z0-9_-]{1,256}");

    private CompletableFuture<Outcome> pending; // guarded by this
    private long arrivedNanos;               // guarded by this
    private CompletableFuture<String> nonce; // the nonce fetched after the directory, until taken; guarded by this

    /** Fetches a fresh nonce from the CA whose directory is given (a HEAD of its newNonce): null if it has none. */
    interface NonceFetch {
        String fetch(JSON directory) throws Exception;
    }

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
        return reserve(directory, retryAfter, fetch, null);
    }

    /**
     * As {@link #reserve(URI, AtomicReference, Callable)}; then, once the directory is handed over, the same thread
     * fetches a nonce with {@code nonceFetch} (null: none) for the first signed request ({@link #takeNonce}).
     */
    Consumer<Boolean> reserve(URI directory, AtomicReference<Instant> retryAfter, Callable<JSON> fetch, NonceFetch nonceFetch) {
        CompletableFuture<Outcome> f = new CompletableFuture<>();
        CompletableFuture<String> n = new CompletableFuture<>();
        synchronized (this) {
            if (pending != null && (!pending.isDone() || !stale())) {
                return null;
            }
            pending = f;
            nonce = nonceFetch == null ? null : n;
        }
        return go -> {
            if (!go) {
                synchronized (this) {
                    if (pending == f) {
                        pending = null;
                    }
                }
                f.complete(new Outcome(null, null, null));
                n.complete(null);
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
                String fresh = null;
                try {
                    fresh = outcome.json() == null || nonceFetch == null ? null : nonceFetch.fetch(outcome.json());
                } catch (Exception | LinkageError e) {
                    LOG.debug("autocert4j: fetching a nonce from {} ahead of the first order failed; the order fetches one", directory, e);
                } finally {
                    n.complete(fresh);
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
     * The nonce fetched after the directory, once (a nonce is the CA's, not a session's: any session may use it), waiting
     * for it if in flight (at most {@code timeout}); null if there is none, it failed, or the prefetch is stale: the
     * caller then asks the CA for one itself, as without a prefetch.
     */
    String takeNonce(Duration timeout) {
        CompletableFuture<String> n;
        synchronized (this) {
            n = nonce;
            nonce = null;
            if (n == null || n.isDone() && stale()) {
                return null;
            }
        }
        try {
            return n.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        } catch (ExecutionException | TimeoutException e) {
            return null;
        }
    }

    /** A fresh nonce by a HEAD of {@code newNonce} (RFC 8555 §7.2), as acme4j asks for one; null if the answer has none. */
    static String headNonce(HttpClient client, URL newNonce, Duration timeout) throws IOException, InterruptedException, URISyntaxException {
        HttpResponse<Void> r = client.send(HttpRequest.newBuilder(newNonce.toURI()).method("HEAD", HttpRequest.BodyPublishers.noBody())
                .timeout(timeout).build(), HttpResponse.BodyHandlers.discarding());
        String n = r.statusCode() / 100 == 2 ? r.headers().firstValue("Replay-Nonce").orElse(null) : null;
        return n != null && BASE64URL.matcher(n).matches() ? n : null;
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
