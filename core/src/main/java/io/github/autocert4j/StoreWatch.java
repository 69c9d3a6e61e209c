package io.github.autocert4j;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Servers sharing a store renew too: this tells a manager's certificates when the store says a
 * peer stored a new one, so they adopt it at once instead of at their next check. A store that
 * cannot watch, or is down at start-up, is asked again later (1 min, doubling to 1 h). When the
 * notification channel was lost and is back (the store asks for a re-read of everything), every
 * certificate looks at the store as soon as reads succeed again, so a server cut from the store
 * catches up on what it missed at once.
 */
final class StoreWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StoreWatch.class);
    /** How long a re-read after a lost notification channel waits for the store to answer reads. */
    private static final Duration READABLE_WAIT = Duration.ofSeconds(30);
    /** A key read to see whether the store answers (whether it exists does not matter). */
    private static final String READ_PROBE = StoreLayout.certsPrefix() + "autocert4j-read-probe";

    private final Services services;
    private final Function<String, ManagedCertificate> byStoreKey;
    private final Supplier<List<ManagedCertificate>> all;
    private final List<AutoCloseable> handles = new CopyOnWriteArrayList<>();
    private volatile boolean closed;

    /**
     * @param byStoreKey the certificate whose bundle is stored under a key, or null
     * @param all every certificate in memory (told to look when the notification channel was lost)
     */
    StoreWatch(Services services, Function<String, ManagedCertificate> byStoreKey, Supplier<List<ManagedCertificate>> all) {
        this.services = services;
        this.byStoreKey = byStoreKey;
        this.all = all;
    }

    void start() {
        watch(Duration.ofMinutes(1));
    }

    private void watch(Duration retryIn) {
        if (closed) {
            return;
        }
        try {
            services.storage().store().watch(StoreLayout.certsPrefix(), this::changed).ifPresent(handles::add);
        } catch (IOException | RuntimeException e) {
            Duration next = retryIn.multipliedBy(2).compareTo(Duration.ofHours(1)) > 0 ? Duration.ofHours(1) : retryIn.multipliedBy(2);
            LOG.warn("autocert4j: cannot watch the store for renewals by other servers ({}); they are adopted at the next check, "
                    + "and watching is tried again in {}", LogSafe.text(e.toString()), retryIn);
            try {
                services.executor().schedule(() -> watch(next), retryIn.toMillis(), TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException rejected) {
                LOG.debug("autocert4j: executor refused the watch retry: {}", rejected.toString());
            }
        }
    }

    private void changed(String key) {
        if (closed) {
            return;
        }
        if (key.equals(StoreLayout.certsPrefix())) {
            // The channel was lost and is back: look at everything, once the store answers reads again (a pool may
            // still be reconnecting when the notification channel already is; a failed re-read is not retried).
            awaitReadable();
            all.get().forEach(ManagedCertificate::peerChanged);
            return;
        }
        ManagedCertificate m = byStoreKey.apply(key);
        if (m != null) {
            m.peerChanged();
        }
    }

    /**
     * Waits, on the store's notification thread, until a read from the store succeeds: every 100 ms for at most
     * {@code READABLE_WAIT}; then the re-read goes ahead anyway (it fails like any read and the next check retries).
     */
    private void awaitReadable() {
        long deadline = System.nanoTime() + READABLE_WAIT.toNanos();
        while (!closed) {
            try {
                services.storage().store().load(READ_PROBE);
                return;
            } catch (IOException | RuntimeException e) {
                if (System.nanoTime() - deadline > 0) {
                    LOG.info("autocert4j: the store's notifications are back but reads still fail ({}); re-reading anyway",
                            LogSafe.text(e.toString()));
                    return;
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt(); // the watch is closing
                return;
            }
        }
    }

    @Override
    public void close() {
        closed = true;
        for (AutoCloseable h : handles) {
            try {
                h.close();
            } catch (Exception e) {
                LOG.debug("autocert4j: closing the store watch failed: {}", e.toString());
            }
        }
    }
}
