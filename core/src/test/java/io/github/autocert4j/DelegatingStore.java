package io.github.autocert4j;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A store that forwards the six store operations (and {@code age}, {@code removeLeftovers}) to another one: tests override the one they
 * fault or count. The default methods ({@code store} with a held lock, {@code watch}) are not
 * forwarded, so a fenced store still goes through an overridden {@code store}.
 */
class DelegatingStore implements CertStore {
    private final CertStore d;

    DelegatingStore(CertStore d) {
        this.d = d;
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        return d.load(key);
    }

    @Override
    public void store(String key, byte[] value) throws IOException {
        d.store(key, value);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return d.list(prefix);
    }

    @Override
    public boolean delete(String key) throws IOException {
        return d.delete(key);
    }

    @Override
    public Lock lock(String name) throws IOException {
        return d.lock(name);
    }

    @Override
    public void checkAccess() throws IOException {
        d.checkAccess();
    }

    @Override
    public Optional<Duration> age(String key) throws IOException {
        return d.age(key);
    }

    @Override
    public int removeLeftovers() throws IOException {
        return d.removeLeftovers();
    }
}
