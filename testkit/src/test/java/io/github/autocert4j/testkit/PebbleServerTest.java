package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(60)
@IntegrationTest
class PebbleServerTest {

    private static String directory(PebbleServer pebble) throws IOException, InterruptedException {
        HttpClient client = HttpClient.newBuilder().sslContext(pebble.acmeServerSslContext())
                .connectTimeout(Duration.ofSeconds(5)).build();
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(pebble.directoryUri())
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** The keys of the "profiles" object inside "meta" (flat string-to-string object in Pebble's directory). */
    private static String profilesObject(String directoryJson) {
        Matcher m = Pattern.compile("\"profiles\"\\s*:\\s*\\{([^}]*)\\}").matcher(directoryJson);
        return m.find() ? m.group(1) : null;
    }

    @Test
    void latestHasAriAndConfiguredProfile() throws Exception {
        int httpPort = FreePorts.loopback();
        try (PebbleServer pebble = PebbleServer.builder()
                .flavor(PebbleServer.Flavor.LATEST)
                .httpPort(httpPort)
                .profile("tenday", Duration.ofDays(10))
                .start()) {
            assertEquals(PebbleServer.Flavor.LATEST, pebble.flavor());
            assertEquals("2.10.0", pebble.version());
            assertEquals(httpPort, pebble.httpPort());
            assertEquals(5001, pebble.tlsPort());
            assertEquals("127.0.0.1", pebble.directoryUri().getHost());
            assertEquals("/dir", pebble.directoryUri().getPath());

            String dir = directory(pebble);
            assertTrue(dir.contains("\"renewalInfo\""), dir);
            String profiles = profilesObject(dir);
            assertTrue(profiles != null && profiles.contains("\"tenday\""), dir);
            assertTrue(profiles.contains("\"default\""), "a default profile is always configured: " + dir);

            // API CA and issuance root are different things; the issuance root is cached
            X509Certificate apiCa = TestCerts.parseCertificates(Files.readAllBytes(pebble.acmeServerCaPem())).get(0);
            X509Certificate root = pebble.issuanceRoot();
            assertNotEquals(apiCa, root);
            assertSame(root, pebble.issuanceRoot());
            assertEquals(root, TestCerts.parseCertificates(Files.readAllBytes(pebble.issuanceRootPem())).get(0));
            assertTrue(root.getBasicConstraints() >= 0, "issuance root is a CA");

            pebble.addARecord("app.test", "127.0.0.2");
            pebble.clearARecord("app.test");
            assertThrows(IllegalArgumentException.class, () -> pebble.addARecord("app.test", "192.0.2.1"));
            assertTrue(pebble.certificateStatus(BigInteger.valueOf(0x1234567)).isEmpty());

            String log = Files.readString(pebble.logFile(), StandardCharsets.UTF_8);
            assertTrue(log.contains("tenday"), log);
        }
    }

    @Test
    void latestDefaultProfilesAndRetryAfterConfig() throws Exception {
        try (PebbleServer pebble = PebbleServer.builder().httpPort(FreePorts.loopback()).retryAfter(1, 2).start()) {
            String profiles = profilesObject(directory(pebble));
            assertTrue(profiles != null && profiles.contains("\"default\"") && profiles.contains("\"shortlived\""),
                    String.valueOf(profiles));
        }
    }

    @Test
    void debian12Starts() throws Exception {
        try (PebbleServer pebble = PebbleServer.builder()
                .flavor(PebbleServer.Flavor.DEBIAN_12)
                .httpPort(FreePorts.loopback())
                .tlsPort(FreePorts.loopback())
                .start()) {
            assertEquals("2.4.0", pebble.version());
            String dir = directory(pebble);
            assertTrue(dir.contains("\"newOrder\""), dir);
            assertFalse(dir.contains("\"renewalInfo\""), "Pebble 2.4 has no ARI: " + dir);
            assertEquals(null, profilesObject(dir), dir);
            assertTrue(pebble.issuanceRoot().getBasicConstraints() >= 0);
            pebble.addARecord("app.test", "127.0.0.1");
        }
    }

    @Test
    void ariFlavorStarts() throws Exception {
        try (PebbleServer pebble = PebbleServer.builder()
                .flavor(PebbleServer.Flavor.ARI)
                .httpPort(FreePorts.loopback())
                .start()) {
            assertEquals("2.6.0", pebble.version());
            String dir = directory(pebble);
            assertTrue(dir.contains("\"renewalInfo\""), dir);
            assertEquals(null, profilesObject(dir), dir);
        }
    }

    @Test
    void profilesRejectedOnOlderFlavors() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> PebbleServer.builder()
                .flavor(PebbleServer.Flavor.DEBIAN_12).profile("x", Duration.ofDays(1)).start());
        assertTrue(e.getMessage().contains("LATEST"), e.getMessage());
    }

    @Test
    void missingBinaryTellsWhatAUserOutsideThisRepositoryCanDo(@TempDir Path emptyRepo) {
        for (PebbleServer.Flavor f : PebbleServer.Flavor.values()) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> PebbleServer.Binaries.locate(f, null, emptyRepo, List.of(emptyRepo)));
            String m = e.getMessage();
            assertTrue(m.contains("apt-get install pebble") && m.contains("PEBBLE_BIN") && m.contains("Fix:"), m);
            assertTrue(m.contains("run `scripts/get-pebble.sh`") && m.contains("inside the autocert4j repository"), m);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PebbleServer.Binaries.locate(PebbleServer.Flavor.LATEST,
                        emptyRepo.resolve("nope/pebble").toString(), emptyRepo, List.of()));
        assertTrue(e.getMessage().contains("PEBBLE_BIN points to") && e.getMessage().contains("apt-get install pebble"),
                e.getMessage());
    }

    /** A directory standing for a PATH entry, with pebble and pebble-challtestsrv linked to the suite's binaries. */
    static Path pathWith(Path dir, String suite) throws Exception {
        Path bin = PebbleServer.Binaries.findRepoRoot().resolve(".pebble").resolve(suite).resolve("usr/bin").toRealPath();
        Files.createSymbolicLink(dir.resolve("pebble"), bin.resolve("pebble"));
        Files.createSymbolicLink(dir.resolve("pebble-challtestsrv"), bin.resolve("pebble-challtestsrv"));
        return dir;
    }

    @Test
    void pebbleOnThePathIsFoundWhenItsVersionIsEnough(@TempDir Path emptyRepo, @TempDir Path pathDir) throws Exception {
        Path dir = pathWith(pathDir, "forky");                        // 2.10.0, as `apt-get install pebble` on forky
        PebbleServer.Binaries b = PebbleServer.Binaries.locate(PebbleServer.Flavor.LATEST, null, emptyRepo,
                List.of(emptyRepo.resolve("not-there"), dir));
        assertEquals(dir.resolve("pebble").toAbsolutePath(), b.pebble());
        assertEquals("2.10.0", PebbleServer.Binaries.packagedVersion(b.pebble()));
        assertEquals(b, PebbleServer.Binaries.locate(PebbleServer.Flavor.DEBIAN_12, null, emptyRepo, List.of(dir)),
                "a newer Pebble serves an older flavor too");
    }

    @Test
    void anOlderPebbleOnThePathIsNamedWithTheFlavorThatFitsIt(@TempDir Path emptyRepo, @TempDir Path pathDir)
            throws Exception {
        Path dir = pathWith(pathDir, "bookworm");                     // 2.4.0, Debian 12's package
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> PebbleServer.Binaries.locate(PebbleServer.Flavor.LATEST, null, emptyRepo, List.of(dir)));
        String m = e.getMessage();
        assertTrue(m.contains(dir.resolve("pebble") + " is 2.4.0") && m.contains(".flavor(PebbleServer.Flavor.DEBIAN_12)")
                && m.contains("apt-get install pebble") && m.contains("PEBBLE_BIN"), m);
        assertEquals(dir.resolve("pebble").toAbsolutePath(),
                PebbleServer.Binaries.locate(PebbleServer.Flavor.DEBIAN_12, null, emptyRepo, List.of(dir)).pebble());
        assertTrue(PebbleServer.Binaries.compareVersions("2.10.0", "2.6.0") > 0);
    }

    @Test
    void binariesOfAllFlavorsArePresent() {
        // a missing download is a failure, never a skip
        for (PebbleServer.Flavor f : PebbleServer.Flavor.values()) {
            PebbleServer.Binaries b = PebbleServer.Binaries.locate(f, null, null);
            assertTrue(Files.isExecutable(b.challtestsrv()), b.toString());
        }
    }
}
