package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.PeerChallenges;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Challenges another server published, as the server the CA reached looks them up: from the store
 * only when asked, hits and misses remembered, reads bounded per second, so a flood of random
 * tokens cannot hammer the store. Counted by the store's own reads.
 */
class PeerChallengesTest {
    @TempDir
    Path dir;
    final List<String> reads = new CopyOnWriteArrayList<>();

    CertStore counting() {
        return new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                reads.add(key);
                return super.load(key);
            }
        };
    }

    @Test
    void aPeersTokenIsAnsweredAndHitsAndMissesAreRemembered() throws Exception {
        CertStore store = counting();
        store.store(StoreLayout.http01Challenge("tok1"), "tok1.thumb".getBytes(StandardCharsets.US_ASCII));
        Http01Responder other = new Http01Responder(store);
        assertEquals(Optional.of("tok1.thumb"), other.keyAuthorization("tok1"));
        assertEquals(Optional.of("tok1.thumb"), other.lookup("tok1").get(5, TimeUnit.SECONDS));
        assertEquals(1, reads.size(), "the second answer came from the cache: " + reads);
        assertEquals(Optional.empty(), other.keyAuthorization("nope"));
        assertEquals(Optional.empty(), other.keyAuthorization("nope"));
        assertEquals(2, reads.size(), "a miss is remembered too");
        assertEquals(Optional.empty(), other.keyAuthorization("bad/token"), "malformed tokens never reach the store");
        assertEquals(2, reads.size());
    }

    @Test
    void aFloodOfRandomTokensReadsTheStoreABoundedNumberOfTimes() {
        Http01Responder responder = new Http01Responder(counting());
        for (int i = 0; i < 1000; i++) {
            assertEquals(404, responder.answer("random" + i).status(), "beyond the bound a made-up token is 404, not 503 "
                    + "(a load balancer would replay the flood on every other server)");
        }
        assertTrue(reads.size() <= 100, "at most 50 reads a second (the loop may span two windows): " + reads.size());
    }

    @Test
    void forgettingDropsTheCachedAnswerAndTellsTheOwner() throws Exception {
        CertStore store = counting();
        store.store("peer/x", "v".getBytes(StandardCharsets.US_ASCII));
        List<String> dropped = new CopyOnWriteArrayList<>();
        PeerChallenges<String> peers = new PeerChallenges<>(store, id -> "peer/" + id, (id, b) -> id + "=" + new String(b, StandardCharsets.US_ASCII),
                v -> { }, dropped::add, "test-lookup");
        assertNull(peers.cached("x"), "unknown before the first read");
        assertEquals(Optional.of("x=v"), peers.load("x"));
        assertEquals(Optional.of("x=v"), peers.cached("x"));
        peers.forget("x");
        assertEquals(List.of("x=v"), dropped);
        assertNull(peers.cached("x"));
        peers.close();
    }

    @Test
    void aFullCacheEvictsTheEldestAndStillAnswers() throws Exception {
        CertStore store = counting();
        for (int i = 0; i < 10; i++) {
            store.store("peer/t" + i, ("v" + i).getBytes(StandardCharsets.US_ASCII));
        }
        List<String> cachedHits = new CopyOnWriteArrayList<>();
        List<String> dropped = new CopyOnWriteArrayList<>();
        PeerChallenges<String> peers = new PeerChallenges<>(store, id -> "peer/" + id, (id, b) -> new String(b, StandardCharsets.US_ASCII),
                cachedHits::add, dropped::add, "test-lookup", 4, null);
        for (int i = 0; i < 10; i++) {
            assertEquals(Optional.of("v" + i), peers.load("t" + i), "found after the cache filled up (entry " + i + ")");
            assertTrue(peers.cachedEntries() <= 4, "bounded: " + peers.cachedEntries());
        }
        assertEquals(10, cachedHits.size());
        assertEquals(List.of("v0", "v1", "v2", "v3", "v4", "v5"), dropped, "the eldest left first, each reported once");
        assertNull(peers.cached("t0"), "evicted");
        assertEquals(Optional.of("v9"), peers.cached("t9"));
        peers.close();
    }

    @Test
    void aStoreThatFailsGets503NotA404AndTheNextLookupAsksAgain() throws Exception {
        boolean[] down = {true};
        CertStore flaky = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                reads.add(key);
                if (down[0]) {
                    throw new CertStore.UnavailableException("connection refused (test)", null);
                }
                return super.load(key);
            }
        };
        flaky.store(StoreLayout.http01Challenge("tok2"), "tok2.thumb".getBytes(StandardCharsets.US_ASCII));
        Http01Responder node = new Http01Responder(flaky);
        try {
            for (int i = 0; i < 3; i++) {
                Http01Responder.Answer blocking = node.answer("tok2");
                assertEquals(Http01Responder.Outcome.UNKNOWN, blocking.outcome());
                assertEquals(503, blocking.status());
                assertEquals("Service Unavailable\n", blocking.body());
                assertEquals(503, node.answerAsync("tok2").get(5, TimeUnit.SECONDS).status());
            }
            assertEquals(6, reads.size(), "\"cannot tell\" is never cached: every request asks the store again " + reads);
            assertEquals(Optional.empty(), node.keyAuthorization("tok2"), "the Optional API still says \"no answer\"");
            down[0] = false;
            assertEquals(new Http01Responder.Answer(Http01Responder.Outcome.FOUND, "tok2.thumb"), node.answer("tok2"));
            assertEquals(404, node.answer("unknownToken").status(), "a token the store does not have: 404");
            assertEquals(1, node.answeredCount());
        } finally {
            node.close();
        }
    }

    @Test
    void aStoreThatDoesNotAnswerGets503WithinTheLookupTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CertStore hanging = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                try {
                    release.await(30, TimeUnit.SECONDS); // a cut network: packets dropped, no error for a long time
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return Optional.empty();
            }
        };
        Http01Responder node = new Http01Responder(hanging);
        try {
            long start = System.nanoTime();
            assertEquals(503, node.answerAsync("slowToken").get(10, TimeUnit.SECONDS).status());
            long asyncMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            start = System.nanoTime();
            assertEquals(503, node.answer("slowToken2").status());
            long blockingMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            for (long ms : new long[] {asyncMillis, blockingMillis}) {
                assertTrue(ms >= Http01Responder.LOOKUP_TIMEOUT_MILLIS - 50 && ms < Http01Responder.LOOKUP_TIMEOUT_MILLIS + 1500,
                        "503 after the lookup timeout (" + Http01Responder.LOOKUP_TIMEOUT_MILLIS + " ms), in time for a load balancer "
                                + "to try another server: " + ms + " ms");
            }
        } finally {
            release.countDown();
            node.close();
        }
    }

    @Test
    void anAnswerStoredLongerAgoThanTheMaximumAgeIsNotServed() throws Exception {
        FileCertStore files = FileCertStore.of(dir);
        files.store(StoreLayout.http01Challenge("old"), "old.thumb".getBytes(StandardCharsets.US_ASCII));
        files.store(StoreLayout.http01Challenge("fresh"), "fresh.thumb".getBytes(StandardCharsets.US_ASCII));
        Files.setLastModifiedTime(dir.resolve(StoreLayout.http01Challenge("old")), FileTime.from(Instant.now().minus(Duration.ofHours(2))));
        Http01Responder node = new Http01Responder(files, Duration.ofHours(1));
        try {
            assertEquals(404, node.answer("old").status(), "an abandoned order's answer (2 h old, limit 1 h) is not pending");
            assertEquals(Optional.of("fresh.thumb"), node.answer("fresh").found());
        } finally {
            node.close();
        }
    }
}
