package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.tls.SelfSigned;
import io.github.autocert4j.internal.store.CertBundle;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envelope encryption on the file store, without a CA: what lands in the files holds no private key
 * (neither PEM nor the key's DER), values read back exactly, KEKs from a file and from the environment,
 * rotation, migration of a plaintext store, and a wrong or missing KEK failing clearly with the store
 * unchanged byte for byte.
 */
class EncryptedStoreFileTest {
    static final String ACCOUNT = "acme/127.0.0.1-14000-dir/account/account.key.pem";
    static final String BUNDLE = "certs/enc.example/enc.example.pem";
    static final String META = "certs/enc.example/enc.example.properties";

    static KeyPair fill(CertStore store) throws IOException {
        CertBundle cert = SelfSigned.create(List.of("enc.example"), java.time.Instant.now());
        KeyPair certKey = cert.keyPair();
        store.store(ACCOUNT, Pem.encodeKeyPair(KeyType.EC_P256.generate()));
        store.store(BUNDLE, Pem.encodeBundle(certKey, cert.chain()));
        store.store(META, "names=enc.example\n".getBytes(StandardCharsets.UTF_8));
        return certKey;
    }

    /** Every file under {@code dir} with its bytes. */
    static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> all = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
                all.put(dir.relativize(f).toString(), Files.readAllBytes(f));
            }
        }
        return all;
    }

    static void assertNoPrivateKey(Map<String, byte[]> files, KeyPair... keys) {
        for (Map.Entry<String, byte[]> f : files.entrySet()) {
            String text = new String(f.getValue(), StandardCharsets.ISO_8859_1);
            assertFalse(text.contains("PRIVATE KEY"), f.getKey() + " holds a PEM private key");
            for (KeyPair k : keys) {
                byte[] der = k.getPrivate().getEncoded();
                assertFalse(indexOf(f.getValue(), der) >= 0, f.getKey() + " holds the key's DER");
                assertFalse(text.contains(Base64.getEncoder().encodeToString(der).substring(0, 40)), f.getKey() + " holds the key's base64");
            }
        }
    }

    static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    @Test
    void filesHoldNoPrivateKeyAndValuesReadBackExactly(@TempDir Path dir) throws Exception {
        KeyEncryptionKey kek = KeyEncryptionKey.writeNewKeyFile(dir.resolve("kek"));
        Path storeDir = dir.resolve("store");
        EncryptedCertStore store = EncryptedCertStore.wrap(FileCertStore.of(storeDir), kek);
        KeyPair certKey = fill(store);
        assertNoPrivateKey(snapshot(storeDir), certKey);
        byte[] bundle = store.load(BUNDLE).orElseThrow();
        assertEquals(certKey.getPrivate(), Pem.decodeKeyPair(bundle).getPrivate());
        String raw = Files.readString(storeDir.resolve(BUNDLE));
        assertTrue(raw.contains("Kek-Id: " + kek.id()), raw);
        assertTrue(raw.contains("BEGIN CERTIFICATE"), "the chain stays readable: " + raw);
        assertArrayEquals("names=enc.example\n".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(storeDir.resolve(META)));
        // A restarted process with the same KEK file reads it.
        EncryptedCertStore again = EncryptedCertStore.wrap(FileCertStore.of(storeDir), KeyEncryptionKey.fromFile(dir.resolve("kek")));
        assertArrayEquals(bundle, again.load(BUNDLE).orElseThrow());
    }

    @Test
    void kekFromTheEnvironment(@TempDir Path dir) throws Exception {
        byte[] key = new byte[32];
        new java.security.SecureRandom().nextBytes(key);
        Map<String, String> env = Map.of("AUTOCERT4J_KEK", Base64.getEncoder().encodeToString(key));
        KeyEncryptionKey kek = KeyEncryptionKey.fromEnvironment("AUTOCERT4J_KEK", env);
        assertTrue(kek.id().startsWith("env-"), kek.id());
        EncryptedCertStore store = EncryptedCertStore.wrap(FileCertStore.of(dir), kek);
        KeyPair certKey = fill(store);
        assertNoPrivateKey(snapshot(dir), certKey);
        assertEquals(certKey.getPrivate(), Pem.decodeKeyPair(
                EncryptedCertStore.wrap(FileCertStore.of(dir), KeyEncryptionKey.fromEnvironment("AUTOCERT4J_KEK", env))
                        .load(BUNDLE).orElseThrow()).getPrivate());
        IOException missing = assertThrows(IOException.class, () -> KeyEncryptionKey.fromEnvironment("AUTOCERT4J_KEK", Map.of()));
        assertTrue(missing.getMessage().contains("Fix: export AUTOCERT4J_KEK="), missing.getMessage());
        IOException missingFile = assertThrows(IOException.class, () -> KeyEncryptionKey.fromFile(dir.resolve("nope")));
        assertTrue(missingFile.getMessage().contains("Fix:"), missingFile.getMessage());
    }

    @Test
    void plaintextStoreIsMigratedAndThenRotated(@TempDir Path dir) throws Exception {
        Path storeDir = dir.resolve("store");
        KeyPair certKey = fill(FileCertStore.of(storeDir));
        assertTrue(new String(Files.readAllBytes(storeDir.resolve(BUNDLE)), StandardCharsets.US_ASCII).contains("PRIVATE KEY"));
        KeyEncryptionKey first = KeyEncryptionKey.writeNewKeyFile(dir.resolve("kek1"));
        EncryptedCertStore store = EncryptedCertStore.wrap(FileCertStore.of(storeDir), first);
        byte[] plainBundle = store.load(BUNDLE).orElseThrow(); // plaintext values are read as they are
        assertEquals(2, store.rotate(), "account key and bundle migrated");
        assertNoPrivateKey(snapshot(storeDir), certKey);
        assertArrayEquals(plainBundle, store.load(BUNDLE).orElseThrow());
        assertEquals(0, store.rotate(), "nothing left to migrate");

        KeyEncryptionKey second = KeyEncryptionKey.writeNewKeyFile(dir.resolve("kek2"));
        EncryptedCertStore rotating = EncryptedCertStore.wrap(FileCertStore.of(storeDir), second, first);
        assertEquals(2, rotating.rotate());
        assertTrue(Files.readString(storeDir.resolve(BUNDLE)).contains("Kek-Id: " + second.id()));
        assertFalse(Files.readString(storeDir.resolve(BUNDLE)).contains("Kek-Id: " + first.id()));
        // The old KEK is no longer needed.
        assertArrayEquals(plainBundle, EncryptedCertStore.wrap(FileCertStore.of(storeDir), second).load(BUNDLE).orElseThrow());
        assertNoPrivateKey(snapshot(storeDir), certKey);
    }

    @Test
    void aWrongKekFailsClearlyAndChangesNothing(@TempDir Path dir) throws Exception {
        Path storeDir = dir.resolve("store");
        KeyEncryptionKey right = KeyEncryptionKey.writeNewKeyFile(dir.resolve("right"));
        fill(EncryptedCertStore.wrap(FileCertStore.of(storeDir), right));
        Map<String, byte[]> before = snapshot(storeDir);

        EncryptedCertStore wrong = EncryptedCertStore.wrap(FileCertStore.of(storeDir), KeyEncryptionKey.writeNewKeyFile(dir.resolve("wrong")));
        IOException load = assertThrows(IOException.class, () -> wrong.load(BUNDLE));
        assertTrue(load.getMessage().contains("'" + right.id() + "'") && load.getMessage().contains("Fix: configure that KEK"), load.getMessage());
        IOException write = assertThrows(IOException.class,
                () -> wrong.store(BUNDLE, Pem.encodeKeyPair(KeyType.EC_P256.generate())));
        assertTrue(write.getMessage().startsWith("refusing to overwrite " + BUNDLE), write.getMessage());
        assertThrows(IOException.class, wrong::rotate);

        // Same id, other key material: the tag does not verify.
        byte[] other = new byte[32];
        EncryptedCertStore sameId = EncryptedCertStore.wrap(FileCertStore.of(storeDir), KeyEncryptionKey.aes256(right.id(), other));
        IOException tag = assertThrows(IOException.class, () -> sameId.load(ACCOUNT));
        assertTrue(tag.getMessage().contains("does not decrypt with KEK '" + right.id() + "'") && tag.getMessage().contains("Fix:"),
                tag.getMessage());
        assertThrows(IOException.class, () -> sameId.store(ACCOUNT, Pem.encodeKeyPair(KeyType.EC_P256.generate())));

        // A node with the wrong KEK cannot write over the fleet's keys either: the stored certificate it cannot decrypt is
        // not taken for a missing one, so nothing is ordered (a fake issuer: no account key to read) and nothing written;
        // status says why and how to fix it, and the start-up load keeps reading it (a configured KEK is needed: restart).
        FakeIssuer issuer = new FakeIssuer("fake-ca", java.time.Clock.systemUTC());
        List<CertEvent> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<String> refusedWrites = new java.util.concurrent.CopyOnWriteArrayList<>();
        CertStore wrongNode = new DelegatingStore(EncryptedCertStore.wrap(FileCertStore.of(storeDir), KeyEncryptionKey.fromFile(dir.resolve("wrong")))) {
            @Override
            public void store(String key, byte[] value) throws IOException {
                try {
                    super.store(key, value);
                } catch (IOException refused) {
                    refusedWrites.add(refused.getMessage());
                    throw refused;
                }
            }
        };
        try (AutoCert a = AutoCert.builder().issuer(issuer).certificate("enc.example").store(wrongNode).listener(events::add).build()) {
            a.start();
            long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(20);
            while (a.status("enc.example").orElseThrow().lastError() == null && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            String error = a.status("enc.example").orElseThrow().lastError();
            assertTrue(error != null && error.startsWith("not loaded from the store yet") && error.contains("'" + right.id() + "'")
                    && error.contains("Fix: configure that KEK"), error);
            Thread.sleep(2_500); // more than one retry of the start-up read
            assertEquals(0, issuer.issueCalls(), "a certificate that does not decrypt is not a missing one: no order");
            assertEquals(List.of(), refusedWrites);
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Loaded), events.toString());
        }
        Map<String, byte[]> after = snapshot(storeDir);
        after.keySet().removeIf(k -> !before.containsKey(k) && !k.endsWith(".pem"));
        assertEquals(before.keySet(), after.keySet());
        for (String k : before.keySet()) {
            assertArrayEquals(before.get(k), after.get(k), k + " unchanged");
        }
    }
}
