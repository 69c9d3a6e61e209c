package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLHandshakeException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.HttpRequestLoop;
import io.github.autocert4j.testkit.internal.KeepAliveTlsClient;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * End to end against a real Pebble: issuance through a real Netty host's own port-80 pipeline,
 * verified chains, SNI, forced renewal seen by new connections while old ones keep working, and
 * a restart that serves the stored certificate without a new order.
 */
@WithPebble
class NettyPebbleTest {
    static final String APP = "app.autocert4j.test";
    static final String WWW = "www.autocert4j.test";
    static final String API = "api.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    static PebbleServer pebble;
    /** Where Pebble validates http-01: the host's own plain-HTTP port. */
    static int httpPort;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        httpPort = running.httpPort();
    }

    static AutoCertBuilder builder(Path store, List<CertEvent> events) {
        return AutoCert.builder()
                .directory(pebble.directoryUri())
                .acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .email("ops@autocert4j.test")
                .certificate(APP, WWW)
                .certificate(API)
                .storageDirectory(store)
                .listener(events::add);
    }

    static void awaitValid(AutoCert autoCert, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            CertificateStatus s = autoCert.status(name).orElseThrow();
            if (s.state() == CertificateStatus.State.VALID) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate for " + name + " within 30 s: " + autoCert.status(name) + "\n" + pebble.logTail(30));
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void issuesThroughHostPipelineAndRenewsLiveWithoutDroppingConnections(SslProvider provider, @TempDir Path store) throws Exception {
        if (provider == SslProvider.OPENSSL) {
            assertTrue(OpenSsl.isAvailable(), "netty-tcnative must load on this machine: " + OpenSsl.unavailabilityCause());
        }
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCert autoCert = builder(store, events).build();
        try (NettyTestHost host = new NettyTestHost(autoCert, httpPort, 0, provider, provider == SslProvider.JDK)) {
            // The host's own route on the shared plain-HTTP port keeps answering throughout.
            HttpRequestLoop hostTraffic = HttpRequestLoop.start(URI.create("http://127.0.0.1:" + httpPort + "/hello"), "plain /hello", 100_000);

            // Before issuance the TLS port already works, with the self-signed fallback (not trusted).
            assertThrows(SSLHandshakeException.class, () -> TlsProbe.handshake(host.httpsAddress(), APP, pebble.issuanceRoot(), T));

            autoCert.start();
            awaitValid(autoCert, APP);
            awaitValid(autoCert, API);

            // (b) A client trusting only Pebble's root verifies the chain and each name; (e) SNI picks the right certificate.
            InetSocketAddress tls = host.httpsAddress();
            TlsProbe.Result app = TlsProbe.handshake(tls, APP, pebble.issuanceRoot(), T);
            TlsProbe.Result www = TlsProbe.handshake(tls, WWW, pebble.issuanceRoot(), T);
            TlsProbe.Result api = TlsProbe.handshake(tls, API, pebble.issuanceRoot(), T);
            assertEquals(app.serial(), www.serial(), "one certificate carries both app and www");
            assertNotEquals(app.serial(), api.serial(), "api has its own certificate");
            assertEquals(autoCert.status(APP).orElseThrow().serial(), app.serial());
            // servedCertificate() tells the same choice without a handshake: by name, and the first certificate without SNI.
            assertEquals(app.serial(), autoCert.servedCertificate(WWW).chain().get(0).getSerialNumber());
            assertEquals(api.serial(), autoCert.servedCertificate(API).chain().get(0).getSerialNumber());
            assertEquals(app.serial(), autoCert.servedCertificate(null).chain().get(0).getSerialNumber());
            assertFalse(autoCert.servedCertificate(APP).toString().contains("PRIVATE"), "no key material in toString");
            assertTrue(app.chain().size() >= 2, "leaf and intermediate are served");
            assertEquals("tls /x", TlsProbe.httpsGet(tls, API, "/x", pebble.issuanceRoot(), T).body());

            // (c) Forced renewal: an open connection keeps working, new connections see the new serial.
            try (KeepAliveTlsClient open = new KeepAliveTlsClient(tls, APP, pebble.issuanceRoot())) {
                assertEquals("tls /before", open.get("/before"));
                BigInteger before = open.serial();
                CertificateStatus renewed = autoCert.renewNow(WWW).get(30, TimeUnit.SECONDS);
                assertNotEquals(before, renewed.serial());
                assertEquals(renewed.serial(), TlsProbe.handshake(tls, APP, pebble.issuanceRoot(), T).serial());
                assertEquals("tls /after", open.get("/after"), "the connection opened before the swap still works");
                assertEquals(before, open.serial(), "and still uses its original session");
            }
            assertEquals(api.serial(), TlsProbe.handshake(tls, API, pebble.issuanceRoot(), T).serial(), "other certificates untouched");

            hostTraffic.close();
            assertTrue(hostTraffic.failures().isEmpty(), "host route failed: " + hostTraffic.failures());
            assertTrue(hostTraffic.succeeded() > 0, "host route was exercised");
            assertTrue(events.stream().anyMatch(e -> e instanceof CertEvent.Issued i && i.renewal()), "renewal event: " + events);
        } finally {
            autoCert.close();
        }
    }

    @Test
    void restartServesStoredCertificateWithoutNewOrderOrAccount(@TempDir Path store) throws Exception {
        List<CertEvent> first = new CopyOnWriteArrayList<>();
        BigInteger serial;
        try (AutoCert autoCert = builder(store, first).build();
             NettyTestHost host = new NettyTestHost(autoCert, httpPort, 0, SslProvider.JDK, false)) {
            autoCert.start();
            awaitValid(autoCert, APP);
            awaitValid(autoCert, API);
            serial = autoCert.status(APP).orElseThrow().serial();
        }
        List<CertEvent> second = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder(store, second).build();
             NettyTestHost host = new NettyTestHost(autoCert, httpPort, 0, SslProvider.JDK, false)) {
            autoCert.start();
            // Served at once, from the store: start() returns with the stored certificate live.
            assertEquals(serial, TlsProbe.handshake(host.httpsAddress(), APP, pebble.issuanceRoot(), T).serial());
            // Give the background check time to run, then prove it placed no order.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
            // nextCheck is null while the check runs
            while (System.nanoTime() < deadline && (autoCert.status(APP).orElseThrow().nextCheck() == null
                    || autoCert.status(APP).orElseThrow().nextCheck().isBefore(java.time.Instant.now().plusSeconds(3600)))) {
                Thread.sleep(20);
            }
            CertificateStatus s = autoCert.status(APP).orElseThrow();
            assertNull(s.lastAttempt(), "no order placed after restart");
            assertTrue(s.nextCheck().isAfter(java.time.Instant.now().plusSeconds(3600)), "next check is hours away: " + s);
            assertTrue(second.stream().allMatch(e -> e instanceof CertEvent.Loaded), "only Loaded events: " + second);
            assertEquals(2, second.size());
        }
    }

    @Test
    void standaloneListenerAnswersChallengesForHostsWithoutPort80(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate("solo.autocert4j.test").storageDirectory(store).listener(events::add).build();
             AcmeHttpListener listener = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", httpPort))) {
            autoCert.start();
            awaitValid(autoCert, "solo.autocert4j.test");
            assertNotNull(autoCert.status("solo.autocert4j.test").orElseThrow().serial());
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + httpPort + "/anything")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(404, r.statusCode());
        }
    }

    @Test
    void addingANameKeepsServingTheStoredCertificateUntilTheNewOneIsLive(@TempDir Path store) throws Exception {
        String added = "added.autocert4j.test";
        BigInteger oldSerial;
        try (AutoCert first = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate(APP).storageDirectory(store).build();
             NettyTestHost host = new NettyTestHost(first, httpPort, 0, SslProvider.JDK, false)) {
            first.start();
            oldSerial = first.renewNow(APP).get(30, TimeUnit.SECONDS).serial();
        }
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert second = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate(APP, added).storageDirectory(store).listener(events::add).build();
             NettyTestHost host = new NettyTestHost(second, httpPort, 0, SslProvider.JDK, false)) {
            second.start();
            // Served at once for the name it covers, although it lacks the added name...
            assertTrue(events.get(0) instanceof CertEvent.Loaded l && l.serial().equals(oldSerial), "stored certificate loaded: " + events);
            // ...and replaced by one covering both names without a restart.
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline && events.stream().noneMatch(e -> e instanceof CertEvent.Issued)) {
                Thread.sleep(20);
            }
            BigInteger newSerial = second.status(APP).orElseThrow().serial();
            assertNotEquals(oldSerial, newSerial, "a new certificate was issued: " + events);
            assertEquals(newSerial, TlsProbe.handshake(host.httpsAddress(), added, pebble.issuanceRoot(), T).serial());
            assertEquals(newSerial, TlsProbe.handshake(host.httpsAddress(), APP, pebble.issuanceRoot(), T).serial());
        }
    }
}
