package io.github.autocert4j.internal.store;

import io.github.autocert4j.CertStore;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A store that lives in memory and dies with its owner (tests).
 */
public final class MemoryCertStore implements CertStore {
    private final ConcurrentHashMap<String, byte[]> values = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, ReentrantLock> locks = new ConcurrentHashMap<>();

    @Override
    public Optional<byte[]> load(String key) {
        byte[] v = values.get(key);
        return v == null ? Optional.empty() : Optional.of(v.clone());
    }

    @Override
    public void store(String key, byte[] value) {
        values.put(key, value.clone());
    }

    @Override
    public List<String> list(String prefix) {
        return values.keySet().stream().filter(k -> k.startsWith(prefix)).sorted().toList();
    }

    @Override
    public boolean delete(String key) {
        return values.remove(key) != null;
    }

    @Override
    public Lock lock(String name) {
        ReentrantLock lock = locks.computeIfAbsent(name, n -> new ReentrantLock());
        lock.lock();
        return lock::unlock;
    }

    @Override
    public String toString() {
        return "MemoryCertStore[" + values.size() + " keys]";
    }
}
