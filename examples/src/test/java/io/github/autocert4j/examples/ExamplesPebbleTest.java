package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Each runnable example, started as the demo starts it, serves a Pebble-issued certificate that verifies against Pebble's root. */
@WithPebble
class ExamplesPebbleTest {
    static final String NAME = "app.autocert4j.test";
    static PebbleServer pebble;
    static int httpPort;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        httpPort = running.httpPort();
    }

    @ParameterizedTest
    @ValueSource(strings = {"netty", "jetty", "tomcat"})
    void exampleServesAVerifiedPebbleCertificate(String host, @TempDir Path store) throws Exception {
        int httpsPort = FreePorts.loopback();
        ExampleConfig config = new ExampleConfig(pebble.directoryUri().toString(), pebble.acmeServerCaPem(), List.of(NAME),
                httpPort, httpsPort, "127.0.0.1", store, null, null);
        PrintStream out = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        AutoCloseable server;
        try {
            server = switch (host) {
                case "netty" -> NettyExample.start(config);
                case "jetty" -> JettyExample.start(config);
                default -> TomcatExample.start(config);
            };
            // The demo's promise: once https-url: is printed, that URL serves a trusted certificate.
            long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!printed.toString(StandardCharsets.UTF_8).contains("https-url: ") && System.nanoTime() < until) {
                Thread.sleep(5);
            }
        } finally {
            System.setOut(out);
        }
        try (server) {
            String lines = printed.toString(StandardCharsets.UTF_8);
            assertTrue(lines.contains("https-url: https://" + NAME + ":" + httpsPort + "/\n")
                    && lines.contains("connect-to: 127.0.0.1:" + httpsPort), host + ":\n" + lines);
            // verified against Pebble's root (the self-signed fallback would fail here), the moment the URL is printed
            TlsProbe.Result atOnce = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", httpsPort), NAME, pebble.issuanceRoot(),
                    Duration.ofSeconds(10));
            assertTrue(atOnce.serial() != null, lines);
            AutoCert autoCert = switch (host) {
                case "netty" -> ((NettyExample) server).autoCert();
                case "jetty" -> ((JettyExample) server).autoCert();
                default -> ((TomcatExample) server).autoCert();
            };
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            BigInteger serial = null;
            while (serial == null && System.nanoTime() < deadline) {
                CertificateStatus s = autoCert.status(NAME).orElseThrow();
                serial = s.state() == CertificateStatus.State.VALID ? s.serial() : null;
                Thread.sleep(20);
            }
            assertTrue(serial != null, host + ": no certificate within 30 s: " + autoCert.status(NAME) + "\n" + pebble.logTail(20));
            TlsProbe.HttpResult page = TlsProbe.httpsGet(new InetSocketAddress("127.0.0.1", httpsPort), NAME, "/", pebble.issuanceRoot(), Duration.ofSeconds(10));
            assertEquals(200, page.status());
            assertEquals(serial, page.serial());
            assertTrue(page.body().startsWith("hello over TLS from autocert4j"), page.body());
        }
    }
}
