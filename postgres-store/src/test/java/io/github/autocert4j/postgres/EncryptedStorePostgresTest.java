package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.EncryptedCertStore;
import io.github.autocert4j.KeyEncryptionKey;
import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Envelope encryption on PostgreSQL: a role granted only SELECT on the tables reads every row and finds
 * no private key (neither PEM nor the key's DER); a plaintext store is migrated, then rotated to a new
 * KEK; a wrong KEK fails clearly and leaves every row unchanged byte for byte.
 */
@IntegrationTest
class EncryptedStorePostgresTest {
    static final String ACCOUNT = "acme/127.0.0.1-14000-dir/account/account.key.pem";
    static final String BUNDLE = "certs/pg.example/pg.example.pem";
    static final String META = "certs/pg.example/pg.example.properties";

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(4);

    static KeyPair key() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(256);
        return g.generateKeyPair();
    }

    static byte[] pem(KeyPair k, String tail) {
        return ("-----BEGIN PRIVATE KEY-----\n" + Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(k.getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n" + tail).getBytes(StandardCharsets.US_ASCII);
    }

    static KeyPair fill(CertStore store) throws Exception {
        KeyPair cert = key();
        store.store(ACCOUNT, pem(key(), ""));
        store.store(BUNDLE, pem(cert, "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"));
        store.store(META, "names=pg.example\n".getBytes(StandardCharsets.UTF_8));
        return cert;
    }

    /** Every row of the entries table, read by a role that was granted SELECT and nothing else. */
    static Map<String, byte[]> readAsSelectOnlyRole(String prefix) throws Exception {
        return readAsSelectOnlyRole(DB, prefix);
    }

    /** The same on {@code db}'s server. */
    static Map<String, byte[]> readAsSelectOnlyRole(PostgresExtension db, String prefix) throws Exception {
        String role = prefix + "reader";
        PgSupport.admin(db.pg(), "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '" + role + "') THEN CREATE ROLE "
                + role + " LOGIN PASSWORD 'r3ad'; END IF; END $$", "GRANT USAGE ON SCHEMA public TO " + role,
                "GRANT SELECT ON " + prefix + "entries, " + prefix + "locks TO " + role);
        Map<String, byte[]> rows = new TreeMap<>();
        try (Connection c = DriverManager.getConnection(db.pg().jdbcUrl(), role, "r3ad"); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT key, value FROM " + prefix + "entries")) {
            while (rs.next()) {
                rows.put(rs.getString(1), rs.getBytes(2));
            }
        }
        return rows;
    }

    static void assertNoPrivateKey(Map<String, byte[]> rows, KeyPair... keys) {
        assertTrue(rows.containsKey(BUNDLE) && rows.containsKey(ACCOUNT), rows.keySet().toString());
        for (Map.Entry<String, byte[]> r : rows.entrySet()) {
            String text = new String(r.getValue(), StandardCharsets.ISO_8859_1);
            assertFalse(text.contains("PRIVATE KEY"), r.getKey());
            for (KeyPair k : keys) {
                assertFalse(text.contains(new String(k.getPrivate().getEncoded(), StandardCharsets.ISO_8859_1)), r.getKey() + ": DER");
                assertFalse(text.contains(Base64.getEncoder().encodeToString(k.getPrivate().getEncoded()).substring(0, 40)), r.getKey());
            }
        }
    }

    @Test
    void aSelectOnlyRoleFindsNoPrivateKey(@TempDir Path dir) throws Exception {
        String prefix = PgSupport.freshPrefix("enc");
        KeyEncryptionKey kek = KeyEncryptionKey.writeNewKeyFile(dir.resolve("kek"));
        EncryptedCertStore store = EncryptedCertStore.wrap(PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build(), kek);
        KeyPair cert = fill(store);
        Map<String, byte[]> rows = readAsSelectOnlyRole(prefix);
        assertNoPrivateKey(rows, cert);
        assertArrayEquals("names=pg.example\n".getBytes(StandardCharsets.UTF_8), rows.get(META), "metadata stays readable");
        assertTrue(new String(rows.get(BUNDLE), StandardCharsets.US_ASCII).contains("BEGIN CERTIFICATE"), "the chain stays readable");
        assertTrue(new String(store.load(BUNDLE).orElseThrow(), StandardCharsets.US_ASCII).contains("BEGIN PRIVATE KEY"));
    }

    @Test
    void plaintextRowsAreMigratedThenRotatedAndAWrongKekChangesNothing(@TempDir Path dir) throws Exception {
        String prefix = PgSupport.freshPrefix("encmig");
        PostgresCertStore raw = PostgresCertStore.builder(DB.pool()).tablePrefix(prefix).build();
        KeyPair cert = fill(raw);
        byte[] plainBundle = raw.load(BUNDLE).orElseThrow();
        KeyEncryptionKey first = KeyEncryptionKey.writeNewKeyFile(dir.resolve("k1"));
        assertEquals(2, EncryptedCertStore.wrap(raw, first).rotate());
        assertNoPrivateKey(readAsSelectOnlyRole(prefix), cert);

        KeyEncryptionKey second = KeyEncryptionKey.writeNewKeyFile(dir.resolve("k2"));
        assertEquals(2, EncryptedCertStore.wrap(raw, second, first).rotate());
        EncryptedCertStore current = EncryptedCertStore.wrap(raw, second);
        assertArrayEquals(plainBundle, current.load(BUNDLE).orElseThrow());
        assertTrue(new String(raw.load(ACCOUNT).orElseThrow(), StandardCharsets.US_ASCII).contains("Kek-Id: " + second.id()));

        Map<String, byte[]> before = readAsSelectOnlyRole(prefix);
        EncryptedCertStore wrong = EncryptedCertStore.wrap(raw, first); // the retired KEK alone
        IOException e = assertThrows(IOException.class, () -> wrong.load(BUNDLE));
        assertTrue(e.getMessage().contains(second.id()) && e.getMessage().contains("Fix:"), e.getMessage());
        assertThrows(IOException.class, () -> wrong.store(BUNDLE, pem(key(), "")));
        assertThrows(IOException.class, () -> wrong.store(ACCOUNT, pem(key(), "")));
        assertThrows(IOException.class, wrong::rotate);
        Map<String, byte[]> after = readAsSelectOnlyRole(prefix);
        assertEquals(before.keySet(), after.keySet());
        before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " unchanged"));
    }
}
