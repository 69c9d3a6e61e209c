package io.github.autocert4j.internal.ondemand;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.internal.renewal.RenewalPlanner;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The compact index of stored on-demand certificates that the renewal sweep reads instead of
 * the certificates themselves: 256 shards in the store ({@code ondemand/index/00} ..
 * {@code ff}), each a text file of lines {@code <name> <notBefore epoch s> <notAfter epoch s>}.
 * A shard is rewritten, under its own store lock, when one of its certificates is issued; the
 * sweep reads one shard at a time, so memory stays at one shard whatever the number of names.
 */
public final class OnDemandIndex {
    public static final int SHARDS = 256;
    public static final String PREFIX = "ondemand/index/";

    /** One indexed certificate. */
    public record Entry(String name, Instant notBefore, Instant notAfter) {
    }

    private final CertStore store;

    public OnDemandIndex(CertStore store) {
        this.store = store;
    }

    /** The shard holding {@code name}: String.hashCode is specified, so every JVM agrees. */
    public static String shard(String name) {
        return String.format("%02x", Math.floorMod(name.hashCode(), SHARDS));
    }

    public void put(String name, Instant notBefore, Instant notAfter) throws IOException {
        update(name, new Entry(name, notBefore, notAfter));
    }

    public void remove(String name) throws IOException {
        update(name, null);
    }

    private void update(String name, Entry entry) throws IOException {
        String shard = shard(name);
        try (CertStore.Lock lock = store.lock("ondemand-index-" + shard)) {
            Map<String, Entry> entries = read(shard);
            if (entry == null) {
                if (entries.remove(name) == null) {
                    return;
                }
            } else {
                entries.put(name, entry);
            }
            StringBuilder sb = new StringBuilder(entries.size() * 48);
            for (Entry e : entries.values()) {
                sb.append(e.name()).append(' ').append(e.notBefore().getEpochSecond()).append(' ')
                        .append(e.notAfter().getEpochSecond()).append('\n');
            }
            store.store(PREFIX + shard, sb.toString().getBytes(StandardCharsets.US_ASCII), lock);
        }
    }

    private Map<String, Entry> read(String shard) throws IOException {
        Map<String, Entry> entries = new LinkedHashMap<>();
        Optional<byte[]> bytes = store.load(PREFIX + shard);
        if (bytes.isEmpty()) {
            return entries;
        }
        String text = new String(bytes.get(), StandardCharsets.US_ASCII);
        int start = 0;
        while (start < text.length()) {
            int end = text.indexOf('\n', start);
            if (end < 0) {
                end = text.length();
            }
            String[] f = text.substring(start, end).split(" ");
            start = end + 1;
            if (f.length == 3) {
                try {
                    entries.put(f[0], new Entry(f[0], Instant.ofEpochSecond(Long.parseLong(f[1])), Instant.ofEpochSecond(Long.parseLong(f[2]))));
                } catch (NumberFormatException ignored) {
                    // a damaged line loses only that name's background renewal; its next handshake reloads it
                }
            }
        }
        return entries;
    }

    /**
     * The indexed certificates whose renewal moment (the lifetime rule without ARI: 1/3 of the
     * lifetime left, 1/2 for short-lived ones) comes before {@code horizon}. Reads one shard at a time.
     */
    public List<Entry> dueBefore(Instant horizon, RenewalPolicy policy) throws IOException {
        List<Entry> due = new ArrayList<>();
        for (int i = 0; i < SHARDS; i++) {
            for (Entry e : read(String.format("%02x", i)).values()) {
                Duration lifetime = Duration.between(e.notBefore(), e.notAfter());
                Instant renewAt = e.notAfter().minus(RenewalPlanner.renewBefore(lifetime, policy));
                if (renewAt.isBefore(horizon)) {
                    due.add(e);
                }
            }
        }
        return due;
    }
}
