package io.github.autocert4j.internal.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.sun.net.httpserver.HttpServer;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.shredzone.acme4j.exception.AcmeException;
import org.shredzone.acme4j.toolbox.JSON;

/** The directory prefetch of a first start (issue 23): taken once, waited for, failures passed on as they were. */
class DirectoryPrefetchTest {
    private static final URI DIR = URI.create("https://ca.invalid/dir");
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    @Test
    void theFirstSessionWaitsForTheFetchInFlightAndTakesItOnce() throws Exception {
        DirectoryPrefetch p = new DirectoryPrefetch();
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger fetches = new AtomicInteger();
        JSON json = JSON.parse("{\"newNonce\":\"https://ca.invalid/nonce\"}");
        Consumer<Boolean> go = p.reserve(DIR, new AtomicReference<>(), () -> {
            fetches.incrementAndGet();
            release.await(5, TimeUnit.SECONDS);
            return json;
        });
        assertNotNull(go);
        assertNull(p.reserve(DIR, new AtomicReference<>(), () -> json), "a second reservation while one is pending");
        go.accept(true);
        new Thread(() -> {
            sleep(100);
            release.countDown();
        }).start();
        assertSame(json, p.take(TIMEOUT, new AtomicReference<>()), "waited for the fetch in flight");
        assertNull(p.take(TIMEOUT, new AtomicReference<>()), "taken once: the next session fetches for itself");
        assertEquals(1, fetches.get());
    }

    @Test
    void aFailedFetchIsThrownToTheSessionWithItsRetryAfter() throws Exception {
        DirectoryPrefetch p = new DirectoryPrefetch();
        Instant asked = Instant.parse("2030-01-01T00:00:00Z");
        AtomicReference<Instant> prefetchRetryAfter = new AtomicReference<>();
        AcmeException failure = new AcmeException("HTTP 503");
        p.reserve(DIR, prefetchRetryAfter, () -> {
            prefetchRetryAfter.set(asked); // what AcmeHttpClient records for a 503 with Retry-After
            throw failure;
        }).accept(true);
        AtomicReference<Instant> sessionRetryAfter = new AtomicReference<>();
        AcmeException thrown = assertThrows(AcmeException.class, () -> p.take(TIMEOUT, sessionRetryAfter));
        assertSame(failure, thrown);
        assertEquals(asked, sessionRetryAfter.get(), "the session sees the Retry-After its own request would have recorded");
    }

    @Test
    void aReleasedReservationLetsTheSessionFetchForItself() throws Exception {
        DirectoryPrefetch p = new DirectoryPrefetch();
        AtomicInteger fetches = new AtomicInteger();
        p.reserve(DIR, new AtomicReference<>(), () -> {
            fetches.incrementAndGet();
            return JSON.empty();
        }).accept(false);
        assertNull(p.take(TIMEOUT, new AtomicReference<>()));
        assertEquals(0, fetches.get(), "nothing fetched when no certificate is to be ordered (no CA contact at start)");
        assertNotNull(p.reserve(DIR, new AtomicReference<>(), JSON::empty), "free again");
    }

    @Test
    void theNonceFetchedAfterTheDirectoryIsTakenOnce() throws Exception {
        DirectoryPrefetch p = new DirectoryPrefetch();
        JSON json = JSON.parse("{\"newNonce\":\"https://ca.invalid/nonce\"}");
        AtomicReference<JSON> given = new AtomicReference<>();
        p.reserve(DIR, new AtomicReference<>(), () -> json, d -> {
            given.set(d);
            return "nonce-1";
        }).accept(true);
        assertSame(json, p.take(TIMEOUT, new AtomicReference<>()));
        assertEquals("nonce-1", p.takeNonce(TIMEOUT), "waited for the nonce fetched after the directory");
        assertSame(json, given.get(), "fetched with the directory's newNonce");
        assertNull(p.takeNonce(TIMEOUT), "taken once: a nonce is good for one request");
    }

    @Test
    void noNonceWhenItsFetchFailsOrNothingWasFetched() throws Exception {
        DirectoryPrefetch failed = new DirectoryPrefetch();
        failed.reserve(DIR, new AtomicReference<>(), JSON::empty, d -> {
            throw new java.io.IOException("connection reset (test)");
        }).accept(true);
        failed.take(TIMEOUT, new AtomicReference<>());
        assertNull(failed.takeNonce(TIMEOUT), "the session asks the CA for one itself");

        DirectoryPrefetch directoryFailed = new DirectoryPrefetch();
        AtomicInteger nonceFetches = new AtomicInteger();
        directoryFailed.reserve(DIR, new AtomicReference<>(), () -> {
            throw new AcmeException("HTTP 503");
        }, d -> "nonce-" + nonceFetches.incrementAndGet()).accept(true);
        assertThrows(AcmeException.class, () -> directoryFailed.take(TIMEOUT, new AtomicReference<>()));
        assertNull(directoryFailed.takeNonce(TIMEOUT));
        assertEquals(0, nonceFetches.get(), "no nonce asked of a CA whose directory failed");

        DirectoryPrefetch released = new DirectoryPrefetch();
        released.reserve(DIR, new AtomicReference<>(), JSON::empty, d -> "nonce").accept(false);
        assertNull(released.takeNonce(TIMEOUT));
        assertNull(new DirectoryPrefetch().takeNonce(TIMEOUT), "no prefetch");
    }

    @Test
    void headNonceReadsReplayNonceFromARealServer() throws Exception {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        List<String> methods = new CopyOnWriteArrayList<>();
        server.createContext("/nonce", ex -> {
            methods.add(ex.getRequestMethod());
            ex.getResponseHeaders().add("Replay-Nonce", "oFvnlFP1wIhRlYS2jTaXbA");
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.createContext("/bad", ex -> {
            ex.getResponseHeaders().add("Replay-Nonce", "not a nonce!");
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.createContext("/none", ex -> {
            ex.sendResponseHeaders(204, -1);
            ex.close();
        });
        server.start();
        try {
            String base = "http://127.0.0.1:" + server.getAddress().getPort();
            HttpClient client = HttpClient.newHttpClient();
            assertEquals("oFvnlFP1wIhRlYS2jTaXbA", DirectoryPrefetch.headNonce(client, new URL(base + "/nonce"), TIMEOUT));
            assertEquals(List.of("HEAD"), methods);
            assertNull(DirectoryPrefetch.headNonce(client, new URL(base + "/bad"), TIMEOUT), "not base64url: acme4j asks itself");
            assertNull(DirectoryPrefetch.headNonce(client, new URL(base + "/none"), TIMEOUT));
        } finally {
            server.stop(0);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
