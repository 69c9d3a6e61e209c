package io.github.autocert4j.internal.acme;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The ACME transport over {@code HttpURLConnection} as acme4j uses it (issue 23): what acme4j sends arrives as it was
 * built (method, headers, the JWS body), what the CA answers comes back (status, headers by any case, body, also of
 * error answers), connections are kept alive between exchanges, a stalled CA ends in the JDK client's timeout type,
 * a cancelled exchange closes its connection, an oversized answer is refused, and a shut-down client starts nothing.
 * A JDK HTTP server on loopback plays the CA.
 */
@Timeout(30)
class UrlConnectionHttpClientTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    HttpServer server;
    final List<String> seen = new CopyOnWriteArrayList<>();
    final Set<Integer> clientPorts = ConcurrentHashMap.newKeySet();
    final CountDownLatch release = new CountDownLatch(1);
    final CountDownLatch held = new CountDownLatch(1);
    UrlConnectionHttpClient client = new UrlConnectionHttpClient(null, TIMEOUT);

    @BeforeEach
    void serve() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/dir", ex -> {
            record(ex);
            ex.getResponseHeaders().add("Replay-Nonce", "abc_DEF-123");
            ex.getResponseHeaders().add("Link", "<https://x/a>;rel=\"up\"");
            ex.getResponseHeaders().add("Link", "<https://x/b>;rel=\"alternate\"");
            answer(ex, 200, "{\"newNonce\":\"x\"}");
        });
        server.createContext("/order", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            record(ex);
            seen.add("body " + body);
            ex.getResponseHeaders().add("Content-Type", "application/problem+json");
            answer(ex, 400, "{\"type\":\"urn:ietf:params:acme:error:badNonce\"}");
        });
        server.createContext("/nonce", ex -> {
            record(ex);
            ex.getResponseHeaders().add("Replay-Nonce", "n0nce");
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.createContext("/hold", ex -> {
            held.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            answer(ex, 200, "late");
        });
        server.createContext("/moved", ex -> {
            record(ex);
            ex.getResponseHeaders().add("Location", "/dir");
            ex.sendResponseHeaders(302, -1);
            ex.close();
        });
        server.createContext("/trickle", ex -> {
            ex.sendResponseHeaders(200, 100);
            ex.getResponseBody().write(new byte[10]);
            ex.getResponseBody().flush();
            held.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        server.createContext("/huge", ex -> {
            ex.sendResponseHeaders(200, 0);
            try (var out = ex.getResponseBody()) {
                byte[] kb = new byte[1024];
                for (int i = 0; i <= UrlConnectionHttpClient.MAX_BODY / 1024; i++) {
                    out.write(kb);
                }
            } catch (IOException closedByClient) {
                // the client stops reading at its limit
            }
        });
        server.start();
    }

    @AfterEach
    void stop() {
        release.countDown();
        client.shutdown();
        server.stop(0);
    }

    void record(HttpExchange ex) {
        clientPorts.add(ex.getRemoteAddress().getPort());
        seen.add(ex.getRequestMethod() + " " + ex.getRequestURI().getPath() + " ua=" + ex.getRequestHeaders().getFirst("User-Agent")
                + " type=" + ex.getRequestHeaders().getFirst("Content-Type") + " len=" + ex.getRequestHeaders().getFirst("Content-Length")
                + " accept=" + ex.getRequestHeaders().getFirst("Accept"));
    }

    static void answer(HttpExchange ex, int status, String body) throws IOException {
        byte[] b = body.getBytes(StandardCharsets.UTF_8);
        ex.sendResponseHeaders(status, b.length);
        ex.getResponseBody().write(b);
        ex.close();
    }

    URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(uri(path)).timeout(TIMEOUT).header("User-Agent", "acme4j-test");
    }

    @Test
    void aGetComesBackWithItsHeadersAndBodyAndTheConnectionIsKept() throws Exception {
        for (int i = 0; i < 3; i++) {
            HttpResponse<InputStream> r = client.send(request("/dir").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, r.statusCode());
            assertEquals("abc_DEF-123", r.headers().firstValue("replay-nonce").orElseThrow(), "headers by any case");
            assertEquals(List.of("<https://x/a>;rel=\"up\"", "<https://x/b>;rel=\"alternate\""), r.headers().allValues("Link"), "in the order sent");
            assertEquals(uri("/dir"), r.uri());
            assertEquals(uri("/dir"), r.request().uri());
            try (InputStream in = r.body()) {
                assertEquals("{\"newNonce\":\"x\"}", new String(in.readAllBytes(), StandardCharsets.UTF_8));
            }
        }
        assertEquals("GET /dir ua=acme4j-test type=null len=null accept=*/*", seen.get(0), "not HttpURLConnection's own Accept list");
        assertEquals(1, clientPorts.size(), "one connection kept alive for the three exchanges: " + clientPorts);
    }

    /**
     * Over TLS with the ACME server trust (a lazily made context, as {@code acmeServerTrust} gives): the CA's certificate
     * is verified against it and its name checked (a lenient JVM-wide hostname verifier changes nothing), and the
     * connection is kept alive between exchanges (the JDK's keep-alive cache keys HTTPS
     * connections by the socket factory instance; a factory per request would mean a handshake per request).
     */
    @Test
    void overTlsTheTrustIsUsedAndTheConnectionIsKept() throws Exception {
        Tls pki = Tls.forLoopback();
        javax.net.ssl.SSLContext serverTls = pki.server();
        com.sun.net.httpserver.HttpsServer tls = com.sun.net.httpserver.HttpsServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        tls.setHttpsConfigurator(new com.sun.net.httpserver.HttpsConfigurator(serverTls));
        tls.createContext("/dir", ex -> {
            record(ex);
            answer(ex, 200, "{}");
        });
        tls.start();
        UrlConnectionHttpClient trusting = new UrlConnectionHttpClient(new LazySslContext(pki::client), TIMEOUT);
        try {
            URI dir = URI.create("https://127.0.0.1:" + tls.getAddress().getPort() + "/dir");
            for (int i = 0; i < 3; i++) {
                HttpResponse<String> r = trusting.send(HttpRequest.newBuilder(dir).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode());
                assertEquals("{}", r.body());
            }
            assertEquals(1, clientPorts.size(), "one TLS connection kept alive for the three exchanges: " + clientPorts);
            // the CA's name is checked in the handshake even where the application made HttpsURLConnection lenient
            javax.net.ssl.HostnameVerifier jvmWide = javax.net.ssl.HttpsURLConnection.getDefaultHostnameVerifier();
            javax.net.ssl.HttpsURLConnection.setDefaultHostnameVerifier((host, session) -> true);
            try {
                URI wrongName = URI.create("https://localhost:" + tls.getAddress().getPort() + "/dir"); // the certificate names 127.0.0.1
                IOException e = assertThrows(IOException.class,
                        () -> trusting.send(HttpRequest.newBuilder(wrongName).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()));
                assertInstanceOf(javax.net.ssl.SSLHandshakeException.class, e, e.toString());
                assertTrue(e.getMessage().contains("localhost"), e.getMessage());
            } finally {
                javax.net.ssl.HttpsURLConnection.setDefaultHostnameVerifier(jvmWide);
            }
            // the JDK's default trust does not know this CA: its certificate is checked
            IOException untrusted = assertThrows(IOException.class,
                    () -> client.send(HttpRequest.newBuilder(dir).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString()));
            assertInstanceOf(javax.net.ssl.SSLHandshakeException.class, untrusted, untrusted.toString());
        } finally {
            trusting.shutdown();
            tls.stop(0);
        }
    }

    /**
     * A client shut down while an exchange is still connecting (here: the CA's TLS handshake held back) sends nothing:
     * a closed manager's last request does not reach the CA after {@code close()} returned.
     */
    @Test
    void aClientShutDownWhileConnectingSendsNothing() throws Exception {
        Tls pki = Tls.forLoopback();
        UrlConnectionHttpClient trusting = new UrlConnectionHttpClient(pki.client(), TIMEOUT);
        CountDownLatch accepted = new CountDownLatch(1);
        CompletableFuture<String> received = new CompletableFuture<>();
        try (java.net.ServerSocket raw = new java.net.ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread ca = new Thread(() -> {
                try (java.net.Socket s = raw.accept()) {
                    accepted.countDown();
                    release.await(10, TimeUnit.SECONDS); // the handshake waits until the client was shut down
                    javax.net.ssl.SSLSocket tls = (javax.net.ssl.SSLSocket) pki.server().getSocketFactory()
                            .createSocket(s, s.getInetAddress().getHostAddress(), s.getPort(), true);
                    tls.setUseClientMode(false);
                    tls.setSoTimeout(5_000);
                    tls.startHandshake();
                    int first = tls.getInputStream().read();
                    received.complete(first < 0 ? "nothing" : "a request");
                } catch (Exception e) {
                    received.complete("nothing (" + e.getClass().getSimpleName() + ")");
                }
            });
            ca.setDaemon(true);
            ca.start();
            CompletableFuture<HttpResponse<String>> f = trusting.sendAsync(HttpRequest.newBuilder(
                    URI.create("https://127.0.0.1:" + raw.getLocalPort() + "/dir")).timeout(TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
            assertTrue(accepted.await(10, TimeUnit.SECONDS));
            trusting.shutdown();
            release.countDown();
            ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
            assertTrue(e.getCause().getMessage().contains("closed"), e.getCause().toString());
            assertTrue(received.get(10, TimeUnit.SECONDS).startsWith("nothing"), "the CA received " + received.get());
        }
    }

    /** A self-signed certificate for 127.0.0.1 and TLS contexts serving it and trusting only it. */
    record Tls(javax.net.ssl.KeyManagerFactory keys, javax.net.ssl.TrustManagerFactory trust) {
        static Tls forLoopback() throws Exception {
            io.github.autocert4j.internal.store.CertBundle ca = io.github.autocert4j.internal.tls.SelfSigned.create(List.of("127.0.0.1"),
                    java.time.Instant.now());
            java.security.KeyStore keys = java.security.KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry("ca", ca.keyPair().getPrivate(), new char[0], ca.chain().toArray(new java.security.cert.Certificate[0]));
            javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(keys, new char[0]);
            java.security.KeyStore anchors = java.security.KeyStore.getInstance("PKCS12");
            anchors.load(null, null);
            anchors.setCertificateEntry("ca", ca.leaf());
            javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(anchors);
            return new Tls(kmf, tmf);
        }

        javax.net.ssl.SSLContext server() throws Exception {
            javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
            c.init(keys.getKeyManagers(), null, null);
            return c;
        }

        javax.net.ssl.SSLContext client() throws Exception {
            javax.net.ssl.SSLContext c = javax.net.ssl.SSLContext.getInstance("TLS");
            c.init(null, trust.getTrustManagers(), null);
            return c;
        }
    }

    @Test
    void aPostSendsItsBodyAndAnErrorAnswerIsRead() throws Exception {
        String jws = "{\"protected\":\"eyJ\",\"payload\":\"\",\"signature\":\"c2ln\"}";
        HttpResponse<String> r = client.send(request("/order").header("Content-Type", "application/jose+json")
                .POST(HttpRequest.BodyPublishers.ofString(jws)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(400, r.statusCode());
        assertEquals("application/problem+json", r.headers().firstValue("Content-Type").orElseThrow());
        assertEquals("{\"type\":\"urn:ietf:params:acme:error:badNonce\"}", r.body());
        assertEquals(List.of("POST /order ua=acme4j-test type=application/jose+json len=" + jws.length() + " accept=*/*", "body " + jws), seen);
    }

    @Test
    void aHeadGivesTheNonceAndTheConnectionIsKept() throws Exception {
        for (int i = 0; i < 2; i++) {
            HttpResponse<Void> r = client.send(request("/nonce").method("HEAD", HttpRequest.BodyPublishers.noBody()).build(),
                    HttpResponse.BodyHandlers.discarding());
            assertEquals(200, r.statusCode());
            assertEquals("n0nce", r.headers().firstValue("Replay-Nonce").orElseThrow());
        }
        assertEquals("HEAD /nonce ua=acme4j-test type=null len=null accept=*/*", seen.get(0));
        assertEquals(1, clientPorts.size(), "kept alive: " + clientPorts);
    }

    @Test
    void aStalledAnswerEndsInTheJdkClientsTimeoutType() {
        IOException e = assertThrows(IOException.class,
                () -> client.send(request("/hold").timeout(Duration.ofMillis(300)).build(), HttpResponse.BodyHandlers.ofString()));
        assertInstanceOf(HttpTimeoutException.class, e, "read by AcmeFailures and CaHealth as the CA's silence: " + e);
    }

    @Test
    void cancellingAnExchangeClosesItsConnection() throws Exception {
        Set<Thread> before = exchangeThreads();
        CompletableFuture<HttpResponse<String>> f = client.sendAsync(request("/hold").build(), HttpResponse.BodyHandlers.ofString());
        assertTrue(held.await(10, TimeUnit.SECONDS));
        f.cancel(true);
        // the exchange's thread, blocked in a socket read (which ignores interrupts), is free again at once
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!reading(before).isEmpty() && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertEquals(Set.of(), reading(before), "no exchange thread left reading after the cancel");
    }

    /**
     * A CA that stops in the middle of its answer: the caller's cancel (its timeout, an interrupt) returns at once,
     * although closing the connection waits for the exchange's blocked body read (the JDK's streams lock both).
     */
    @Test
    void aCancelDuringAStalledBodyReturnsAtOnce() throws Exception {
        CompletableFuture<HttpResponse<byte[]>> f = client.sendAsync(request("/trickle").timeout(Duration.ofSeconds(10)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertTrue(held.await(10, TimeUnit.SECONDS));
        Thread.sleep(200); // the exchange is in its body read by now
        long t0 = System.nanoTime();
        f.cancel(true);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 1_000, "cancel() returned after " + ms + " ms, not at once (the read timeout is 10 s)");
        assertTrue(f.isCancelled());
    }

    @Test
    void aRedirectIsFollowedAndTheAnswerNamesTheFinalRequest() throws Exception {
        HttpResponse<String> r = client.send(request("/moved").build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode());
        assertEquals("{\"newNonce\":\"x\"}", r.body());
        assertEquals(uri("/dir"), r.uri());
        assertEquals(uri("/dir"), r.request().uri(), "acme4j resolves relative links against the request answered");
        assertEquals("acme4j-test", r.request().headers().firstValue("User-Agent").orElseThrow());
    }

    @Test
    void aRefusedConnectionIsAConnectException() throws Exception {
        int closed;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort();
        }
        IOException e = assertThrows(IOException.class, () -> client.send(
                HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + closed + "/dir")).timeout(TIMEOUT).build(),
                HttpResponse.BodyHandlers.ofString()));
        assertInstanceOf(java.net.ConnectException.class, e, "AcmeFailures names the fix for an unreachable CA: " + e);
    }

    @Test
    void anAnswerLargerThanTheLimitIsRefused() {
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> client.sendAsync(request("/huge").build(), HttpResponse.BodyHandlers.ofByteArray()).get(10, TimeUnit.SECONDS));
        assertTrue(e.getCause().getMessage().contains("larger than " + UrlConnectionHttpClient.MAX_BODY), e.getCause().toString());
    }

    @Test
    void aShutDownClientStartsNoExchangeAndItsThreadsEnd() throws Exception {
        Set<Thread> before = exchangeThreads();
        assertEquals(200, client.send(request("/dir").build(), HttpResponse.BodyHandlers.ofByteArray()).statusCode());
        Set<Thread> made = exchangeThreads();
        made.removeAll(before);
        assertEquals(1, made.size(), "one exchange thread was made: " + made);
        client.shutdown();
        IOException e = assertThrows(IOException.class, () -> client.send(request("/dir").build(), HttpResponse.BodyHandlers.ofByteArray()));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (made.stream().anyMatch(Thread::isAlive) && System.nanoTime() < end) {
            Thread.sleep(20);
        }
        assertTrue(made.stream().noneMatch(Thread::isAlive), "the idle exchange thread ended at shutdown, not after its 30 s idle time");
    }

    /** The live threads named as the client's exchange threads (other clients' included: tests take differences). */
    static Set<Thread> exchangeThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(t -> t.isAlive() && t.getName().equals(UrlConnectionHttpClient.THREAD_NAME))
                .collect(java.util.stream.Collectors.toCollection(java.util.HashSet::new));
    }

    /** The exchange threads made since {@code before} that are inside an HTTP exchange. */
    static Set<Thread> reading(Set<Thread> before) {
        Set<Thread> reading = new java.util.HashSet<>();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            if (t.getName().equals(UrlConnectionHttpClient.THREAD_NAME) && !before.contains(t)
                    && java.util.Arrays.stream(stack).anyMatch(f -> f.getClassName().contains("HttpURLConnection"))) {
                reading.add(t);
            }
        });
        return reading;
    }
}
