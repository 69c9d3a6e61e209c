package io.github.autocert4j;

import io.github.autocert4j.internal.store.Pem;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AutoCertBuilderTest {

    private static final URI DIRECTORY = URI.create("https://127.0.0.1:14000/dir");

    @TempDir
    Path tmp;

    /** A configuration that builds; each test breaks one thing. */
    private AutoCertBuilder valid() {
        return AutoCert.builder()
                .directory(DIRECTORY)
                .agreeToTermsOfService(true)
                .email("ops@example.test")
                .certificate("app.example.test", "www.example.test")
                .storageDirectory(tmp.resolve("store"));
    }

    /** build() fails; returns the message, which must name {@code field} and give a fix. */
    private static String fails(AutoCertBuilder b, String field) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, b::build);
        String msg = e.getMessage();
        assertTrue(msg.startsWith("invalid autocert4j configuration"), msg);
        assertTrue(msg.contains(field), "message names '" + field + "': " + msg);
        return msg;
    }

    private static void assertFix(String msg, String fix) {
        assertTrue(msg.contains(fix), "message gives the fix '" + fix + "': " + msg);
    }

    private static final class Dns01 implements ChallengeSolver {
        @Override
        public String challengeType() {
            return "dns-01";
        }

        @Override
        public void present(Challenge challenge) {
        }

        @Override
        public void cleanUp(Challenge challenge) {
        }
    }

    @Test
    void everyProblemIsAlsoGivenStructuredForFrameworks() {
        InvalidConfigurationException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidConfigurationException.class,
                () -> AutoCert.builder().certificate("a.example.test").email("nope")
                        .renewal(RenewalPolicy.defaults().withBackoff(List.of())).storageDirectory(tmp).build());
        List<String> fields = e.problems().stream().map(InvalidConfigurationException.Problem::field).toList();
        assertEquals(List.of("directory", "email", "renewal.backoff"), fields, e.getMessage());
        assertTrue(e.problems().stream().allMatch(p -> p.description().contains("Fix") || p.description().contains("e.g.")), e.problems().toString());
        assertTrue(e.getMessage().contains("directory: not set"), "the message still lists everything");
    }

    @Test
    void validConfigurationBuilds() {
        try (AutoCert ac = valid().build()) {
            assertNotNull(ac.http01());
            assertNotNull(ac.keyManager());
            assertNotNull(ac.sslContext());
            assertEquals(1, ac.status().size());
            assertEquals(CertificateStatus.State.PENDING, ac.status().get(0).state());
            assertTrue(ac.status("WWW.example.test").isPresent(), "names are normalized");
            assertTrue(ac.status("other.example.test").isEmpty());
            assertTrue(Files.isDirectory(tmp.resolve("store")), "build() checked the store by writing to it");
        }
    }

    @Test
    void validVariantsBuild() throws Exception {
        Path trust = tmp.resolve("ca.pem");
        Files.write(trust, Pem.encodeCertificates(List.of(new ChainVerifierTest.TestPki("Trust").root)));
        ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
        try (AutoCert ac = valid()
                .email(null)
                .acmeServerTrust(trust)
                .certificate("*.wild.example.test", "wild.example.test")
                .challengeSolver(new Dns01())
                .keyType(KeyType.RSA_2048)
                .profile("shortlived").requireProfile(true)
                .renewal(RenewalPolicy.defaults().withCheckInterval(Duration.ofHours(1)))
                .executor(executor)
                .directory("https://acme.example.test/directory")
                .build()) {
            assertEquals(2, ac.status().size());
        } finally {
            assertFalse(executor.isShutdown(), "a caller's executor is not shut down by close()");
            executor.shutdownNow();
        }
    }

    @Test
    void noCertificates() {
        String msg = fails(AutoCert.builder().directory(DIRECTORY).agreeToTermsOfService(true).storageDirectory(tmp), "certificate: none configured");
        assertFix(msg, ".certificate(\"example.com\"");
        String empty = fails(valid().certificate(), "certificate(): no names given");
        assertFix(empty, "Fix:");
    }

    @Test
    void wildcardWithoutDns01Solver() {
        String msg = fails(valid().certificate("*.example.test"), "'*.example.test' is a wildcard");
        assertFix(msg, "DNS-01");
        assertFix(msg, ".challengeSolver(");
    }

    @Test
    void wildcardInTheWrongPlace() {
        String msg = fails(valid().challengeSolver(new Dns01()).certificate("a.*.example.test"), "invalid label '*'");
        assertFix(msg, "leftmost label");
        fails(valid().challengeSolver(new Dns01()).certificate("*.*.example.test"), "invalid label '*'");
    }

    @Test
    void ipAddressName() {
        String msg = fails(valid().certificate("192.0.2.10"), "'192.0.2.10' is an IP address");
        assertFix(msg, "Fix: use a DNS name");
        assertFix(fails(valid().certificate("::1"), "'::1'"), ".allowIpAddresses(true)");
        assertFix(fails(valid().certificate("0:0:0:0:0:0:0:1"), "'::1' is an IP address"), "profile that allows them");
    }

    @Test
    void invalidNames() {
        assertFix(fails(valid().certificate("-bad.example.test"), "invalid label '-bad'"), "inner hyphens");
        assertFix(fails(valid().certificate("bad_underscore.example.test"), "invalid label 'bad_underscore'"), "Fix:");
        fails(valid().certificate("a..example.test"), "invalid label ''");
        fails(valid().certificate("x".repeat(64) + ".example.test"), "invalid label");
        assertFix(fails(valid().certificate("localhost"), "'localhost' is not a fully qualified DNS name"), "app.example.com");
        fails(valid().certificate("example.test."), "not a fully qualified DNS name");
        fails(valid().certificate(""), "certificate: empty name");
        fails(valid().certificate((String) null), "certificate: empty name");
        fails(valid().certificate("a.example.test/path"), "invalid label");
        fails(valid().certificate("a.example.test:443"), "invalid label");
        fails(valid().certificate(("a".repeat(60) + ".").repeat(5) + "test"), "not a fully qualified DNS name");
    }

    @Test
    void duplicateName() {
        assertFix(fails(valid().certificate("www.example.test"), "'www.example.test' is listed twice"), "exactly one certificate");
        fails(valid().certificate("other.example.test", "Other.Example.Test "), "'other.example.test' is listed twice");
    }

    @Test
    void missingDirectory() {
        String msg = fails(AutoCert.builder().agreeToTermsOfService(true).certificate("a.example.test").storageDirectory(tmp), "directory: not set");
        assertFix(msg, "LETS_ENCRYPT_STAGING");
    }

    @Test
    void httpDirectory() {
        String msg = fails(valid().directory(URI.create("http://127.0.0.1:14000/dir")), "is not an https URL");
        assertFix(msg, "https directory URL");
        fails(valid().directory("not a url"), "directory: 'not a url' is not a URL");
        fails(valid().directory(URI.create("https:///dir")), "is not an https URL");
        fails(valid().directory(URI.create("acme.example.test/dir")), "is not an https URL");
    }

    @Test
    void termsOfServiceNotAgreed() {
        assertFix(fails(valid().agreeToTermsOfService(false), "agreeToTermsOfService: not agreed"), ".agreeToTermsOfService(true)");
    }

    @Test
    void badEmail() {
        for (String bad : List.of("ops", "ops@", "@example.test", "ops@example", "a b@example.test", "a@b@example.test")) {
            assertFix(fails(valid().email(bad), "email: '" + bad + "'"), ".email(\"ops@example.com\")");
        }
    }

    @Test
    void unwritableStore() throws Exception {
        Path file = Files.writeString(tmp.resolve("file"), "not a directory");
        String msg = fails(valid().storageDirectory(file.resolve("sub")), "store: FileCertStore[");
        assertFix(msg, "cannot be written");
        assertFix(msg, "storageDirectory()");
        fails(valid().storageDirectory(null), "storageDirectory: null");
        CertStore broken = new CertStore() {
            @Override
            public java.util.Optional<byte[]> load(String key) {
                return java.util.Optional.empty();
            }

            @Override
            public void store(String key, byte[] value) {
            }

            @Override
            public List<String> list(String prefix) {
                return List.of();
            }

            @Override
            public boolean delete(String key) {
                return false;
            }

            @Override
            public Lock lock(String name) {
                return () -> { };
            }

            @Override
            public void checkAccess() throws java.io.IOException {
                throw new java.io.IOException("read-only bucket");
            }

            @Override
            public String toString() {
                return "BrokenStore";
            }
        };
        assertFix(fails(valid().store(broken), "store: BrokenStore cannot be written"), "read-only bucket");
    }

    @Test
    void unreadableTrustPem() throws Exception {
        Path missing = tmp.resolve("missing.pem");
        assertFix(fails(valid().acmeServerTrust(missing), "acmeServerTrust: cannot use " + missing), "readable PEM file");
        Path empty = Files.writeString(tmp.resolve("empty.pem"), "no certificates here\n");
        assertFix(fails(valid().acmeServerTrust(empty), "acmeServerTrust"), "no certificate in the file");
        assertFix(fails(valid().acmeServerTrust(tmp), "acmeServerTrust"), "Fix:");
    }

    /**
     * BUG (via Pem): a trust PEM with a corrupted base64 body makes build() throw BouncyCastle's
     * DecoderException instead of the IllegalArgumentException listing "acmeServerTrust: ...".
     * Builder.trustFrom catches IOException | GeneralSecurityException only. Fix in Pem (wrap
     * RuntimeException from PEMParser as IOException) or also catch RuntimeException in build().
     */
    @Test
    void corruptedTrustPem() throws Exception {
        Path bad = Files.writeString(tmp.resolve("bad.pem"), "-----BEGIN CERTIFICATE-----\nMII!!!!\n-----END CERTIFICATE-----\n");
        fails(valid().acmeServerTrust(bad), "acmeServerTrust");
    }

    @Test
    void badRenewalPolicy() {
        RenewalPolicy d = RenewalPolicy.defaults();
        assertFix(fails(valid().renewal(d.withCheckInterval(Duration.ZERO)), "renewal.checkInterval"), "positive duration");
        assertFix(fails(valid().renewal(d.withCheckInterval(null)), "renewal.checkInterval"), "Duration.ofHours(12)");
        assertFix(fails(valid().renewal(d.withRenewalRatio(0)), "renewal.renewalRatio"), "between 0 and 1");
        fails(valid().renewal(d.withRenewalRatio(1)), "renewal.renewalRatio");
        fails(valid().renewal(d.withRenewalRatio(Double.NaN)), "renewal.renewalRatio");
        assertFix(fails(valid().renewal(d.withBackoff(List.of())), "renewal.backoff is empty"), "at least one delay");
        fails(valid().renewal(d.withBackoff(null)), "renewal.backoff");
        fails(valid().renewal(d.withBackoff(List.of(Duration.ofMinutes(1), Duration.ofSeconds(-1)))), "renewal.backoff");
        fails(valid().renewal(d.withExpiryWarning(Duration.ofDays(-1))), "renewal.expiryWarning");
        fails(valid().renewal(d.withOrderTimeout(Duration.ZERO)), "renewal.orderTimeout");
        fails(valid().renewal(d.withHttpTimeout(null)), "renewal.httpTimeout");
        assertFix(fails(valid().renewal(null), "renewal: null"), "RenewalPolicy.defaults()");
    }

    @Test
    void requireProfileWithoutProfile() {
        assertFix(fails(valid().requireProfile(true), "requireProfile: set without a profile"), ".profile(\"shortlived\")");
        fails(valid().profile("bad profile!"), "profile: 'bad profile!'");
    }

    @Test
    void otherNullFields() {
        fails(valid().keyType(null), "keyType: null");
        fails(valid().listener(null), "listener: null");
        fails(valid().clock(null), "clock: null");
        fails(valid().challengeSolver(null), "challengeSolver: null");
    }

    @Test
    void everyErrorIsListedInOneMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AutoCert.builder()
                .directory(URI.create("http://ca.example.test/dir"))
                .email("nope")
                .certificate("*.example.test", "192.0.2.1")
                .requireProfile(true)
                .renewal(RenewalPolicy.defaults().withRenewalRatio(2))
                .storageDirectory(tmp)
                .build());
        String msg = e.getMessage();
        List<String> expected = List.of("is a wildcard", "is an IP address", "is not an https URL", "agreeToTermsOfService",
                "email:", "requireProfile", "renewal.renewalRatio");
        for (String part : expected) {
            assertTrue(msg.contains(part), "missing '" + part + "' in: " + msg);
        }
        assertEquals(expected.size(), msg.split("\n  - ", -1).length - 1, "one line per problem: " + msg);
    }

    @Test
    void toStringHasNoKeyMaterial() throws Exception {
        try (AutoCert ac = valid().build()) {
            String s = ac.toString();
            assertTrue(s.contains("app.example.test"), s);
            assertFalse(s.contains("PRIVATE"), s);
            assertFalse(s.contains("BEGIN"), s);
            // the fallback key is live in the key manager: none of it shows up either
            String alias = ac.keyManager().chooseServerAlias("EC", null, null);
            java.security.PrivateKey key = ac.keyManager().getPrivateKey(alias);
            assertNotNull(key);
            String encoded = java.util.Base64.getEncoder().encodeToString(key.getEncoded());
            assertFalse(s.contains(encoded.substring(0, 20)), s);
            assertFalse(ac.keyManager().toString().contains(encoded.substring(0, 20)));
            assertFalse(new String(Pem.encodeKeyPair(new java.security.KeyPair(ac.keyManager().getCertificateChain(alias)[0].getPublicKey(), key)),
                    StandardCharsets.US_ASCII).isEmpty());
        }
    }
}
