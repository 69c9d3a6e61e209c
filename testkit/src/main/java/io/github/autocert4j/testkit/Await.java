package io.github.autocert4j.testkit;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * Bounded waiting for what another thread records (events appended to a concurrent list by a listener):
 * polls every 20 ms, fails with everything recorded so far once the time is up.
 *
 * <pre>{@code
 * List<CertEvent> events = new CopyOnWriteArrayList<>();
 * AutoCert a = AutoCert.builder()...listener(events::add).build().start();
 * CertEvent.Issued issued = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued, 30);
 * }</pre>
 */
public final class Await {
    private Await() {
    }

    /** The first of {@code items} matching {@code p}, waiting at most {@code seconds}; AssertionError naming them all if none does. */
    public static <T> T first(List<T> items, Predicate<? super T> p, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            for (T item : items) {
                if (p.test(item)) {
                    return item;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no such event within " + seconds + " s: " + items);
    }
}
