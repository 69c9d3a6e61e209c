package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two managers share one {@link FileCertStore} against real Pebble: A renews, B (whose copy of the
 * certificate falls due later) adopts A's certificate from the store without placing an order of its
 * own. Both talk to Pebble through one {@link FaultProxy} (one CA, so the stored certificate's issuer
 * is configured on both); the proxy's record is cleared once A is done and idle, so what it sees
 * afterwards is B's. B runs on a {@link ManualScheduler} (virtual clock), so "B's certificate falls
 * due half an hour later" takes no time.
 */
@WithPebble(profiles = {
        @WithPebble.Profile(name = "default", seconds = 90 * 24 * 3600),
        @WithPebble.Profile(name = "hour", seconds = 3600)})
class PeerAdoptionPebbleTest {
    static final String NAME = "peer.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path work;

    @Test
    void aPeerRenewsAndTheOtherAdoptsWithoutAnOrder(PebbleServer pebble) throws Exception {
        FaultProxy proxy = CA.proxy();
        Path shared = work.resolve("shared-store");
        RenewalPolicy noAri = RenewalPolicy.defaults().withAri(false);

        // The certificate both servers start with: a one-hour one (short-lived: due at half its lifetime).
        List<CertEvent> seedEvents = new CopyOnWriteArrayList<>();
        try (AutoCert seed = CA.build(CA.builder().certificate(NAME).storageDirectory(shared).profile("hour").renewal(noAri)
                .listener(seedEvents::add))) {
            seed.start();
            FaultMatrixTestAccess.await(seedEvents, CertEvent.Issued.class, T);
        }
        BigInteger first = Pem.decodeBundle(FileCertStore.of(shared).load(StoreLayout.certBundle(NAME)).orElseThrow()).serial();

        // B: serves the stored certificate; its checks run only when the test advances its virtual clock.
        ManualScheduler sched = new ManualScheduler(Instant.now());
        List<CertEvent> bEvents = new CopyOnWriteArrayList<>();
        try (AutoCert b = CA.builder().certificate(NAME).storageDirectory(shared).renewal(noAri).executor(sched).clock(sched.clock())
                .listener(bEvents::add).build();
             AutoCert a = CA.builder().certificate(NAME).storageDirectory(shared).profile("default").renewal(noAri).build()) {
            b.start();
            sched.runDue();
            assertEquals(first, b.status(NAME).orElseThrow().serial(), "B serves the stored certificate");
            proxy.reset();

            // A renews (a 90-day certificate, the default profile).
            CA.answering(a);
            a.start();
            BigInteger renewed = a.renewNow(NAME).get(T.toSeconds(), TimeUnit.SECONDS).serial();
            assertNotEquals(first, renewed);
            assertEquals(1, proxy.orders().size(), "A ordered: " + proxy.seen); // (less Pebble's own refusal, FaultProxy.orders)
            // After an issuance A checks once more at once, then sleeps until its next check, hours away.
            Instant aNext = null;
            for (long end = System.nanoTime() + T.toNanos(); System.nanoTime() < end; Thread.sleep(10)) {
                aNext = a.status(NAME).orElseThrow().nextCheck();
                if (aNext != null && aNext.isAfter(Instant.now().plus(Duration.ofHours(1)))) {
                    break;
                }
            }
            assertTrue(aNext != null && aNext.isAfter(Instant.now().plus(Duration.ofHours(1))), "A is idle from now on: next check " + aNext);
            proxy.reset(); // from here on the proxy sees B only

            // Half an hour later B's one-hour certificate is due: B takes the lock, finds A's certificate and adopts it.
            assertEquals(first, b.status(NAME).orElseThrow().serial(), "B has not looked yet");
            sched.advance(Duration.ofMinutes(35));
            CertificateStatus s = b.status(NAME).orElseThrow();
            assertEquals(renewed, s.serial(), "B adopted A's certificate: " + bEvents);
            assertEquals(CertificateStatus.State.VALID, s.state());
            assertEquals(0, proxy.count("POST", "newOrder"), "B placed no order: " + proxy.seen);
            assertEquals(0, proxy.count("POST", "newAccount"), "B created no account: " + proxy.seen);
            assertTrue(proxy.seen.stream().noneMatch(x -> x.method().equals("POST")), "B sent the CA nothing: " + proxy.seen);
            assertTrue(bEvents.stream().anyMatch(e -> e instanceof CertEvent.Loaded l && l.serial().equals(renewed)), bEvents.toString());
            assertTrue(bEvents.stream().noneMatch(e -> e instanceof CertEvent.Issued || e instanceof CertEvent.Failed), bEvents.toString());
            assertEquals(renewed, servedOverTls(b, pebble), "B's TLS listener serves A's certificate");
        }
    }

    /** One real handshake against a JSSE server socket using {@code autoCert.sslContext()}, verified against Pebble's root. */
    static BigInteger servedOverTls(AutoCert autoCert, PebbleServer pebble) throws Exception {
        try (SSLServerSocket server = (SSLServerSocket) autoCert.sslContext().getServerSocketFactory()
                .createServerSocket(0, 8, java.net.InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.startHandshake();
                    s.getInputStream().read();
                } catch (Exception ignored) {
                    // the client closes after the handshake
                }
            }, "peer-tls");
            accept.setDaemon(true);
            accept.start();
            TlsProbe.Result r = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", server.getLocalPort()), NAME, pebble.issuanceRoot(),
                    Duration.ofSeconds(10));
            accept.join(5_000);
            return r.serial();
        }
    }
}
