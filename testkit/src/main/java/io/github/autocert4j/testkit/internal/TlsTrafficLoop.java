package io.github.autocert4j.testkit.internal;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * Ordinary TLS traffic against a server port on a background thread, to prove that something
 * happening meanwhile (a certificate swap, an ACME TLS-ALPN-01 validation on the same port) does
 * not disturb it. Alternates two kinds of connection, each a fresh TLS session with SNI:
 * <ul>
 *   <li>an HTTP/1.1 {@code GET} offering ALPN {@code http/1.1} only, whose body must be {@code expectedBody};</li>
 *   <li>a handshake offering ALPN {@code h2, http/1.1}, which must negotiate {@code expectedH2Protocol}
 *       ({@code "h2"} for a server that speaks HTTP/2, {@code ""} for one without ALPN).</li>
 * </ul>
 * Any server certificate is accepted (the server may still serve its self-signed fallback); the
 * served certificate is checked elsewhere. Bounded in count and time.
 *
 * <pre>{@code
 * try (TlsTrafficLoop traffic = TlsTrafficLoop.start(new InetSocketAddress("127.0.0.1", 8443), "app.test", "/x", "tls /x", "h2", 10_000)) {
 *     // ... something that must not disturb it ...
 *     traffic.stop();
 *     assertTrue(traffic.failures().isEmpty(), traffic.failures().toString());
 * }
 * }</pre>
 *
 * <p><strong>Not API</strong>: a helper for autocert4j's own tests (see the {@linkplain io.github.autocert4j.testkit.internal
 * package}); it may change without notice.
 */
public final class TlsTrafficLoop implements AutoCloseable {
    private static final Duration MAX_RUN = Duration.ofMinutes(3);
    private static final int TIMEOUT_MILLIS = 5_000;

    private final Thread thread;
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger handshakes = new AtomicInteger();
    private final List<String> failures = new CopyOnWriteArrayList<>();
    private volatile boolean stop;

    private TlsTrafficLoop(InetSocketAddress addr, String host, String path, String expectedBody, String expectedH2Protocol, int max) {
        thread = new Thread(() -> run(addr, host, path, expectedBody, expectedH2Protocol, max), "tls-traffic-loop");
        thread.setDaemon(true);
    }

    /** Starts the loop; at most {@code maxConnections} connections and 3 minutes. */
    public static TlsTrafficLoop start(InetSocketAddress addr, String host, String path, String expectedBody,
                                       String expectedH2Protocol, int maxConnections) {
        TlsTrafficLoop loop = new TlsTrafficLoop(Objects.requireNonNull(addr), Objects.requireNonNull(host), Objects.requireNonNull(path),
                Objects.requireNonNull(expectedBody), Objects.requireNonNull(expectedH2Protocol), maxConnections);
        loop.thread.start();
        return loop;
    }

    /** HTTP/1.1 requests answered as expected so far. */
    public int requests() {
        return requests.get();
    }

    /** h2-offering handshakes that negotiated the expected protocol so far. */
    public int handshakes() {
        return handshakes.get();
    }

    /** Every failed connection, with what went wrong. */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    /** Stops the loop and waits (at most 10 s) for it to end. */
    public void stop() throws InterruptedException {
        stop = true;
        thread.join(TimeUnit.SECONDS.toMillis(10));
    }

    @Override
    public void close() throws InterruptedException {
        stop();
    }

    private void run(InetSocketAddress addr, String host, String path, String expectedBody, String expectedH2, int max) {
        long deadline = System.nanoTime() + MAX_RUN.toNanos();
        for (int i = 0; i < max && !stop && System.nanoTime() < deadline; i++) {
            try {
                if (i % 2 == 0) {
                    String body = get(addr, host, path);
                    if (body.equals(expectedBody)) {
                        requests.incrementAndGet();
                    } else {
                        failures.add("GET " + path + " answered '" + body + "', expected '" + expectedBody + "'");
                    }
                } else {
                    String negotiated = handshake(addr, host, new String[] {"h2", "http/1.1"});
                    if (negotiated.equals(expectedH2)) {
                        handshakes.incrementAndGet();
                    } else {
                        failures.add("offering h2,http/1.1 negotiated '" + negotiated + "', expected '" + expectedH2 + "'");
                    }
                }
            } catch (IOException | RuntimeException e) {
                failures.add((i % 2 == 0 ? "GET " : "h2 handshake ") + e);
            }
        }
    }

    private static SSLSocket open(InetSocketAddress addr, String host, String[] protocols) throws IOException {
        Socket plain = new Socket();
        plain.connect(addr, TIMEOUT_MILLIS);
        plain.setSoTimeout(TIMEOUT_MILLIS);
        SSLSocket ssl = (SSLSocket) UnverifiedTls.trustingAnything().getSocketFactory().createSocket(plain, host, addr.getPort(), true);
        SSLParameters p = ssl.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(host)));
        p.setApplicationProtocols(protocols);
        ssl.setSSLParameters(p);
        ssl.startHandshake();
        return ssl;
    }

    private static String handshake(InetSocketAddress addr, String host, String[] protocols) throws IOException {
        try (SSLSocket s = open(addr, host, protocols)) {
            String p = s.getApplicationProtocol();
            return p == null ? "" : p;
        }
    }

    private static String get(InetSocketAddress addr, String host, String path) throws IOException {
        try (SSLSocket s = open(addr, host, new String[] {"http/1.1"})) {
            OutputStream out = s.getOutputStream();
            out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            StringBuilder head = new StringBuilder();
            while (!head.toString().endsWith("\r\n\r\n")) {
                int b = in.read();
                if (b < 0 || head.length() > 16 * 1024) {
                    throw new IOException("incomplete response headers: " + head);
                }
                head.append((char) b);
            }
            String headers = head.toString();
            if (!headers.startsWith("HTTP/1.1 200")) {
                throw new IOException("unexpected response: " + headers.lines().findFirst().orElse("(empty)"));
            }
            int length = headers.lines().filter(l -> l.toLowerCase(java.util.Locale.ROOT).startsWith("content-length:"))
                    .map(l -> Integer.parseInt(l.substring(l.indexOf(':') + 1).trim())).findFirst()
                    .orElseThrow(() -> new IOException("no Content-Length: " + headers));
            return new String(in.readNBytes(length), StandardCharsets.UTF_8);
        }
    }
}
