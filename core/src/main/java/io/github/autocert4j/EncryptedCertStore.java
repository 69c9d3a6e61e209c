package io.github.autocert4j;

import java.io.IOException;
import java.security.GeneralSecurityException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import io.github.autocert4j.internal.crypto.PemEnvelope;
import io.github.autocert4j.internal.store.StoreLayout;

/**
 * A {@link CertStore} wrapper that keeps private keys encrypted at rest (envelope encryption), for
 * any store: file, PostgreSQL or your own.
 *
 * <p>Every PEM private-key block of a value (the ACME account key, each certificate's key in its
 * {@code .pem} bundle) is encrypted with AES-256-GCM under a fresh random data key, and that data key
 * is wrapped by the {@link KeyEncryptionKey} (KEK) given here; the KEK's id is written next to it.
 * Everything else (certificate chains, metadata, challenges, locks) is stored as it was, so peers and
 * tools can still read it. Values written before encryption was turned on are read as they are and
 * re-written encrypted by {@link #rotate()} (or at their next write).
 *
 * <p>A value whose KEK this store was not given, or that does not decrypt, fails to load with an
 * {@link IOException} naming the KEK id and the fix; and such a value is never overwritten by this
 * store (a node with a wrong KEK cannot replace the fleet's keys).
 *
 * <pre>{@code
 * CertStore store = EncryptedCertStore.wrap(FileCertStore.of(dir), KeyEncryptionKey.fromEnvironment("AUTOCERT4J_KEK"));
 * // rotation: the new KEK first, the old one to read what is still under it, then re-wrap everything
 * EncryptedCertStore rotating = EncryptedCertStore.wrap(raw, newKek, oldKek);
 * rotating.rotate();
 * }</pre>
 */
public final class EncryptedCertStore implements CertStore {
    private final CertStore delegate;
    private final KeyEncryptionKey current;
    private final Map<String, KeyEncryptionKey> keks = new LinkedHashMap<>();
    private final PemEnvelope.Keks lookup;

    private EncryptedCertStore(CertStore delegate, KeyEncryptionKey current, KeyEncryptionKey... previous) {
        if (delegate == null || current == null) {
            throw new IllegalArgumentException("EncryptedCertStore.wrap: " + (delegate == null ? "store" : "KEK")
                    + " is null. Fix: pass the store to wrap and a KeyEncryptionKey (from a file, the environment or a PKCS#11 token)");
        }
        this.delegate = delegate;
        this.current = current;
        keks.put(current.id(), current);
        for (KeyEncryptionKey k : previous) {
            keks.putIfAbsent(k.id(), k);
        }
        List<String> ids = List.copyOf(keks.keySet());
        this.lookup = new PemEnvelope.Keks() {
            @Override
            public KeyEncryptionKey byId(String id) {
                return keks.get(id);
            }

            @Override
            public List<String> ids() {
                return ids;
            }
        };
    }

    /**
     * Wraps {@code store}: new private keys are encrypted under {@code current}; values under
     * {@code current} or any of {@code previous} (KEKs being rotated away) are read.
     */
    public static EncryptedCertStore wrap(CertStore store, KeyEncryptionKey current, KeyEncryptionKey... previous) {
        return new EncryptedCertStore(store, current, previous);
    }

    /** The wrapped store. */
    public CertStore delegate() {
        return delegate;
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        Optional<byte[]> raw = delegate.load(key);
        if (raw.isEmpty()) {
            return raw;
        }
        return Optional.of(PemEnvelope.open(key, raw.get(), lookup));
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        delegate.store(key, prepare(key, value));
    }

    @Override
    public void store(String key, byte[] value, Lock held) throws IOException {
        delegate.store(key, prepare(key, value), held);
    }

    private byte[] prepare(String key, byte[] value) throws IOException {
        if (!PemEnvelope.hasPlainKey(value)) {
            return value;
        }
        // Never replace a key this process cannot read: a node with a wrong KEK would otherwise overwrite the fleet's keys.
        Optional<byte[]> existing = delegate.load(key);
        if (existing.isPresent()) {
            try {
                PemEnvelope.open(key, existing.get(), lookup);
            } catch (IOException unreadable) {
                throw new IOException("refusing to overwrite " + key + ": " + unreadable.getMessage(), unreadable);
            }
        }
        try {
            return PemEnvelope.seal(key, value, current);
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot encrypt the private key for " + key + " with KEK '" + current.id() + "' ("
                    + e.getClass().getSimpleName() + ": " + e.getMessage() + "). Fix: check the KEK (its token is reachable and logged in)", e);
        }
    }

    /**
     * Re-writes every value that holds a plaintext private key (migration of a store written without
     * encryption) or a key under a KEK other than the current one (rotation), each under the lock its
     * owner writes it under (certificate and account locks), so a concurrent renewal is never lost.
     * Run it with the old KEKs given as {@code previous}; once it returns they are no longer needed.
     *
     * @return how many values were re-written
     * @throws IOException if a value cannot be read (a KEK is missing): nothing of that value is changed
     */
    public int rotate() throws IOException {
        int rewritten = 0;
        for (String key : delegate.list("")) {
            Optional<byte[]> peek = delegate.load(key);
            if (peek.isEmpty() || !needsRewrite(peek.get())) {
                continue;
            }
            String lockName = StoreLayout.lockOfKey(key);
            try (Lock lock = lockName == null ? null : delegate.lock(lockName)) {
                Optional<byte[]> raw = delegate.load(key);
                if (raw.isEmpty() || !needsRewrite(raw.get())) {
                    continue;
                }
                byte[] plain = PemEnvelope.open(key, raw.get(), lookup);
                byte[] sealed;
                try {
                    sealed = PemEnvelope.seal(key, plain, current);
                } catch (GeneralSecurityException e) {
                    throw new IOException("cannot encrypt " + key + " with KEK '" + current.id() + "'. Fix: check the KEK", e);
                }
                if (lock == null) {
                    delegate.store(key, sealed);
                } else {
                    delegate.store(key, sealed, lock);
                }
                rewritten++;
            }
        }
        return rewritten;
    }

    private boolean needsRewrite(byte[] raw) {
        if (PemEnvelope.hasPlainKey(raw)) {
            return true;
        }
        for (String id : PemEnvelope.kekIds(raw)) {
            if (!id.equals(current.id())) {
                return true;
            }
        }
        return false;
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return delegate.list(prefix);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return delegate.delete(key);
    }

    @Override
    public Optional<Duration> age(String key) throws IOException {
        return delegate.age(key);
    }

    @Override
    public int removeLeftovers() throws IOException {
        return delegate.removeLeftovers();
    }

    @Override
    public Lock lock(String name) throws IOException {
        return delegate.lock(name);
    }

    /** Checks the wrapped store, then that the current KEK wraps and unwraps (a PKCS#11 token that is reachable and logged in). */
    @Override
    public void checkAccess() throws IOException {
        delegate.checkAccess();
        byte[] probe = new byte[32];
        try {
            if (!Arrays.equals(probe, current.unwrap(current.wrap(probe)))) {
                throw new IOException("KEK '" + current.id() + "' does not unwrap what it wrapped. Fix: check the KEK's provider");
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("KEK '" + current.id() + "' cannot wrap a data key (" + e.getClass().getSimpleName() + ": "
                    + e.getMessage() + "). Fix: check the KEK (file contents, token reachable and logged in)", e);
        }
    }

    @Override
    public Optional<AutoCloseable> watch(String prefix, Consumer<String> onChange) throws IOException {
        return delegate.watch(prefix, onChange);
    }

    @Override
    public String toString() {
        return delegate + " (private keys encrypted under KEK " + current.id() + ")";
    }

    /** The KEK ids this store reads, the current one first. */
    public List<String> kekIds() {
        return new ArrayList<>(keks.keySet());
    }
}
