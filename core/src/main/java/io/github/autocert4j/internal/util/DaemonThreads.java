package io.github.autocert4j.internal.util;

import java.util.concurrent.ThreadFactory;

/**
 * The library's own threads (renewal, start-up load, on-demand orders, peer challenge lookups):
 * named, so they can be told apart in a thread dump, and daemons, so they never keep the host's JVM
 * alive after it meant to exit.
 */
public final class DaemonThreads {
    private DaemonThreads() {
    }

    /** A factory of daemon threads all called {@code name}. */
    public static ThreadFactory named(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
