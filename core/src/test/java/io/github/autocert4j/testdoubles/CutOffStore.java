package io.github.autocert4j.testdoubles;

import io.github.autocert4j.CertStore;

import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * A store whose database went away after this node published its own challenge: writes succeed
 * (and are dropped), every other operation fails as {@link CertStore.UnavailableException}. Shared
 * by the adapters' tests through core's test-jar (the one copy of what three modules each wrote).
 */
public final class CutOffStore implements CertStore {
    private static IOException down() {
        return new CertStore.UnavailableException("connection refused (test: the store is cut off)", null);
    }

    @Override
    public Optional<byte[]> load(String key) throws IOException {
        throw down();
    }

    @Override
    public void store(String key, byte[] value) {
        // published before the cut
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        throw down();
    }

    @Override
    public boolean delete(String key) throws IOException {
        throw down();
    }

    @Override
    public Lock lock(String name) throws IOException {
        throw down();
    }

    @Override
    public void checkAccess() throws IOException {
        throw down();
    }
}
