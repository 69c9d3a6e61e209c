package io.github.autocert4j.testkit.internal;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A background loop of plain-HTTP GETs that counts every answer that is not the expected one:
 * proves that a host's own route keeps working on the port that also answers ACME challenges.
 * Bounded in count; stops on {@link #close()}.
 *
 * <pre>{@code
 * try (HttpRequestLoop loop = HttpRequestLoop.start(URI.create("http://127.0.0.1:5002/hello"), "hello", 100_000)) {
 *     autoCert.start();
 *     ...
 *     loop.close();
 *     assertTrue(loop.failures().isEmpty());
 * }
 * }</pre>
 *
 * <p><strong>Not API</strong>: a helper for autocert4j's own tests (see the {@linkplain io.github.autocert4j.testkit.internal
 * package}); it may change without notice.
 */
public final class HttpRequestLoop implements AutoCloseable {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final AtomicBoolean stop = new AtomicBoolean();
    private final AtomicInteger succeeded = new AtomicInteger();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private final Thread thread;

    private HttpRequestLoop(URI uri, String expectedBody, int maxRequests) {
        thread = new Thread(() -> run(uri, expectedBody, maxRequests), "http-request-loop");
        thread.setDaemon(true);
    }

    /** Starts sending GETs to {@code uri} (about one every 5 ms), expecting 200 and {@code expectedBody}. */
    public static HttpRequestLoop start(URI uri, String expectedBody, int maxRequests) {
        HttpRequestLoop loop = new HttpRequestLoop(uri, expectedBody, maxRequests);
        loop.thread.start();
        return loop;
    }

    private void run(URI uri, String expectedBody, int maxRequests) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();
        for (int i = 0; i < maxRequests && !stop.get(); i++) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && r.body().equals(expectedBody)) {
                    succeeded.incrementAndGet();
                } else {
                    failures.add(r.statusCode() + " " + r.body());
                }
                Thread.sleep(5);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                failures.add(e.toString());
            }
        }
    }

    /** Requests answered as expected so far. */
    public int succeeded() {
        return succeeded.get();
    }

    /** Every unexpected answer or error so far. */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    /** Stops the loop and waits (at most 15 s) for the request in flight. */
    @Override
    public void close() throws InterruptedException {
        stop.set(true);
        thread.join(15_000);
    }
}
