package io.github.autocert4j.internal.util;

import java.util.function.Supplier;

/**
 * SLF4J's first initialisation ({@link Loggers}) on a daemon thread of its own ({@code autocert4j-logging}) beside
 * some work of the caller's, ended before the work's result is returned (issue 23: {@code build()} assembles the
 * manager meanwhile). Not part of {@link Loggers}: calling a method of that class would initialise it on the caller.
 *
 * <p>Nothing changes in what is logged: a library logger made meanwhile waits for the initialisation
 * ({@link Loggers}), and the caller returns (or throws) only after it ended, so the host's own first logger, made
 * after {@code build()}, finds SLF4J initialised. When the application has logged before, there is nothing to
 * initialise and the thread ends at once. A failing initialisation fails where it did before: at the first logger.
 */
public final class LoggersBeside {
    /** The name of the initialising thread. */
    public static final String THREAD_NAME = "autocert4j-logging";

    private LoggersBeside() {
    }

    /** Runs {@code work} on the caller's thread while SLF4J initialises on another; returns after both ended. */
    public static <T> T run(Supplier<T> work) {
        DaemonThreads.named(THREAD_NAME).newThread(LoggersBeside::initialise).start();
        try {
            return work.get();
        } finally {
            Loggers.ready();
        }
    }

    private static void initialise() {
        try {
            Loggers.ready();
        } catch (LinkageError e) {
            // left to the caller's Loggers.ready() and the first logger, which fail as before
        }
    }
}
