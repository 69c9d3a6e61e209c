package io.github.autocert4j.internal.store;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.util.DaemonThreads;
import io.github.autocert4j.internal.util.LogSafe;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes what interrupted orders and killed processes left in the store: the store's own leftovers
 * ({@link CertStore#removeLeftovers()}, e.g. the file store's temporary files) and challenge answers
 * ({@code challenges/...}) stored longer ago than the maximum age, which no order can still need: an
 * order's challenges are answered within its order timeout, and the maximum age is at least twice
 * that (1 hour by default). Runs once at start, off the caller's thread, then every half maximum age,
 * on a daemon thread of its own (not the renewal executor: a host's scheduler may be shared or
 * manual, and a slow store must not delay renewals); each run deletes at most
 * {@value #MAX_DELETIONS} answers. The responders already refuse to answer an expired challenge, so
 * the sweep only reclaims the space.
 */
public final class LeftoverSweep implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(LeftoverSweep.class);
    /** The maximum age of a stored challenge answer unless the order timeout asks for more. */
    public static final Duration DEFAULT_CHALLENGE_MAX_AGE = Duration.ofHours(1);
    public static final int MAX_DELETIONS = 1000;
    public static final String CHALLENGES_PREFIX = "challenges/";

    private final CertStore store;
    private final Duration maxAge;
    private ScheduledThreadPoolExecutor thread; // guarded by this
    private volatile boolean closed;

    public LeftoverSweep(CertStore store, Duration maxAge) {
        this.store = store;
        this.maxAge = maxAge;
    }

    /** How old a stored challenge answer may get: 1 hour, or twice the order timeout if that is longer. */
    public static Duration challengeMaxAge(RenewalPolicy policy) {
        Duration twice = policy.orderTimeout().multipliedBy(2);
        return twice.compareTo(DEFAULT_CHALLENGE_MAX_AGE) > 0 ? twice : DEFAULT_CHALLENGE_MAX_AGE;
    }

    /** Sweeps now (on its own thread) and then every half maximum age. */
    public synchronized void start() {
        if (closed || thread != null) {
            return;
        }
        thread = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("autocert4j-leftover-sweep"));
        thread.scheduleWithFixedDelay(this::runQuietly, 0, Math.max(1000, maxAge.toMillis() / 2), TimeUnit.MILLISECONDS);
    }

    private void runQuietly() {
        if (closed) {
            return;
        }
        try {
            Swept s = run();
            if (s.total() > 0) {
                LOG.info("autocert4j: removed {} leftover(s) from the store: {} temporary file(s) of interrupted writes, "
                        + "{} challenge answer(s) older than {}", s.total(), s.storeLeftovers(), s.challenges(), maxAge);
            }
        } catch (IOException | RuntimeException e) {
            // the store is down or refuses: the next run tries again; expired answers are not served meanwhile
            LOG.info("autocert4j: could not sweep leftovers from the store now (next try in {}): {}",
                    Duration.ofMillis(Math.max(1000, maxAge.toMillis() / 2)), LogSafe.text(e.toString()));
        }
    }

    /** What one run removed. */
    public record Swept(int storeLeftovers, int challenges) {
        public int total() {
            return storeLeftovers + challenges;
        }
    }

    /** One sweep, on the calling thread. */
    public Swept run() throws IOException {
        int leftovers = store.removeLeftovers();
        int deleted = 0;
        List<String> keys = store.list(CHALLENGES_PREFIX);
        for (String key : keys) {
            if (deleted >= MAX_DELETIONS || closed) {
                break;
            }
            Optional<Duration> age = store.age(key);
            if (age.isPresent() && age.get().compareTo(maxAge) > 0 && store.delete(key)) {
                deleted++;
            }
        }
        return new Swept(leftovers, deleted);
    }

    @Override
    public synchronized void close() {
        closed = true;
        if (thread != null) {
            thread.shutdownNow();
        }
    }
}
