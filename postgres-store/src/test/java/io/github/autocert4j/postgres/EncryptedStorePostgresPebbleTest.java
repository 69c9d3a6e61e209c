package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.KeyEncryptionKey;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate issued by Pebble (validation switched off: {@code PEBBLE_VA_ALWAYS_VALID}) through an AutoCert
 * on an encrypted PostgreSQL store: served to a TLS client, no private key in any row a SELECT-only role reads,
 * and served again by a restarted AutoCert with the same KEK, without a new order.
 */
@WithPebble(env = "PEBBLE_VA_ALWAYS_VALID=1")
class EncryptedStorePostgresPebbleTest {
    static final String NAME = "pg-encrypted.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(4);
    static PebbleServer pebble;

    @BeforeAll
    static void start(PebbleServer running) {
        pebble = running;
    }

    AutoCert build(String prefix, KeyEncryptionKey kek) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .certificate(NAME).store(PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build()).encryptKeys(kek).build();
    }

    /** Accepts TLS connections with {@code a}'s live context on loopback for one handshake probe. */
    static BigInteger served(AutoCert a) throws Exception {
        try (SSLServerSocket server = (SSLServerSocket) a.sslContext().getServerSocketFactory().createServerSocket(0, 4,
                InetAddress.getLoopbackAddress())) {
            Thread accept = new Thread(() -> {
                try (SSLSocket s = (SSLSocket) server.accept()) {
                    s.setSoTimeout(10_000);
                    s.startHandshake();
                    s.getInputStream().read();
                } catch (Exception ignored) {
                    // the probe closes the connection after the handshake
                }
            });
            accept.start();
            BigInteger serial = TlsProbe.handshake(new InetSocketAddress(InetAddress.getLoopbackAddress(), server.getLocalPort()), NAME,
                    pebble.issuanceRoot(0), T).serial();
            accept.join(10_000);
            return serial;
        }
    }

    @Test
    void issuedOnAnEncryptedPostgresStoreServedWithoutAReadableKeyAndAfterARestart(@TempDir Path dir) throws Exception {
        String prefix = PgSupport.freshPrefix("encpebble");
        KeyEncryptionKey kek = KeyEncryptionKey.writeNewKeyFile(dir.resolve("kek"));
        BigInteger serial;
        try (AutoCert a = build(prefix, kek)) {
            a.start();
            serial = a.renewNow(NAME).get(60, TimeUnit.SECONDS).serial();
            assertEquals(serial, served(a));
        }
        Map<String, byte[]> rows = EncryptedStorePostgresTest.readAsSelectOnlyRole(DB, prefix);
        assertTrue(rows.keySet().stream().anyMatch(k -> k.endsWith("account.key.pem")), rows.keySet().toString());
        for (Map.Entry<String, byte[]> r : rows.entrySet()) {
            String text = new String(r.getValue(), StandardCharsets.ISO_8859_1);
            assertFalse(text.contains("PRIVATE KEY"), r.getKey());
            if (r.getKey().endsWith(".pem")) {
                assertTrue(text.contains("Kek-Id: " + kek.id()), r.getKey());
            }
        }
        try (AutoCert a = build(prefix, KeyEncryptionKey.fromFile(dir.resolve("kek")))) {
            a.start();
            assertEquals(serial, a.status(NAME).orElseThrow().serial(), "loaded from the store, not ordered again");
            assertEquals(serial, served(a));
        }
    }
}
