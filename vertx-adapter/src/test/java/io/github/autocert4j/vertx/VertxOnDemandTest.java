package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-demand TLS on a Vert.x 5 HTTPS server against Pebble: an allowed name gets a verified
 * certificate at its first handshake (one order; later handshakes get the same serial), a denied
 * name a TLS alert and no order; the options put the JDK engine's handshake work on the worker
 * pool and refuse the OpenSSL engine.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
@WithPebble
class VertxOnDemandTest {
    static final Duration T = Duration.ofSeconds(60);
    static final String ZONE = ".shop.autocert4j.test";

    /** This class's own Pebble (from its {@code @WithPebble}), set before each test. */
    PebbleServer pebble;

    @TempDir
    Path store;
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeEach
    void rememberPebble(PebbleServer running) {
        pebble = running;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    /** An on-demand manager, not started: start it once the host listens, so the CA's first validation finds it. */
    static AutoCert onDemand(PebbleServer pebble, Path store, List<CertEvent> events, List<AutoCloseable> open, String... configured) {
        AutoCertBuilder b = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).listener(events::add)
                .onDemand(OnDemand.allow(name -> CompletableFuture.completedFuture(name.endsWith(ZONE))).handshakeWait(T).build());
        for (String c : configured) {
            b.certificate(c);
        }
        AutoCert a = b.build();
        open.add(a);
        return a;
    }

    long issued() {
        return events.stream().filter(e -> e instanceof CertEvent.Issued).count();
    }

    @Test
    void anAllowedNameGetsAVerifiedCertificateAtItsFirstHandshakeAndADeniedOneAnAlert() throws Exception {
        AutoCert a = onDemand(pebble, store, events, open);
        VertxHost host = new VertxHost(a, pebble.httpPort(), 1, false, null, null);
        open.add(host);
        a.start();
        String name = "first" + ZONE;
        X509Certificate leaf = TlsProbe.handshake(host.httpsAddress(), name, pebble.issuanceRoot(), T).leaf(); // chain + name verified
        assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> name.equals(s.get(1))));
        assertEquals(1, issued());
        for (int i = 0; i < 3; i++) {
            TlsProbe.HttpResult page = TlsProbe.httpsGet(host.httpsAddress(), name, "/", pebble.issuanceRoot(), T);
            assertEquals(200, page.status());
            assertEquals(leaf.getSerialNumber(), page.serial(), "the same certificate, no new order");
        }
        assertEquals(1, issued());

        for (String denied : List.of("evil.autocert4j.test", "nope.blog.autocert4j.test")) {
            SSLException e = assertThrows(SSLException.class, () -> TlsProbe.handshake(host.httpsAddress(), denied, pebble.issuanceRoot(), T));
            assertTrue(String.valueOf(e.getMessage()).contains("alert"), "a TLS alert, not a hang or a reset: " + e);
        }
        assertEquals(1, issued(), "no order for denied names");
    }

    @Test
    void optionsPutTheHandshakeWorkOnTheWorkerPoolAndRefuseOpenSsl() throws Exception {
        AutoCert a = onDemand(pebble, store, events, open);
        HttpServerOptions fresh = AutoCertVertx.httpsOptions(a);
        assertTrue(fresh.getSslEngineOptions() instanceof JdkSSLEngineOptions jdk && jdk.getUseWorkerThread());
        HttpServerOptions given = AutoCertVertx.configure(new HttpServerOptions().setSslEngineOptions(new JdkSSLEngineOptions()), a);
        assertTrue(given.getSslEngineOptions().getUseWorkerThread());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> AutoCertVertx.configure(new HttpServerOptions().setSslEngineOptions(new OpenSSLEngineOptions()), a));
        assertTrue(e.getMessage().contains("Fix:"), e.getMessage());
    }
}
