package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.ChallengeSolver;
import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.testdoubles.CutOffStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The standalone port-80 listener against misbehaving clients over real sockets: slowloris
 * connections are closed at the request deadline while a CA's request still gets its answer; HTTP
 * versions other than 1.0/1.1 get 505 and are never echoed.
 */
class AcmeHttpListenerTest {
    static final String TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
    static final String KEY_AUTH = TOKEN + ".NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";
    static final Duration DEADLINE = Duration.ofSeconds(2);

    final Http01Responder responder = new Http01Responder();
    AcmeHttpListener listener;

    @BeforeEach
    void start() throws Exception {
        responder.present(new ChallengeSolver.Challenge("http-01", "app.example.test", TOKEN, KEY_AUTH));
        listener = AcmeHttpListener.bind(responder, new InetSocketAddress("127.0.0.1", 0), DEADLINE);
    }

    @AfterEach
    void stop() {
        listener.close();
    }

    @Test
    void slowlorisConnectionsAreClosedAtTheDeadlineWhileTheCaIsAnswered() throws Exception {
        int n = 200;
        List<Socket> slow = new ArrayList<>();
        long[] opened = new long[n];
        long[] closedAt = new long[n];
        try {
            for (int i = 0; i < n; i++) {
                Socket s = new Socket();
                s.connect(listener.localAddress(), 5_000);
                s.setSoTimeout(1);
                opened[i] = System.nanoTime();
                // A request line and one header; then one more header byte every 100 ms, never the blank line.
                s.getOutputStream().write(("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.1\r\nHost: a\r\n").getBytes(StandardCharsets.US_ASCII));
                slow.add(s);
            }
            // While they drip, a CA's validation request is answered at once.
            assertEquals("HTTP/1.1 200 OK", firstLine(exchange("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.1\r\nHost: a\r\n\r\n")));
            long bound = System.nanoTime() + DEADLINE.plusSeconds(5).toNanos();
            int open = n;
            while (open > 0 && System.nanoTime() < bound) {
                open = 0;
                for (int i = 0; i < n; i++) {
                    if (closedAt[i] != 0) {
                        continue;
                    }
                    if (isClosed(slow.get(i))) {
                        closedAt[i] = System.nanoTime();
                    } else {
                        open++;
                    }
                }
                Thread.sleep(100);
            }
            assertEquals(0, open, "every slowloris connection is closed within the deadline (+5 s slack on a busy machine)");
            for (int i = 0; i < n; i++) {
                Duration lived = Duration.ofNanos(closedAt[i] - opened[i]);
                assertTrue(lived.compareTo(DEADLINE.minusMillis(100)) >= 0, "closed by the deadline, not earlier: " + lived);
            }
            // The listener still works afterwards.
            assertEquals("HTTP/1.1 200 OK", firstLine(exchange("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.1\r\nHost: a\r\n\r\n")));
        } finally {
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void anIdleKeepAliveConnectionIsClosedAtTheDeadline() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(listener.localAddress(), 5_000);
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.1\r\nHost: a\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            String response = readResponse(s.getInputStream(), KEY_AUTH);
            assertTrue(response.startsWith("HTTP/1.1 200 OK"), response);
            long t0 = System.nanoTime();
            assertEquals(-1, s.getInputStream().read(), "closed by the server");
            Duration idle = Duration.ofNanos(System.nanoTime() - t0);
            assertTrue(idle.compareTo(DEADLINE.minusMillis(200)) >= 0 && idle.compareTo(DEADLINE.plusSeconds(5)) < 0, idle.toString());
        }
    }

    @Test
    void otherHttpVersionsGet505AndAreNeverEchoed() throws Exception {
        for (String version : List.of("HTTP/2.0", "HTTP/1.2", "HTTP/3.0", "HTTP/0.9")) {
            String r = exchange("GET " + Http01Responder.PATH_PREFIX + TOKEN + " " + version + "\r\nHost: a\r\n\r\n");
            assertEquals("HTTP/1.1 505 HTTP Version Not Supported", firstLine(r), version + ": " + r);
            assertFalse(r.contains(version), "the request's version is never echoed: " + r);
            assertFalse(r.contains(KEY_AUTH), r);
        }
        assertEquals("HTTP/1.0 200 OK", firstLine(exchange("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.0\r\n\r\n")));
        assertEquals("HTTP/1.1 404 Not Found", firstLine(exchange("GET /other HTTP/1.1\r\nHost: a\r\n\r\n")));
    }

    /**
     * A node cut off from its shared store cannot tell whether a peer published a token: 503 (a load balancer then
     * tries another node), never 404 (which fails the CA's validation); its own tokens are still answered from memory.
     */
    @Test
    void aTokenTheUnreachableStoreCannotDecideIs503AndTheConnectionStaysUsable() throws Exception {
        try (AutoCert cut = AutoCert.builder().directory("https://127.0.0.1:9/directory").agreeToTermsOfService(true)
                .certificate("app.example.test").store(new CutOffStore()).build()) { // never started: no CA contact
            cut.http01().present(new ChallengeSolver.Challenge("http-01", "app.example.test", TOKEN, KEY_AUTH));
            AcmeHttpListener cutListener = AcmeHttpListener.bind(cut.http01(), new InetSocketAddress("127.0.0.1", 0), DEADLINE);
            try (Socket s = new Socket()) {
                s.connect(cutListener.localAddress(), 5_000);
                s.setSoTimeout(10_000);
                for (int i = 0; i < 3; i++) {
                    s.getOutputStream().write(("GET " + Http01Responder.PATH_PREFIX + "peersToken" + i + " HTTP/1.1\r\nHost: a\r\n\r\n")
                            .getBytes(StandardCharsets.US_ASCII));
                    String r = readResponse(s.getInputStream(), "Service Unavailable\n");
                    assertEquals("HTTP/1.1 503 Service Unavailable", firstLine(r), r);
                    assertTrue(r.toLowerCase(java.util.Locale.ROOT).contains("cache-control: no-store"), r);
                    assertFalse(r.toLowerCase(java.util.Locale.ROOT).contains("connection: close"), "kept alive: " + r);
                }
                s.getOutputStream().write(("GET " + Http01Responder.PATH_PREFIX + TOKEN + " HTTP/1.1\r\nHost: a\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                assertTrue(readResponse(s.getInputStream(), KEY_AUTH).startsWith("HTTP/1.1 200 OK"), "its own token, from memory");
            } finally {
                cutListener.close();
            }
        }
    }

    @Test
    void aNonPositiveDeadlineIsRefusedWithTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AcmeHttpListener.bind(responder, new InetSocketAddress("127.0.0.1", 0), Duration.ZERO));
        assertTrue(e.getMessage().contains("requestDeadline") && e.getMessage().contains("Duration.ofSeconds"), e.getMessage());
    }

    private String exchange(String raw) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(listener.localAddress(), 5_000);
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(raw.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            s.shutdownOutput();
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.US_ASCII);
        }
    }

    private static String readResponse(InputStream in, String body) throws IOException {
        StringBuilder sb = new StringBuilder();
        while (!sb.toString().endsWith(body)) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            sb.append((char) b);
        }
        return sb.toString();
    }

    private static String firstLine(String response) {
        int i = response.indexOf("\r\n");
        return i < 0 ? response : response.substring(0, i);
    }

    /** Drips one more header byte; true once the server has closed the connection. */
    private static boolean isClosed(Socket s) {
        try {
            s.getOutputStream().write('X');
            s.getOutputStream().flush();
            return s.getInputStream().read() == -1;
        } catch (SocketTimeoutException stillOpen) {
            return false;
        } catch (IOException reset) {
            return true;
        }
    }
}
