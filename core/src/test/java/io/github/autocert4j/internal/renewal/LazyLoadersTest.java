package io.github.autocert4j.internal.renewal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import org.junit.jupiter.api.Test;

/** The loader pool refuses, never throws, when it cannot start a thread, and works again once it can. */
class LazyLoadersTest {
    @Test
    void aThreadThatCannotStartIsARefusalNotAnError() throws Exception {
        AtomicBoolean noThreads = new AtomicBoolean(true);
        ThreadFactory factory = r -> {
            if (noThreads.get()) {
                throw new OutOfMemoryError("unable to create native thread: possibly out of memory or process/resource limits reached");
            }
            Thread t = new Thread(r, "lazy-load-test");
            t.setDaemon(true);
            return t;
        };
        LazyLoaders loaders = new LazyLoaders(factory);
        try {
            CountDownLatch ran = new CountDownLatch(1);
            assertFalse(loaders.offer(ran::countDown), "refused: LazyStart completes the name's future itself");
            assertFalse(ran.await(100, TimeUnit.MILLISECONDS), "a refused load never runs later");
            noThreads.set(false);
            assertTrue(loaders.offer(ran::countDown));
            assertTrue(ran.await(5, TimeUnit.SECONDS));
        } finally {
            loaders.close();
        }
    }
}
