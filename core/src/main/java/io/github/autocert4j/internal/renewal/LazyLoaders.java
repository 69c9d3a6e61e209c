package io.github.autocert4j.internal.renewal;

import io.github.autocert4j.internal.util.DaemonThreads;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The loader threads of {@link LazyStart} for first handshakes and {@code certificateReady}: off the handshake's
 * thread (the store may hang), not behind the sweep's queue, and bounded: at most {@link #THREADS} loads run and
 * {@link #QUEUE} wait (LazyStart queues one load per certificate, whatever the number of its handshakes); a load
 * offered beyond that is refused and its handshake gets the fallback at once.
 */
final class LazyLoaders {
    /** Readers: a cold page cache makes each read wait on the disk. */
    static final int THREADS = 16;
    /**
     * Loads waiting for a thread: with a store that hangs, more would only queue reads that no handshake waits for any
     * more (each waits at most {@link LazyStart#HANDSHAKE_LOAD_WAIT_MILLIS}); the sweep's retry pass reads the rest.
     */
    static final int QUEUE = 4 * THREADS;

    private final ThreadPoolExecutor threads;

    LazyLoaders() {
        this(DaemonThreads.named("autocert4j-lazy-load"));
    }

    /** With the threads {@code factory} makes (a test's factory that fails to start one). */
    LazyLoaders(ThreadFactory factory) {
        threads = new ThreadPoolExecutor(THREADS, THREADS, 30, TimeUnit.SECONDS, new ArrayBlockingQueue<>(QUEUE), factory);
        threads.allowCoreThreadTimeOut(true);
    }

    /**
     * Runs {@code load} on a loader thread; false if {@link #QUEUE} loads wait already, if closed, or if no thread could
     * be started. The caller then completes the load's future itself: a future no load completes would make every
     * later handshake for that name wait out the full bound.
     */
    boolean offer(Runnable load) {
        try {
            threads.execute(load);
            return true;
        } catch (RejectedExecutionException fullOrClosed) {
            return false;
        } catch (OutOfMemoryError noNativeThread) { // "unable to create native thread": the load was not queued
            return false;
        }
    }

    /** Stops the threads (a load in progress is interrupted). */
    void close() {
        threads.shutdownNow();
    }
}
