package io.github.autocert4j.postgres;

import java.io.IOException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.CertStore;

/**
 * One acquisition of a lock row: the row's {@code (holder, token)} pair identifies it, so only this handle can
 * extend or release that acquisition, and {@code token} is the fencing token.
 *
 * <p>{@code validUntilNanos} is a conservative local copy of the lease's end: it is set to the local time
 * taken <em>before</em> the statement that set {@code expires_at = clock_timestamp() + lease} was sent, plus
 * the lease, less 1% for clock-rate differences. The database evaluated {@code clock_timestamp()} after that
 * moment, so the real lease ends no earlier than the local copy says, and {@link #ensureHeld()} answers from
 * memory without a round trip. Fenced writes check the row itself.
 */
final class LeasedLock implements CertStore.Lock {

    final PostgresCertStore store;
    final String name;
    final String holder;
    final long token;
    private final Runnable releaseLocalSlot;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long validUntilNanos;
    private volatile String lostReason;
    private volatile ScheduledFuture<?> heartbeat;

    LeasedLock(PostgresCertStore store, String name, String holder, long token, long validUntilNanos, Runnable releaseLocalSlot) {
        this.store = store;
        this.name = name;
        this.holder = holder;
        this.token = token;
        this.validUntilNanos = validUntilNanos;
        this.releaseLocalSlot = releaseLocalSlot;
    }

    @Override
    public void ensureHeld() throws IOException {
        if (closed.get()) {
            throw new CertStore.LockLostException("lock '" + name + "' (token " + token + ") was released by close()");
        }
        String reason = lostReason;
        if (reason == null && System.nanoTime() - validUntilNanos > 0) {
            markLost("its lease of " + store.leaseDuration() + " ran out before the heartbeat could extend it");
            reason = lostReason;
        }
        if (reason != null) {
            throw new CertStore.LockLostException("lock '" + name + "' (token " + token + ") is no longer held: " + reason);
        }
    }

    @Override
    public long fencingToken() {
        return token;
    }

    /** Releases the lock (only this acquisition's row), stops the heartbeat; idempotent, never throws. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            ScheduledFuture<?> h = heartbeat;
            if (h != null) {
                h.cancel(false);
            }
            store.release(this);
        } finally {
            releaseLocalSlot.run();
        }
    }

    boolean isClosed() {
        return closed.get();
    }

    boolean isLost() {
        return lostReason != null;
    }

    long validUntilNanos() {
        return validUntilNanos;
    }

    void extendedUntil(long nanos) {
        validUntilNanos = nanos;
    }

    void markLost(String reason) {
        if (lostReason == null) {
            lostReason = reason;
        }
    }

    void heartbeat(ScheduledFuture<?> future) {
        this.heartbeat = future;
        if (closed.get()) {
            future.cancel(false);
        }
    }

    @Override
    public String toString() {
        return "PostgresCertStore.Lock[" + name + ", token " + token + (closed.get() ? ", released" : lostReason != null ? ", lost" : ", held") + "]";
    }
}
