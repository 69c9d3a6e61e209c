package io.github.autocert4j.internal.config;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The bounded store probe of {@code AutoCertBuilder.build()} (split out of the builder, issue 19). */
public final class StoreProbe {
    private static final Logger LOG = LoggerFactory.getLogger("io.github.autocert4j.AutoCertBuilder"); // the builder's log, as before

    private StoreProbe() {
    }

    /** How long {@code AutoCertBuilder.build()} waits for the store's {@link CertStore#checkAccess()}: a pool's connection timeout is longer. */
    public static final java.time.Duration WAIT = java.time.Duration.ofSeconds(2);

    /**
     * {@code store.checkAccess()}, waited for at most {@link #WAIT}: a store that answers
     * reports its problems here, one that hangs (a pool waiting out its connection timeout) must
     * not hold up start-up. A late answer is still logged. {@code probe} completes with the answer.
     */
    public static void checkAccessBounded(CertStore store, java.util.concurrent.CompletableFuture<Void> probe)
            throws IOException, java.util.concurrent.TimeoutException {
        DaemonThreads.named("autocert4j-store-probe").newThread(() -> {
            try {
                store.checkAccess();
                probe.complete(null);
            } catch (Throwable t) {
                probe.completeExceptionally(t);
            }
        }).start();
        try {
            probe.get(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            probe.whenComplete((ok, late) -> {
                if (late != null && !(late instanceof CertStore.UnavailableException)) {
                    LOG.warn("autocert4j: the store {} answered late: it cannot be written ({}). Fix: check the store's "
                            + "permissions or connection settings", store, LogSafe.text(String.valueOf(late.getMessage())));
                } else {
                    LOG.info("autocert4j: the store {} answered {}", store, late == null ? "after all" : "late: still unavailable");
                }
            });
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.TimeoutException("interrupted while checking the store");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(cause);
        }
    }
}
