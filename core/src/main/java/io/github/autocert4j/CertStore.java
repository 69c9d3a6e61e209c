package io.github.autocert4j;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Where autocert4j keeps account keys, certificates and their private keys.
 *
 * <p>A small key/value interface in the spirit of CertMagic's {@code Storage}: anything that can
 * load, store, list, delete and lock can hold the state, so running several servers as a cluster
 * is a matter of giving them one shared store. Keys are relative paths made of
 * {@code [A-Za-z0-9._@-]} segments joined by {@code /}.
 *
 * <p>Contract that the manager relies on:
 * <ul>
 *   <li>{@link #store} is atomic: a reader (or a process restarted after a crash) sees the old
 *       value or the new one, never a mix or a truncated value.</li>
 *   <li>{@link #lock} is exclusive across every process that shares the store, and is released
 *       when the returned handle is closed or the holder dies. Only the holder releases it.</li>
 *   <li>{@link #store(String, byte[], Lock)} writes only while the given lock is still held, checked
 *       atomically with the write (a fenced write), so a holder that lost its lock (lease expired,
 *       connection cut, process paused) can never overwrite what the next holder wrote.</li>
 *   <li>Values may contain private keys: implementations must protect them at rest.</li>
 * </ul>
 *
 * <pre>{@code
 * CertStore store = FileCertStore.of(Path.of("/var/lib/myapp/certs"));
 * AutoCert.builder().store(store) ...
 * }</pre>
 */
public interface CertStore {

    /** Returns the value stored under {@code key}, or empty if there is none. */
    Optional<byte[]> load(String key) throws IOException;

    /** Stores {@code value} under {@code key}, atomically replacing any previous value. */
    void store(String key, byte[] value) throws IOException;

    /**
     * Stores {@code value} under {@code key} only if {@code held} is still held by this process,
     * atomically with that check; otherwise throws {@link LockLostException} and stores nothing.
     * Used for every write an order makes, so a stale holder's writes are harmless.
     *
     * <p>The default suits stores whose locks cannot be lost while the process lives (the file
     * store's {@code flock}s): it checks {@link Lock#ensureHeld()} and stores. Stores with leases
     * must override it and check the lease in the same transaction as the write.
     */
    default void store(String key, byte[] value, Lock held) throws IOException {
        held.ensureHeld();
        store(key, value);
    }

    /** Lists the keys that start with {@code prefix}, in no particular order. */
    List<String> list(String prefix) throws IOException;

    /** Deletes {@code key}; returns whether it existed. */
    boolean delete(String key) throws IOException;

    /**
     * How long ago the value under {@code key} was last stored, measured by the store itself (the file
     * store: now minus the file's modification time; PostgreSQL: on the database's clock), or empty if
     * there is no such key or the store cannot tell. Challenge answers that an interrupted order left
     * in the store expire by it: older than the maximum age they are neither answered nor kept. The
     * default cannot tell (such answers then never expire; a custom store should implement it).
     */
    default Optional<Duration> age(String key) throws IOException {
        return Optional.empty();
    }

    /**
     * Removes what writes interrupted by a crash left behind that is not a key (the file store's
     * temporary files of a process killed in the middle of a write), never anything a live write
     * still uses. The manager calls it at start and then periodically; returns how many were removed.
     * The default has nothing to remove.
     */
    default int removeLeftovers() throws IOException {
        return 0;
    }

    /**
     * Takes the exclusive lock called {@code name}, waiting for it if another thread or process
     * holds it. Issuance of a certificate runs under its lock so that servers sharing a store
     * never place two orders for the same certificate.
     */
    Lock lock(String name) throws IOException;

    /**
     * Checks that the store can be read and written now. Called by {@code AutoCertBuilder#build()}
     * so that a misconfigured store fails at start-up rather than at the first renewal. A store
     * that is merely unreachable for now (its database down) throws {@link UnavailableException}:
     * {@code build()} then starts the manager anyway.
     */
    default void checkAccess() throws IOException {
    }

    /**
     * Asks to be told when another process changes a key under {@code prefix}, so that servers
     * sharing the store adopt a peer's renewal at once instead of at their next check. Calls
     * {@code onChange} with the changed key, on a thread of the store's, possibly more than once per
     * change and possibly for changes this process made; a lost notification channel is reported by
     * calling {@code onChange} with {@code prefix} itself (re-read everything). Returns the handle
     * that stops the notifications, or empty if this store cannot watch (then peers adopt at their
     * next scheduled check).
     */
    default Optional<AutoCloseable> watch(String prefix, Consumer<String> onChange) throws IOException {
        return Optional.empty();
    }

    /** A held lock; closing it releases the lock (only the holder can). */
    interface Lock extends AutoCloseable {
        @Override
        void close() throws IOException;

        /**
         * Throws {@link LockLostException} if this lock is no longer held (its lease ran out or the
         * session that held it is gone). Stores whose locks cannot be lost while the process lives
         * keep the default, which does nothing.
         */
        default void ensureHeld() throws IOException {
        }

        /**
         * A number that grows with every acquisition of this lock name (a fencing token), or 0 if
         * the store does not issue them.
         */
        default long fencingToken() {
            return 0;
        }
    }

    /**
     * Thrown when the store cannot be reached right now (its database is down or restarting, the
     * network is cut, a connection pool is exhausted) rather than being misconfigured: the same call
     * may succeed later. {@code AutoCertBuilder#build()} does not fail on it (a fleet must start
     * while its database is down): the manager serves the self-signed fallback and reads the store
     * at its next attempts.
     *
     * <pre>{@code
     * try {
     *     store.checkAccess();
     * } catch (CertStore.UnavailableException down) {
     *     log.warn("certificate store unreachable, retrying later: {}", down.getMessage());
     * }
     * }</pre>
     */
    final class UnavailableException extends IOException {
        private static final long serialVersionUID = 1L;

        /** Creates one with a message saying what could not be reached and what to check. */
        public UnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Thrown when a write or check needs a lock that this process no longer holds. */
    final class LockLostException extends IOException {
        private static final long serialVersionUID = 1L;

        /** Creates one with a message naming the lock and why it was lost. */
        public LockLostException(String message) {
            super(message);
        }
    }
}
