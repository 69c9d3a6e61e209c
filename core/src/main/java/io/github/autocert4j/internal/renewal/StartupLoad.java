package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.internal.util.DaemonThreads;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The start-up load of {@link AutoCert#start()}, which never waits on a store that does not answer.
 *
 * <p>The load runs on its own thread; {@code start()} waits for it only while the store answers
 * (a read completed within {@link #STORE_SILENCE}). A store that is down (a read failed with
 * {@link CertStore.UnavailableException}) or silent (a pool waiting out its connection timeout, 30 s
 * with HikariCP's defaults) lets {@code start()} return at once: the self-signed fallback is served
 * and the load goes on in the background. A certificate the store could not be asked about (down,
 * a read that failed or timed out mid-load: {@link NotLoadedYet}) is neither "stored" nor "missing":
 * it is not checked (so nothing is ordered for it) but read again after 0.5 s, doubling to
 * {@link #RETRY_MAX} (2 s), until the store answers; then it is served (or, if the store has none,
 * checked and ordered) at once. What was loaded before the failure is served meanwhile.
 */
public final class StartupLoad implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StartupLoad.class);

    /** {@code start()} returns when no read completed for this long (the store hangs). */
    public static final Duration STORE_SILENCE = Duration.ofSeconds(2);
    public static final Duration RETRY_MIN = Duration.ofMillis(500);
    /** The longest pause between two attempts to read from a store that was unavailable. */
    public static final Duration RETRY_MAX = Duration.ofSeconds(2);

    /** What happens to a round's results (reporting the events, logging, checking the loaded certificates). */
    public interface Sink {
        /** @param first whether this is the first round (the one {@code start()} waits for) */
        void loaded(List<ManagedCertificate> certificates, List<CertificateSet.LoadResult> results, boolean first);
    }

    private final CertStore store;
    private final int parallelAbove;
    private final Sink sink;
    private final ScheduledExecutorService thread = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("autocert4j-start-load"));
    private final AtomicLong lastAnswer = new AtomicLong();
    private volatile boolean unavailableSeen;
    private volatile boolean closed;

    public StartupLoad(CertStore store, int parallelAbove, Sink sink) {
        this.store = store;
        this.parallelAbove = parallelAbove;
        this.sink = sink;
    }

    /**
     * Loads {@code all}; returns when done, or earlier (the load going on in the background) as soon
     * as the store was unavailable or silent for {@link #STORE_SILENCE}. Returns whether the first
     * round finished.
     *
     * @param storeHangs the store has not answered the builder's probe yet, or answered that it is unavailable: return at once
     */
    public boolean run(List<ManagedCertificate> all, boolean storeHangs) {
        lastAnswer.set(System.nanoTime());
        // The first round's results are reported from the caller's thread while it waits (as before
        // the load could go on without it), from the load's thread once the caller has gone.
        AtomicInteger handoff = new AtomicInteger(WAITING);
        CompletableFuture<List<CertificateSet.LoadResult>> done = new CompletableFuture<>();
        thread.execute(() -> {
            try {
                List<CertificateSet.LoadResult> results = read(all);
                if (handoff.compareAndSet(WAITING, HANDED)) {
                    done.complete(results);
                } else {
                    finish(all, results, RETRY_MIN, true);
                }
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
                throw e;
            }
        });
        while (true) {
            try {
                finish(all, done.get(50, TimeUnit.MILLISECONDS), RETRY_MIN, true);
                return true;
            } catch (TimeoutException waiting) {
                long silentNanos = System.nanoTime() - lastAnswer.get();
                if ((unavailableSeen || storeHangs || silentNanos >= STORE_SILENCE.toNanos()) && handoff.compareAndSet(WAITING, GONE)) {
                    LOG.warn("autocert4j: the store {} {}; serving the self-signed fallback for {} certificate(s) meanwhile (of {}; status(): "
                            + "PENDING, lastError \"{}...\"). Their stored certificates are loaded (nothing is ordered for them) once it "
                            + "answers; start-up does not wait for it", store, unavailableSeen ? "failed a read or cannot be reached now"
                            : storeHangs ? "did not answer when it was built" : "has not answered for " + STORE_SILENCE.toSeconds() + " s",
                            all.stream().filter(m -> !m.isLive()).count(), all.size(), NotLoadedYet.PREFIX.trim());
                    return false;
                }
            } catch (ExecutionException e) {
                throw new IllegalStateException("loading the stored certificates failed unexpectedly", e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                if (handoff.compareAndSet(WAITING, GONE)) {
                    return false; // the load goes on in the background
                }
                finish(all, done.join(), RETRY_MIN, true); // handed over already: no waiting left
                return true;
            }
        }
    }

    private static final int WAITING = 0;
    private static final int HANDED = 1;
    private static final int GONE = 2;

    private List<CertificateSet.LoadResult> read(List<ManagedCertificate> certificates) {
        return CertificateSet.loadStored(certificates, parallelAbove, answered -> {
            if (answered) {
                lastAnswer.set(System.nanoTime());
            } else {
                unavailableSeen = true;
            }
        });
    }

    /** Reports a round and reads again, after {@code delay}, what the store could not be asked about. */
    private void finish(List<ManagedCertificate> certificates, List<CertificateSet.LoadResult> results, Duration delay, boolean first) {
        if (closed) {
            return;
        }
        sink.loaded(certificates, results, first);
        List<ManagedCertificate> again = new ArrayList<>();
        for (int i = 0; i < certificates.size(); i++) {
            if (results.get(i).unavailable()) {
                again.add(certificates.get(i));
            }
        }
        if (again.isEmpty() || closed) {
            if (!first && !closed) {
                LOG.info("autocert4j: the store {} answers again; stored certificates loaded", store);
            }
            return;
        }
        if (first) { // why, once per start (each certificate's status and Failed event say it too)
            LOG.warn("autocert4j: {} of {} certificate(s) not loaded yet, read again until the store answers; the first: {}",
                    again.size(), certificates.size(), again.get(0).status(java.time.Instant.now()).lastError());
        }
        Duration next = delay.multipliedBy(2).compareTo(RETRY_MAX) > 0 ? RETRY_MAX : delay.multipliedBy(2);
        LOG.debug("autocert4j: the store is unavailable; reading {} certificate(s) again in {}", again.size(), delay);
        try {
            thread.schedule(() -> {
                if (!closed) {
                    finish(again, read(again), next, false);
                }
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closedMeanwhile) {
            LOG.debug("autocert4j: start-up load closed before the store answered");
        }
    }

    @Override
    public void close() {
        closed = true;
        thread.shutdownNow();
    }
}
