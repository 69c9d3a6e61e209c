package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import javax.net.ssl.SNIServerName;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class TlsProbeTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(5);
    private static TestCerts.Issued root;
    private static TestCerts.Issued leaf;
    private static SSLServerSocket server;
    private static Thread acceptor;
    private static final List<String> seenSni = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startServer() throws IOException {
        root = TestCerts.newRoot("TlsProbeTest root", Duration.ofDays(1));
        leaf = TestCerts.newServerCert(root, Duration.ofDays(1), "app.test", "127.0.0.1");
        server = (SSLServerSocket) TestCerts.serverContext(leaf).getServerSocketFactory()
                .createServerSocket(0, 50, FreePorts.loopbackV4());
        acceptor = new Thread(TlsProbeTest::serve, "tls-probe-test-server");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
        acceptor.join(5000);
    }

    private static void serve() {
        while (!server.isClosed()) {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.setSoTimeout(5000);
                try {
                    s.startHandshake();
                    for (SNIServerName n : ((javax.net.ssl.ExtendedSSLSession) s.getSession()).getRequestedServerNames()) {
                        seenSni.add(new String(n.getEncoded(), StandardCharsets.US_ASCII));
                    }
                    BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(),
                            StandardCharsets.ISO_8859_1));
                    String requestLine = in.readLine();
                    if (requestLine == null) {
                        continue; // handshake-only probe
                    }
                    String host = "";
                    for (String line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine()) {
                        if (line.regionMatches(true, 0, "Host:", 0, 5)) {
                            host = line.substring(5).trim();
                        }
                    }
                    OutputStream out = s.getOutputStream();
                    if (requestLine.startsWith("GET /chunked ")) {
                        out.write(("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                                + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                    } else {
                        byte[] body = ("path=" + requestLine.split(" ")[1] + " host=" + host)
                                .getBytes(StandardCharsets.UTF_8);
                        int status = requestLine.startsWith("GET /missing ") ? 404 : 200;
                        out.write(("HTTP/1.1 " + status + " X\r\nContent-Length: " + body.length
                                + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
                        out.write(body);
                    }
                    out.flush();
                } catch (IOException perConnection) {
                    // failed client handshakes land here
                }
            } catch (SocketException closed) {
                return;
            } catch (IOException e) {
                // keep serving
            }
        }
    }

    private static InetSocketAddress addr() {
        return new InetSocketAddress(FreePorts.loopbackV4(), server.getLocalPort());
    }

    @Test
    void verifiedHandshake() throws IOException, InterruptedException {
        TlsProbe.Result r = TlsProbe.handshake(addr(), "app.test", root.certificate(), TIMEOUT);
        assertEquals(leaf.certificate().getSerialNumber(), r.serial());
        assertEquals(leaf.certificate(), r.leaf());
        assertTrue(r.protocol().startsWith("TLS"), r.protocol());
        assertTrue(!r.cipherSuite().isEmpty());
        // the server thread records SNI after its side of the handshake: wait for it, bounded
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (!seenSni.contains("app.test") && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertTrue(seenSni.contains("app.test"), seenSni.toString());
    }

    @Test
    void wrongSniNameFailsVerification() {
        SSLHandshakeException e = assertThrows(SSLHandshakeException.class,
                () -> TlsProbe.handshake(addr(), "other.test", root.certificate(), TIMEOUT));
        assertTrue(String.valueOf(e.getMessage()).contains("other.test"), e.toString());
    }

    @Test
    void untrustedRootFailsVerification() {
        TestCerts.Issued otherRoot = TestCerts.newRoot("some other root", Duration.ofDays(1));
        assertThrows(SSLHandshakeException.class,
                () -> TlsProbe.handshake(addr(), "app.test", otherRoot.certificate(), TIMEOUT));
    }

    @Test
    void httpsGet() throws IOException {
        TlsProbe.HttpResult r = TlsProbe.httpsGet(addr(), "app.test", "/hello?x=1", root.certificate(), TIMEOUT);
        assertEquals(200, r.status());
        assertEquals("path=/hello?x=1 host=app.test:" + server.getLocalPort(), r.body());
        assertEquals(leaf.certificate().getSerialNumber(), r.serial());

        assertEquals(404, TlsProbe.httpsGet(addr(), "app.test", "/missing", root.certificate(), TIMEOUT).status());
        assertEquals("hello world",
                TlsProbe.httpsGet(addr(), "app.test", "/chunked", root.certificate(), TIMEOUT).body());
        assertThrows(SSLHandshakeException.class,
                () -> TlsProbe.httpsGet(addr(), "other.test", "/", root.certificate(), TIMEOUT));
    }

    @Test
    void freePortIsBindable() throws IOException {
        int port = FreePorts.loopback();
        assertTrue(port > 0 && port < 65536);
        try (java.net.ServerSocket s = new java.net.ServerSocket(port, 1, FreePorts.loopbackV4())) {
            assertEquals(port, s.getLocalPort());
        }
    }
}
