package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.store.RenewalRequests;

import io.github.autocert4j.internal.store.StoreLayout;

import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
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
 *
 * <p>It also carries renewal requests an operator put in the store ({@link RenewalRequests}, the CLI's
 * {@code renew}): one watch of the whole store serves both (on PostgreSQL one LISTEN connection), or, on
 * a store that cannot watch (the file store), {@code renewals/} is listed every {@link #REQUEST_POLL}
 * (one small directory) on a thread of the watch's own, never on the host's executor.
 */
public final class StoreWatch implements AutoCloseable {
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
    /** Whether the store's watch is running (then renewal requests arrive through it, not by listing). */
    private volatile boolean watching;
    private volatile boolean scannedOnce;
    private volatile ScheduledExecutorService requestThread;
    /** Renewal requests already acted on, by key: each is acted on once per manager. */
    private final Map<String, byte[]> handledRequests = new ConcurrentHashMap<>();

    /** How often a store that cannot watch is listed for renewal requests. */
    public static final Duration REQUEST_POLL = Duration.ofSeconds(3);

    /**
     * @param byStoreKey the certificate whose bundle is stored under a key, or null
     * @param all every certificate in memory (told to look when the notification channel was lost)
     */
    public StoreWatch(Services services, Function<String, ManagedCertificate> byStoreKey, Supplier<List<ManagedCertificate>> all) {
        this.services = services;
        this.byStoreKey = byStoreKey;
        this.all = all;
    }

    public void start() {
        watch(Duration.ofMinutes(1));
        watchRequests();
    }

    /**
     * Renewal requests are read on a thread of the watch's own (one per manager, started here), never on the
     * host's executor: the polling of a store that cannot watch runs in real time whatever clock the host
     * gave the manager, and costs the executor nothing.
     */
    private void watchRequests() {
        ScheduledExecutorService own = Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("autocert4j-renewal-requests"));
        handles.add(own::shutdownNow);
        requestThread = own;
        // The first run reads the requests stored while this server was down; later ones only while the
        // store is not being watched (a store that cannot watch, or one whose watch has not started yet).
        own.scheduleWithFixedDelay(() -> {
            if (!watching || !scannedOnce) {
                scannedOnce = true;
                scanRequests();
            }
        }, 0, REQUEST_POLL.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void scanRequests() {
        if (closed) {
            return;
        }
        try {
            for (String key : services.storage().store().list(RenewalRequests.prefix())) {
                request(key);
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot list renewal requests: {}", e.toString());
        }
    }

    /** Acts on the renewal request stored under {@code key}, once per content. */
    private void request(String key) {
        if (closed || !key.startsWith(RenewalRequests.prefix())) {
            return;
        }
        try {
            byte[] bytes = services.storage().store().load(key).orElse(null);
            if (bytes == null) {
                handledRequests.remove(key);
                return;
            }
            byte[] before = handledRequests.get(key);
            if (before != null && Arrays.equals(before, bytes)) {
                return;
            }
            RenewalRequests.Request r = RenewalRequests.decode(bytes).orElse(null);
            ManagedCertificate m = r == null ? null : byStoreKey.apply(StoreLayout.certBundle(r.certificate()));
            if (m == null) {
                return; // not one of ours (another fleet's, or not configured here)
            }
            handledRequests.put(key, bytes);
            java.math.BigInteger serving = m.status(services.now()).serial();
            if (r.replaces() != null && serving != null && !serving.equals(r.replaces())) {
                return; // done already (by this server or a peer): an old request seen at start-up or again
            }
            LOG.info("autocert4j: renewal of {} requested through the store (by {} at {}, replacing serial {})", m.id,
                    LogSafe.text(r.requestedBy()), r.requestedAt(), r.replaces() == null ? "-" : r.replaces().toString(16));
            m.renewNow(r.replaces());
        } catch (IOException | RuntimeException e) {
            LOG.debug("autocert4j: cannot read renewal request {}: {}", key, e.toString());
        }
    }

    private void watch(Duration retryIn) {
        if (closed) {
            return;
        }
        try {
            // One watch (on PostgreSQL: one LISTEN connection) for the certificates and the renewal requests.
            services.storage().store().watch("", this::changedAny).ifPresent(h -> {
                handles.add(h);
                watching = true;
            });
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

    private void changedAny(String key) {
        if (closed) {
            return;
        }
        if (key.isEmpty()) {
            changed(StoreLayout.certsPrefix()); // the channel was lost: look at everything
            onRequestThread(this::scanRequests);
        } else if (key.startsWith(StoreLayout.certsPrefix())) {
            changed(key);
        } else if (key.startsWith(RenewalRequests.prefix())) {
            onRequestThread(() -> request(key));
        }
    }

    private void onRequestThread(Runnable r) {
        ScheduledExecutorService own = requestThread;
        if (own == null) {
            return; // not started yet: its first scan reads every request
        }
        try {
            own.execute(r);
        } catch (RejectedExecutionException closedMeanwhile) {
            LOG.debug("autocert4j: a renewal request arrived while closing");
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
