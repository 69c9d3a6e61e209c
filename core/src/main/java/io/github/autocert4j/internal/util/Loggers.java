package io.github.autocert4j.internal.util;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The library's loggers, and SLF4J's first initialisation as this class's initialisation (issue 23). Every core logger
 * is made through here, in a nested holder class of its own ({@code Log.LOG}), so that a class that {@code build()}
 * initialises does not initialise SLF4J with it; {@link LoggersBeside} initialises this class on a thread of its own
 * while {@code build()} assembles the manager, and {@code build()} returns only after that ended.
 *
 * <p>Why through this class: SLF4J does not make a concurrent first caller wait. While one thread initialises it, any
 * other thread's {@code LoggerFactory.getLogger} returns a substitute logger that stays in that caller's static field,
 * and what it logs meanwhile is queued and replayed later under the initialising thread's name, with a warning on
 * stderr. The JVM makes every thread that touches a class being initialised wait for that initialisation instead, so a
 * library logger made while the initialisation runs on another thread is the binding's own logger, as before. Logger
 * names, levels and messages are those of {@code LoggerFactory.getLogger}, unchanged.
 */
public final class Loggers {
    static {
        LoggerFactory.getILoggerFactory(); // SLF4J's first initialisation, if the application has not logged yet
    }

    private Loggers() {
    }

    /** {@code LoggerFactory.getLogger(type)}, after SLF4J's initialisation. */
    public static Logger of(Class<?> type) {
        return LoggerFactory.getLogger(type);
    }

    /** {@code LoggerFactory.getLogger(name)}, after SLF4J's initialisation. */
    public static Logger of(String name) {
        return LoggerFactory.getLogger(name);
    }

    /** Returns once SLF4J is initialised: at once if it is, after waiting if another thread is initialising it. */
    public static void ready() {
        // nothing: calling this initialises the class, or waits for the thread that is initialising it
    }
}
