package io.github.autocert4j;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

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
 *       when the returned handle is closed or the holder dies.</li>
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

    /** Lists the keys that start with {@code prefix}, in no particular order. */
    List<String> list(String prefix) throws IOException;

    /** Deletes {@code key}; returns whether it existed. */
    boolean delete(String key) throws IOException;

    /**
     * Takes the exclusive lock called {@code name}, waiting for it if another thread or process
     * holds it. Issuance of a certificate runs under its lock so that servers sharing a store
     * never place two orders for the same certificate.
     */
    Lock lock(String name) throws IOException;

    /**
     * Checks that the store can be read and written now. Called by {@code AutoCert.Builder#build()}
     * so that a misconfigured store fails at start-up rather than at the first renewal.
     */
    default void checkAccess() throws IOException {
    }

    /** A held lock; closing it releases the lock. */
    interface Lock extends AutoCloseable {
        @Override
        void close() throws IOException;
    }
}
