package io.github.autocert4j.internal.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@link AcmeHttpClient} once an order is committed (its finalization asked for: the CA may have signed): an interrupt
 * (close(), a removal) while a request is answered, e.g. the certificate's download, no longer ends the request; the
 * answer is returned and the thread stays interrupted for its caller; the request's timeout still bounds it. Before it
 * is committed, an interrupt ends the request as before. A loopback JDK server holds the answer until the client was
 * interrupted; the transport is the library's ({@link UrlConnectionHttpClient}).
 */
@Timeout(30)
class AcmeHttpClientInterruptTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    HttpServer server;
    final CountDownLatch arrived = new CountDownLatch(1);
    final CountDownLatch release = new CountDownLatch(1);
    final UrlConnectionHttpClient jdk = new UrlConnectionHttpClient(null, TIMEOUT);

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/cert", ex -> {
            arrived.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            byte[] body = "-----BEGIN CERTIFICATE-----".getBytes(StandardCharsets.UTF_8);
            ex.sendResponseHeaders(200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        jdk.shutdown();
        server.stop(0);
        Thread.interrupted();
    }

    HttpRequest request(Duration timeout) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/cert")).timeout(timeout).build();
    }

    /** Interrupts the calling thread once the server holds the request, then lets the server answer. */
    void interruptThenAnswer(Thread caller) {
        Thread t = new Thread(() -> {
            try {
                if (arrived.await(20, TimeUnit.SECONDS)) {
                    caller.interrupt();
                    Thread.sleep(100); // the caller's wait has seen the interrupt (committed: it waits on)
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                release.countDown();
            }
        }, "interrupter");
        t.setDaemon(true);
        t.start();
    }

    @Test
    void aCommittedRequestIsAnsweredThoughInterrupted() throws Exception {
        AcmeHttpClient client = new AcmeHttpClient(jdk, TIMEOUT, new AtomicReference<>(), () -> true);
        interruptThenAnswer(Thread.currentThread());
        HttpResponse<String> r = client.send(request(TIMEOUT), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals("-----BEGIN CERTIFICATE-----", r.body());
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
    }

    /**
     * As acme4j reads every answer: through {@code BodyHandlers.ofInputStream()}, after {@code send} returned with the
     * interrupt kept. The JDK's stream takes its buffers under an interruptible lock, and since Java 21 (JDK-8294047) an
     * interrupted read closes it and throws: the downloaded certificate was lost there (found on reading the JDK 25
     * source; on 17 the read swallows the interrupt). Run this class on a Java 21+ JVM to see it fail without the
     * in-memory stream of {@code AcmeHttpClient.convert} ({@code -Djvm=/path/to/jdk25/bin/java}).
     */
    @Test
    void aCommittedAnswerIsReadAsAcme4jReadsIt() throws Exception {
        AcmeHttpClient client = new AcmeHttpClient(jdk, TIMEOUT, new AtomicReference<>(), () -> true);
        interruptThenAnswer(Thread.currentThread());
        HttpResponse<java.io.InputStream> r = client.send(request(TIMEOUT), HttpResponse.BodyHandlers.ofInputStream());
        assertTrue(Thread.currentThread().isInterrupted(), "send() returned with the interrupt kept");
        try (java.io.InputStream in = r.body()) {
            assertEquals("-----BEGIN CERTIFICATE-----", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertTrue(Thread.interrupted(), "the interrupt is still kept for the caller after the read");
    }

    @Test
    void aRequestBeforeTheCommitIsEndedByAnInterrupt() {
        AtomicBoolean committed = new AtomicBoolean();
        AcmeHttpClient client = new AcmeHttpClient(jdk, TIMEOUT, new AtomicReference<>(), committed::get);
        interruptThenAnswer(Thread.currentThread());
        assertThrows(InterruptedException.class, () -> client.send(request(TIMEOUT), HttpResponse.BodyHandlers.ofString()));
    }

    @Test
    void aCommittedRequestIsStillBoundedByItsTimeout() {
        AcmeHttpClient client = new AcmeHttpClient(jdk, TIMEOUT, new AtomicReference<>(), () -> true);
        Thread.currentThread().interrupt();
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> client.send(request(Duration.ofMillis(300)), HttpResponse.BodyHandlers.ofString()));
        assertTrue(e.getMessage().contains("httpTimeout"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "ended at its 300 ms timeout, not the server's 20 s hold");
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
        assertFalse(Thread.currentThread().isInterrupted());
    }
}
