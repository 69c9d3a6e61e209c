package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.testkit.Await;
import io.github.autocert4j.testkit.ForgedBundle;
import io.github.autocert4j.testkit.ForgedProbes;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Issue 20 on PostgreSQL, the attack as the review ran it: with two nodes serving a certificate from
 * Pebble, one {@code UPDATE} of the certificate's rows (a bundle for the name from the attacker's own
 * CA, metadata claiming Pebble issued it) plus a {@code NOTIFY} on the store's channel. Neither node
 * serves it: 0 verified handshakes for a client trusting the forger's CA on either node, while a
 * client trusting Pebble's root keeps succeeding; each node emits a {@link CertEvent.Rejected}, a new
 * certificate is ordered from Pebble, and both nodes end up serving it.
 */
@WithPebble(env = "PEBBLE_VA_ALWAYS_VALID=1")
class ForgedCertificatePostgresTest {
    static final String NAME = "pg-forged.autocert4j.test";
    static final Duration T = Duration.ofSeconds(5);

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(8);
    static PebbleServer pebble;

    @BeforeAll
    static void start(PebbleServer running) {
        pebble = running;
    }

    static AutoCert node(String prefix, List<CertEvent> events) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .certificate(NAME).store(PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build()).listener(events::add).build();
    }

    /** One UPDATE of a row, as anyone with UPDATE on the entries table can, and a NOTIFY naming its key. */
    static void updateAndNotify(String prefix, String key, byte[] value) throws Exception {
        try (Connection c = DB.pool().getConnection()) {
            try (PreparedStatement s = c.prepareStatement("UPDATE " + prefix + "entries SET value = ?, updated_at = now() WHERE key = ?")) {
                s.setBytes(1, value);
                s.setString(2, key);
                assertEquals(1, s.executeUpdate(), key);
            }
            try (PreparedStatement s = c.prepareStatement("SELECT pg_notify(?, ?)")) {
                s.setString(1, prefix + "changes");
                s.setString(2, key);
                s.execute();
            }
        }
    }

    @Test
    void forgedRowWithNotifyIsServedByNoNodeAndReplaced() throws Exception {
        String prefix = PgSupport.freshPrefix("forged");
        List<CertEvent> eventsA = new CopyOnWriteArrayList<>();
        List<CertEvent> eventsB = new CopyOnWriteArrayList<>();
        try (AutoCert a = node(prefix, eventsA); TlsServer serverA = new TlsServer(a)) {
            a.start();
            BigInteger first = ((CertEvent.Issued) Await.first(eventsA, e -> e instanceof CertEvent.Issued, 60)).serial();
            try (AutoCert b = node(prefix, eventsB); TlsServer serverB = new TlsServer(b)) {
                b.start();
                assertEquals(first, b.status(NAME).orElseThrow().serial(), "node B loaded A's certificate from the store");
                ForgedBundle forged = ForgedBundle.withOwnCa(NAME, "Pebble Intermediate CA 4d5e6f");
                String issuerId = a.status(NAME).orElseThrow().issuerId();
                try (ForgedProbes probes = new ForgedProbes(List.of(serverA.address(), serverB.address()), NAME, forged.trustAnchor(), pebble.issuanceRoot(0), T, 20)) {
                    updateAndNotify(prefix, "certs/" + NAME + "/" + NAME + ".properties", forged.meta(issuerId));
                    updateAndNotify(prefix, "certs/" + NAME + "/" + NAME + ".pem", forged.pem());
                    for (List<CertEvent> events : List.of(eventsA, eventsB)) {
                        CertEvent.Rejected rejected = (CertEvent.Rejected) Await.first(events, e -> e instanceof CertEvent.Rejected, 20);
                        assertEquals(forged.leaf().getSerialNumber(), rejected.serial());
                        assertTrue(rejected.reason().startsWith("chain not signed by a recorded issuer"), rejected.reason());
                    }
                    BigInteger replacement = awaitReplacement(a, b, first, forged.leaf().getSerialNumber(), 60);
                    probes.awaitTrustedServed(replacement, 15);
                    probes.assertNeverForged();
                    long orders = eventsA.stream().filter(e -> e instanceof CertEvent.Issued i && !i.serial().equals(first)).count()
                            + eventsB.stream().filter(e -> e instanceof CertEvent.Issued).count();
                    assertTrue(orders >= 1 && orders <= 2, "a new order was placed with Pebble (one per fleet expected, two at most): "
                            + eventsA + " / " + eventsB);
                }
            }
        }
    }

    /** Waits until both nodes serve the same certificate that is neither {@code first} nor the forged one. */
    static BigInteger awaitReplacement(AutoCert a, AutoCert b, BigInteger first, BigInteger forged, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        BigInteger sa = null;
        BigInteger sb = null;
        while (System.nanoTime() < deadline) {
            sa = a.status(NAME).orElseThrow().serial();
            sb = b.status(NAME).orElseThrow().serial();
            if (sa != null && sa.equals(sb) && !sa.equals(first)) {
                assertNotEquals(forged, sa);
                return sa;
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no common replacement within " + seconds + " s: A serves " + sa + ", B serves " + sb + " (first " + first + ")");
    }

    /** A loopback TLS endpoint with a node's live context: accepts until closed, one handshake per connection. */
    static final class TlsServer implements AutoCloseable {
        final SSLServerSocket socket;
        final Thread thread;

        TlsServer(AutoCert a) throws IOException {
            socket = (SSLServerSocket) a.sslContext().getServerSocketFactory().createServerSocket(0, 16, InetAddress.getLoopbackAddress());
            thread = new Thread(() -> {
                while (!socket.isClosed()) {
                    try (SSLSocket s = (SSLSocket) socket.accept()) {
                        s.setSoTimeout(5_000);
                        s.startHandshake();
                        s.getInputStream().read();
                    } catch (IOException e) {
                        // the probe closes the connection after the handshake; a failed handshake is the probe's to count
                    }
                }
            }, "forged-tls-server");
            thread.setDaemon(true);
            thread.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(InetAddress.getLoopbackAddress(), socket.getLocalPort());
        }

        @Override
        public void close() throws Exception {
            socket.close();
            thread.join(10_000);
        }
    }
}
