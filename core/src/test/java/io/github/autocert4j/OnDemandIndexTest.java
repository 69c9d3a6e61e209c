package io.github.autocert4j;

import io.github.autocert4j.internal.ondemand.OnDemandIndex;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The on-demand renewal index: sharded, rewritten under a lock, read one shard at a time. */
class OnDemandIndexTest {
    static final Instant NOW = Instant.parse("2027-05-01T00:00:00Z");

    @TempDir
    Path dir;

    @Test
    void dueEntriesFollowTheLifetimeRuleAndUpdatesReplaceEarlierOnes() throws Exception {
        OnDemandIndex index = new OnDemandIndex(FileCertStore.of(dir));
        RenewalPolicy policy = RenewalPolicy.defaults();
        index.put("due.example.test", NOW.minus(Duration.ofDays(70)), NOW.plus(Duration.ofDays(20)));   // 1/3 left at day 60: due
        index.put("fresh.example.test", NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(89)));
        index.put("short.example.test", NOW.minus(Duration.ofDays(2)), NOW.plus(Duration.ofDays(4)));    // 6 days: due at 1/2
        assertEquals(List.of("due.example.test"), names(index.dueBefore(NOW, policy)));
        assertEquals(List.of("due.example.test", "short.example.test"), names(index.dueBefore(NOW.plus(Duration.ofDays(1).plusSeconds(1)), policy)));
        // renewed: the new dates replace the old line
        index.put("due.example.test", NOW, NOW.plus(Duration.ofDays(90)));
        assertTrue(index.dueBefore(NOW, policy).isEmpty());
        index.remove("short.example.test");
        assertTrue(names(index.dueBefore(NOW.plus(Duration.ofDays(5)), policy)).isEmpty());
    }

    @Test
    void shardsAreStableReadableTextAndADamagedLineLosesOnlyItself() throws Exception {
        OnDemandIndex index = new OnDemandIndex(FileCertStore.of(dir));
        index.put("a.example.test", NOW.minus(Duration.ofDays(89)), NOW.plus(Duration.ofDays(1)));
        String shard = OnDemandIndex.shard("a.example.test");
        assertEquals(String.format("%02x", Math.floorMod("a.example.test".hashCode(), 256)), shard);
        Path file = dir.resolve(OnDemandIndex.PREFIX + shard);
        String text = Files.readString(file, StandardCharsets.US_ASCII);
        assertTrue(text.matches("a\\.example\\.test \\d+ \\d+\\n"), text);
        Files.writeString(file, text + "garbage line\nb.example.test x y\n", StandardCharsets.US_ASCII);
        assertEquals(List.of("a.example.test"), names(index.dueBefore(NOW, RenewalPolicy.defaults())));
    }

    private static List<String> names(List<OnDemandIndex.Entry> entries) {
        return entries.stream().map(OnDemandIndex.Entry::name).sorted().toList();
    }
}
