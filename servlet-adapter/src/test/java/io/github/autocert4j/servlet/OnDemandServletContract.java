package io.github.autocert4j.servlet;

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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLHandshakeException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-demand TLS on a Servlet container: the container's own worker thread runs the handshake and
 * waits (bounded) inside autocert4j's key manager while the certificate is obtained from a real
 * Pebble; denied names get an alert and no order.
 */
@WithPebble // one Pebble per container class (the annotation is inherited)
abstract class OnDemandServletContract {
    static final Duration T = Duration.ofSeconds(30);
    static final String ZONE = ".tenant.autocert4j.test";

    static PebbleServer pebble;
    static int httpPort;
    @TempDir
    Path store;
    @TempDir
    Path base;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        httpPort = running.httpPort();
    }

    abstract ServletTestHost host(AutoCert autoCert, int httpPort, Path base) throws Exception;

    @Test
    void allowedNamesAreObtainedAtTheirFirstHandshakeAndDeniedOnesGetAnAlert() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        OnDemand onDemand = OnDemand.allow(name -> CompletableFuture.completedFuture(name.endsWith(ZONE))).handshakeWait(T).build();
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).listener(events::add).onDemand(onDemand).build();
             ServletTestHost host = host(autoCert, httpPort, base)) {
            autoCert.start();
            ExecutorService clients = Executors.newFixedThreadPool(10);
            try {
                List<Future<X509Certificate>> served = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    String name = "t" + i + ZONE;
                    served.add(clients.submit(() -> TlsProbe.handshake(host.httpsAddress(), name, pebble.issuanceRoot(), T).leaf()));
                }
                for (int i = 0; i < 10; i++) {
                    String name = "t" + i + ZONE;
                    X509Certificate leaf = served.get(i).get(2, TimeUnit.MINUTES); // chain verified against Pebble's root
                    assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> name.equals(s.get(1))), name);
                }
            } finally {
                clients.shutdownNow();
            }
            assertEquals(10, events.stream().filter(e -> e instanceof CertEvent.Issued).count());
            // The server's engine fails the handshake (no certificate for the name); Jetty and Tomcat
            // then close the connection, so the client sees the handshake end rather than read the alert.
            long t0 = System.nanoTime();
            assertThrows(SSLHandshakeException.class,
                    () -> TlsProbe.handshake(host.httpsAddress(), "intruder.autocert4j.test", pebble.issuanceRoot(), T));
            assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(5)) < 0, "refused at once, not after the wait");
            assertEquals(10, events.stream().filter(e -> e instanceof CertEvent.Issued).count(), "no order for a denied name");
        }
    }
}
