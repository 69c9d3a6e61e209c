package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A certificate issued by Pebble through an AutoCert whose store is encrypted ({@code encryptKeys}): it is
 * served to a real TLS client, the store's files hold neither the certificate's nor the account's private
 * key, and a restarted AutoCert with the same KEK file serves the same certificate without a new order.
 */
@WithPebble
class EncryptedStorePebbleTest {
    static final String NAME = "encrypted.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    AutoCert build(Path store, Path kekFile, List<CertEvent> events) throws Exception {
        return CA.build(CA.builder().certificate(NAME).storageDirectory(store)
                .encryptKeys(KeyEncryptionKey.fromFile(kekFile)).listener(events::add));
    }

    @Test
    void issuedOnAnEncryptedStoreServedAndSurvivesARestart(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("store");
        Path kekFile = dir.resolve("kek");
        KeyEncryptionKey kek = KeyEncryptionKey.writeNewKeyFile(kekFile);
        BigInteger serial;
        List<CertEvent> first = new CopyOnWriteArrayList<>();
        try (AutoCert a = build(store, kekFile, first);
             JsseTlsServer server = new JsseTlsServer(a.sslContext(), InetAddress.getLoopbackAddress(), 0)) {
            a.start();
            serial = a.renewNow(NAME).get(30, TimeUnit.SECONDS).serial();
            assertEquals(serial, TlsProbe.handshake(server.address(), NAME, CA.pebble().issuanceRoot(0), T).serial());
        }
        EncryptedCertStore decrypting = EncryptedCertStore.wrap(FileCertStore.of(store), kek);
        List<KeyPair> keys = new java.util.ArrayList<>();
        for (String key : decrypting.list("")) {
            if (key.endsWith(".pem")) {
                keys.add(Pem.decodeKeyPair(decrypting.load(key).orElseThrow()));
                assertTrue(Files.readString(store.resolve(key)).contains("Kek-Id: " + kek.id()), key);
            }
        }
        assertEquals(2, keys.size(), "the account key and the certificate's key: " + decrypting.list(""));
        EncryptedStoreFileTest.assertNoPrivateKey(EncryptedStoreFileTest.snapshot(store), keys.toArray(KeyPair[]::new));

        List<CertEvent> second = new CopyOnWriteArrayList<>();
        try (AutoCert a = build(store, kekFile, second);
             JsseTlsServer server = new JsseTlsServer(a.sslContext(), InetAddress.getLoopbackAddress(), 0)) {
            a.start();
            assertEquals(serial, TlsProbe.handshake(server.address(), NAME, CA.pebble().issuanceRoot(0), T).serial(), "served after the restart");
            assertEquals(serial, a.status(NAME).orElseThrow().serial());
            assertTrue(second.stream().noneMatch(e -> e instanceof CertEvent.Issued), second.toString());
        }
    }
}
