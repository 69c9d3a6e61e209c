package io.github.autocert4j.internal.util;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Waits that an interrupt does not end, for work that must finish once begun: an order the CA may already have signed
 * (its finalization, the polls until it is valid, the certificate's download) and the new certificate's store write.
 * Dropped there, the certificate is lost and the next start orders a duplicate (Let's Encrypt allows 5 a week). Each
 * wait stays bounded by its own time; an interrupt that arrives before or during it is set aside and restored when it
 * returns or throws, so the caller still sees it and decides (e.g. to store the certificate and not take it live).
 */
public final class Uninterruptibly {
    private Uninterruptibly() {
    }

    /** Sleeps {@code nanos}, through interrupts; the thread is interrupted afterwards if it was before or meanwhile. */
    public static void sleep(long nanos) {
        boolean interrupted = Thread.interrupted();
        long end = System.nanoTime() + nanos;
        try {
            for (long left = nanos; left > 0; left = end - System.nanoTime()) {
                try {
                    TimeUnit.NANOSECONDS.sleep(left);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * {@code future.get(nanos)}, through interrupts; the thread is interrupted afterwards if it was before or meanwhile.
     *
     * @throws TimeoutException if {@code nanos} ran out (the future is not cancelled: the caller decides)
     */
    public static <T> T get(Future<T> future, long nanos) throws ExecutionException, TimeoutException {
        boolean interrupted = Thread.interrupted();
        long end = System.nanoTime() + nanos;
        try {
            while (true) {
                try {
                    return future.get(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
