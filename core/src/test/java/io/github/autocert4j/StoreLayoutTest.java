package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreLayoutTest {

    private static final Pattern SEGMENT = Pattern.compile("[a-z0-9._@-]+");
    private static final URI PEBBLE = URI.create("https://127.0.0.1:14000/dir");

    @TempDir
    Path tmp;

    /** The regular expressions sanitize() replaced: a store written by earlier versions must keep its key names. */
    private static String sanitizeByRegex(String s) {
        String lower = s.toLowerCase(java.util.Locale.ROOT).replace("*", "wildcard_");
        return lower.replaceAll("[^a-z0-9._@-]+", "-").replaceAll("^-+|-+$", "").replace("..", "-");
    }

    @Test
    void sanitizeGivesWhatTheRegularExpressionsGave() {
        String alphabet = "aZz09._@-*-- ..:/\\\u00e9\u0130\u212a\ud83d\ude00\n\u2028%";
        Random random = new Random(42);
        for (int i = 0; i < 100_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int n = random.nextInt(12); n > 0; n--) {
                b.append(alphabet.charAt(random.nextInt(alphabet.length())));
            }
            String s = b.toString();
            assertEquals(sanitizeByRegex(s), StoreLayout.sanitize(s), "sanitize(\"" + s + "\")");
        }
        for (String s : List.of("", "-", "---", "*.example.com", "EXAMPLE.com", "a..b", "a...b", "-a-", "xn--bcher-kva.example", "127.0.0.1", "::1")) {
            assertEquals(sanitizeByRegex(s), StoreLayout.sanitize(s), s);
        }
    }

    @Test
    void layoutForPebbleMatchesTheDocumentedShape() {
        StoreLayout l = new StoreLayout(PEBBLE);
        assertEquals("acme/127.0.0.1-14000-dir/account/account.key.pem", l.accountKey());
        assertEquals("acme/127.0.0.1-14000-dir/account/account.url", l.accountLocation());
        assertEquals("certs/example.com/example.com.pem", StoreLayout.certBundle("example.com"));
        assertEquals("certs/example.com/example.com.properties", StoreLayout.certMeta("example.com"));
        assertEquals("certs/", StoreLayout.certsPrefix());
        assertTrue(StoreLayout.certBundle("example.com").startsWith(StoreLayout.certsPrefix()));
        assertEquals("challenges/http-01/tok-EN_1", StoreLayout.http01Challenge("tok-EN_1"));
    }

    @Test
    void letsEncryptDirectories() {
        assertEquals("acme/acme-v02.api.letsencrypt.org-directory/account/account.key.pem",
                new StoreLayout(AutoCert.LETS_ENCRYPT_PRODUCTION).accountKey());
        assertEquals("acme/acme-staging-v02.api.letsencrypt.org-directory/account/account.key.pem",
                new StoreLayout(AutoCert.LETS_ENCRYPT_STAGING).accountKey());
    }

    @Test
    void differentCasDoNotShareAccountsButCertificatesAreFoundWhicheverCaIssuedThem() {
        List<URI> cas = List.of(PEBBLE, URI.create("https://127.0.0.1:14001/dir"), URI.create("https://localhost:14000/dir"),
                AutoCert.LETS_ENCRYPT_PRODUCTION, AutoCert.LETS_ENCRYPT_STAGING, URI.create("https://acme.zerossl.com/v2/DV90"));
        for (URI a : cas) {
            for (URI b : cas) {
                if (!a.equals(b)) {
                    StoreLayout la = new StoreLayout(a);
                    StoreLayout lb = new StoreLayout(b);
                    assertNotEquals(la.accountKey(), lb.accountKey(), a + " vs " + b);
                    assertNotEquals(la.accountLocation(), lb.accountLocation());
                    assertNotEquals(la.accountLock(), lb.accountLock());
                    assertNotEquals(StoreLayout.caId(a), StoreLayout.caId(b));
                }
            }
        }
    }

    @Test
    void hostNameCaseDoesNotMatter() {
        assertEquals(new StoreLayout(URI.create("https://ACME.Example/dir")).accountKey(),
                new StoreLayout(URI.create("https://acme.example/dir")).accountKey());
    }

    @Test
    void wildcardIdsAreSanitizedAndDistinct() {
        StoreLayout l = new StoreLayout(PEBBLE);
        String wild = StoreLayout.certBundle("*.example.com");
        assertFalse(wild.contains("*"), wild);
        assertNotEquals(wild, StoreLayout.certBundle("example.com"));
        assertNotEquals(StoreLayout.certLock("*.example.com"), StoreLayout.certLock("example.com"));
    }

    @Test
    void sanitizeNeverProducesDotDotOrForeignCharacters() {
        assertEquals("a-b", StoreLayout.sanitize("a..b"));
        assertEquals("x", StoreLayout.sanitize("//x//"));
        assertEquals("a-b", StoreLayout.sanitize("a b"));
        assertEquals("a-b", StoreLayout.sanitize("a/:?b"));
        assertEquals("upper", StoreLayout.sanitize("UPPER"));
        Random r = new Random(2024);
        String alphabet = "abcXYZ019.-_@/*:?# \\..%";
        for (int i = 0; i < 2000; i++) {
            StringBuilder sb = new StringBuilder();
            int len = 1 + r.nextInt(20);
            for (int j = 0; j < len; j++) {
                sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            String s = StoreLayout.sanitize(sb.toString());
            assertFalse(s.contains(".."), sb + " -> " + s);
            assertTrue(s.isEmpty() || SEGMENT.matcher(s).matches(), sb + " -> " + s);
        }
    }

    @Test
    void everyKeyAndLockIsAcceptedByFileCertStore() throws Exception {
        FileCertStore store = FileCertStore.of(tmp);
        List<URI> cas = List.of(PEBBLE, AutoCert.LETS_ENCRYPT_PRODUCTION, URI.create("https://[::1]:14000/dir"),
                URI.create("https://ca.example/a..b/dir"), URI.create("https://ca.example"));
        for (URI ca : cas) {
            StoreLayout l = new StoreLayout(ca);
            for (String id : List.of("example.com", "*.example.com", "xn--bcher-kva.example", "a-b.c-d.example")) {
                for (String key : List.of(l.accountKey(), l.accountLocation(), StoreLayout.certBundle(id), l.certMeta(id))) {
                    store.store(key, key.getBytes(StandardCharsets.US_ASCII));
                    assertEquals(key, new String(store.load(key).orElseThrow(), StandardCharsets.US_ASCII));
                }
                try (CertStore.Lock lock = store.lock(StoreLayout.certLock(id))) {
                    assertTrue(lock != null);
                }
            }
            try (CertStore.Lock lock = store.lock(l.accountLock())) {
                assertTrue(lock != null);
            }
            assertTrue(store.list(l.certsPrefix()).contains(StoreLayout.certBundle("example.com")));
        }
    }
}
