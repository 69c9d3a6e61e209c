package io.github.autocert4j;

import java.time.Duration;
import java.util.List;

/** Small waiting helper shared by the Fault/Ari/Profile/Restart tests. */
final class FaultMatrixTestAccess {
    private FaultMatrixTestAccess() {
    }

    static <E extends CertEvent> E await(List<CertEvent> events, Class<E> type, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            for (CertEvent e : events) {
                if (type.isInstance(e)) {
                    return type.cast(e);
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no " + type.getSimpleName() + " within " + timeout + ": " + events);
    }
}
