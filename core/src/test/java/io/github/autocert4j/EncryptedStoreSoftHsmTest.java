package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Provider;
import java.security.Security;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import javax.crypto.KeyGenerator;

import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The key-encryption key in a PKCS#11 token: SoftHSM2 (scripts/get-softhsm.sh) with a token created for
 * this test in a temporary directory, used through the JDK's SunPKCS11. SoftHSM2 reads SOFTHSM2_CONF from
 * the process environment, so the token is used from child JVMs started with it: one creates an AES-256
 * key in the token and writes an encrypted store, a second (a restart) reads the keys back through the
 * token. The store's files hold no private key.
 */
@IntegrationTest
class EncryptedStoreSoftHsmTest {
    static final String PIN = "1234";
    static final String LIB = System.getenv().getOrDefault("SOFTHSM2_LIB", "/usr/lib/softhsm/libsofthsm2.so");

    @Test
    void kekInSoftHsm2EncryptsAndARestartReadsThroughTheToken(@TempDir Path dir) throws Exception {
        assertTrue(Files.isRegularFile(Path.of(LIB)), LIB + " missing. Fix: bash scripts/get-softhsm.sh");
        Files.createDirectories(dir.resolve("tokens"));
        Path conf = dir.resolve("softhsm2.conf");
        Files.writeString(conf, "directories.tokendir = " + dir.resolve("tokens") + "\nobjectstore.backend = file\nlog.level = ERROR\n");
        List<String> init = run(conf, List.of("softhsm2-util", "--init-token", "--free", "--label", "autocert4j", "--pin", PIN, "--so-pin", "5678"));
        String slot = init.stream().filter(l -> l.contains("reassigned to slot")).map(l -> l.replaceAll(".*slot ", "").trim())
                .findFirst().orElseThrow(() -> new AssertionError("softhsm2-util: " + init));
        Path p11 = dir.resolve("pkcs11.cfg");
        Files.writeString(p11, "name = SoftHSM\nlibrary = " + LIB + "\nslot = " + slot + "\n");
        Path store = dir.resolve("store");

        List<String> wrote = run(conf, javaChild("write", p11, store));
        List<String> read = run(conf, javaChild("read", p11, store));
        String key = wrote.stream().filter(l -> l.startsWith("KEY ")).findFirst().orElseThrow(() -> new AssertionError(wrote.toString()));
        assertTrue(wrote.contains("ID pkcs11-kek"), wrote.toString());
        assertEquals(key, read.stream().filter(l -> l.startsWith("KEY ")).findFirst().orElseThrow(() -> new AssertionError(read.toString())),
                "the restarted child decrypts the same certificate key through the token");
        byte[] der = Base64.getDecoder().decode(key.substring(4));
        for (Map.Entry<String, byte[]> f : EncryptedStoreFileTest.snapshot(store).entrySet()) {
            assertFalse(new String(f.getValue(), StandardCharsets.ISO_8859_1).contains("PRIVATE KEY"), f.getKey());
            assertTrue(EncryptedStoreFileTest.indexOf(f.getValue(), der) < 0, f.getKey());
            if (f.getKey().endsWith(".pem")) {
                assertTrue(new String(f.getValue(), StandardCharsets.US_ASCII).contains("Kek-Id: pkcs11-kek"), f.getKey());
            }
        }
    }

    static List<String> javaChild(String mode, Path p11, Path store) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), Child.class.getName(), mode, p11.toString(), store.toString());
    }

    static List<String> run(Path conf, List<String> cmd) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("SOFTHSM2_CONF", conf.toString());
        Process p = pb.start();
        List<String> out = new ArrayList<>();
        try (var r = p.inputReader(StandardCharsets.UTF_8)) {
            for (String l = r.readLine(); l != null && out.size() < 1000; l = r.readLine()) {
                out.add(l);
            }
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        assertEquals(0, p.exitValue(), cmd.get(0) + " " + cmd.get(cmd.size() > 4 ? 4 : 0) + ": " + out);
        return out;
    }

    /** The child JVM: {@code write} makes the KEK in the token and fills the store; {@code read} reads the key back. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            Provider p = Security.getProvider("SunPKCS11").configure(args[1]);
            KeyStore token = KeyStore.getInstance("PKCS11", p);
            token.load(null, PIN.toCharArray());
            if (args[0].equals("write")) {
                KeyGenerator gen = KeyGenerator.getInstance("AES", p);
                gen.init(256);
                token.setEntry("kek", new KeyStore.SecretKeyEntry(gen.generateKey()), new KeyStore.PasswordProtection(PIN.toCharArray()));
            }
            KeyEncryptionKey kek = KeyEncryptionKey.pkcs11(token, "kek", PIN.toCharArray());
            EncryptedCertStore store = EncryptedCertStore.wrap(FileCertStore.of(Path.of(args[2])), kek);
            store.checkAccess();
            System.out.println("ID " + kek.id());
            if (args[0].equals("write")) {
                KeyPair k = EncryptedStoreFileTest.fill(store);
                System.out.println("KEY " + Base64.getEncoder().encodeToString(k.getPrivate().getEncoded()));
            } else {
                KeyPair k = Pem.decodeKeyPair(store.load(EncryptedStoreFileTest.BUNDLE).orElseThrow());
                System.out.println("KEY " + Base64.getEncoder().encodeToString(k.getPrivate().getEncoded()));
            }
        }
    }
}
