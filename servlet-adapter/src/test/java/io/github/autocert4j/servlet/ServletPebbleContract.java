package io.github.autocert4j.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLHandshakeException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.HttpRequestLoop;
import io.github.autocert4j.testkit.internal.KeepAliveTlsClient;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end against a real Pebble and a real container: issuance through the container's own
 * plain-HTTP connector while the application keeps answering there, verified chains per SNI name,
 * and a forced renewal seen by new TLS connections while an open keep-alive connection survives,
 * all without restarting the container.
 */
@WithPebble // one Pebble per container class (the annotation is inherited)
abstract class ServletPebbleContract {
    static final String APP = "app.autocert4j.test";
    static final String WWW = "www.autocert4j.test";
    static final String API = "api.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    static PebbleServer pebble;
    static int httpPort;

    /** Starts the container under test with its plain-HTTP connector on {@code httpPort}. */
    abstract ServletTestHost newHost(AutoCert autoCert, int httpPort, Path workDir) throws Exception;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        httpPort = running.httpPort();
    }

    static AutoCert build(Path store, List<CertEvent> events) {
        return AutoCert.builder()
                .directory(pebble.directoryUri())
                .acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .email("ops@autocert4j.test")
                .certificate(APP, WWW)
                .certificate(API)
                .storageDirectory(store)
                .listener(events::add)
                .build();
    }

    static void awaitValid(AutoCert autoCert, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (autoCert.status(name).orElseThrow().state() == CertificateStatus.State.VALID) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate for " + name + " within 30 s: " + autoCert.status(name) + "\n" + pebble.logTail(30));
    }

    @Test
    void issuesThroughContainerConnectorAndRenewsLiveWithoutRestart(@TempDir Path tmp) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCert autoCert = build(tmp.resolve("store"), events);
        try (ServletTestHost host = newHost(autoCert, httpPort, tmp.resolve("work"))) {
            // The application on the shared plain-HTTP connector keeps answering throughout.
            HttpRequestLoop appTraffic = HttpRequestLoop.start(URI.create("http://127.0.0.1:" + httpPort + "/hello"), "plain /hello", 100_000);
            try {
                InetSocketAddress tls = host.httpsAddress();
                // Before issuance the HTTPS connector already works, with the untrusted self-signed fallback.
                assertThrows(SSLHandshakeException.class, () -> TlsProbe.handshake(tls, APP, pebble.issuanceRoot(), T));

                autoCert.start();
                awaitValid(autoCert, APP);
                awaitValid(autoCert, API);

                // A client trusting only Pebble's issuance root verifies chain and name; SNI picks the certificate.
                TlsProbe.Result app = TlsProbe.handshake(tls, APP, pebble.issuanceRoot(), T);
                TlsProbe.Result www = TlsProbe.handshake(tls, WWW, pebble.issuanceRoot(), T);
                TlsProbe.Result api = TlsProbe.handshake(tls, API, pebble.issuanceRoot(), T);
                assertEquals(app.serial(), www.serial(), "one certificate carries app and www");
                assertNotEquals(app.serial(), api.serial(), "api has its own certificate");
                assertEquals(autoCert.status(APP).orElseThrow().serial(), app.serial());
                assertTrue(app.chain().size() >= 2, "leaf and intermediate are served: " + app.chain().size());
                TlsProbe.HttpResult page = TlsProbe.httpsGet(tls, API, "/x", pebble.issuanceRoot(), T);
                assertEquals(200, page.status());
                assertEquals("tls /x", page.body());

                // Forced renewal: the open keep-alive connection keeps working on its session,
                // new connections get the new certificate, the container is never restarted.
                try (KeepAliveTlsClient open = new KeepAliveTlsClient(tls, APP, pebble.issuanceRoot())) {
                    assertEquals("tls /before", open.get("/before"));
                    BigInteger before = open.serial();
                    assertEquals(app.serial(), before);
                    CertificateStatus renewed = autoCert.renewNow(WWW).get(30, TimeUnit.SECONDS);
                    assertNotEquals(before, renewed.serial());
                    assertEquals(renewed.serial(), TlsProbe.handshake(tls, APP, pebble.issuanceRoot(), T).serial());
                    assertEquals(renewed.serial(), TlsProbe.httpsGet(tls, WWW, "/after", pebble.issuanceRoot(), T).serial());
                    assertEquals("tls /after", open.get("/after"), "the connection opened before the swap still works");
                    assertEquals(before, open.serial(), "and still uses its original session");
                }
                assertEquals(api.serial(), TlsProbe.handshake(tls, API, pebble.issuanceRoot(), T).serial(), "other certificates untouched");
                assertEquals(0, autoCert.http01().pendingCount(), "challenges cleaned up");
            } finally {
                appTraffic.close();
            }
            assertTrue(appTraffic.failures().isEmpty(), "application route failed: " + appTraffic.failures());
            assertTrue(appTraffic.succeeded() > 0, "application route was exercised");
            assertTrue(events.stream().anyMatch(e -> e instanceof CertEvent.Issued i && i.renewal()), "renewal event: " + events);
        } finally {
            autoCert.close();
        }
    }
}
