package io.github.autocert4j.internal.store;

import java.io.IOException;
import java.time.Duration;

/**
 * Remembers a failed read of the store for a short while, so that many callers asking for the same
 * data in a row get the failure at once instead of each waiting out its own connection timeout (a
 * start-up load checking hundreds of certificates against the record of issuers while the database
 * is down). Not thread-safe: the owner calls it under its own lock.
 */
final class FailedReadMemo {
    private final Duration reuse;
    private final String what;
    private IOException failure;
    private long failedAtNanos;

    FailedReadMemo(String what, Duration reuse) {
        this.what = what;
        this.reuse = reuse;
    }

    /** Throws the remembered failure if it ended less than {@code reuse} ago. */
    void rethrowRecent() throws IOException {
        if (failure != null && System.nanoTime() - failedAtNanos < reuse.toNanos()) {
            throw new IOException("the last read of " + what + ", " + reuse.toMillis() + " ms ago at most, failed: " + failure.getMessage(), failure);
        }
    }

    void failed(Exception e) {
        failure = e instanceof IOException io ? io : new IOException(e.toString(), e);
        failedAtNanos = System.nanoTime();
    }

    void succeeded() {
        failure = null;
    }
}
