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
 * cannot watch, or is down at start-up, is asked again later (1 min, doubling to 1 h).
 */
final class StoreWatch implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(StoreWatch.class);

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
            all.get().forEach(ManagedCertificate::peerChanged); // the channel was lost: look at everything
            return;
        }
        ManagedCertificate m = byStoreKey.apply(key);
        if (m != null) {
            m.peerChanged();
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
