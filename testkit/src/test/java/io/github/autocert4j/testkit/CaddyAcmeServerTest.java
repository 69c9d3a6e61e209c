package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The second ACME server of the test kit: a real Caddy on loopback, its directory over HTTPS under its own root, its
 * own validation address, restarts with and without its ACME database, and clean-up. (Issuance against it is tested
 * end to end by the netty adapter's {@code SecondCaCaddyTest}.)
 */
@Timeout(60)
@IntegrationTest
class CaddyAcmeServerTest {

    @Test
    void servesItsDirectoryUnderItsOwnRootRestartsAndCleansUp() throws Exception {
        Path dir;
        URI directory;
        try (CaddyAcmeServer caddy = CaddyAcmeServer.builder().name("App.Caddy.test").start()) {
            directory = caddy.directoryUri();
            assertEquals("127.0.0.1", directory.getHost());
            assertTrue(directory.getPath().endsWith("/acme/local/directory"), directory.toString());
            X509Certificate root = caddy.rootCa();
            assertEquals(root.getSubjectX500Principal(), root.getIssuerX500Principal(), "self-signed");
            assertTrue(root.getBasicConstraints() >= 0, "a CA certificate");
            assertEquals(root, TestCerts.parseCertificates(Files.readAllBytes(caddy.rootCaPem())).get(0));

            InetAddress at = caddy.validationAddress();
            assertTrue(at.isLoopbackAddress(), at.toString());
            assertTrue((at.getAddress()[1] & 0xff) >= 100, "not in 127.0.0.0/16, where system services live: " + at);
            assertEquals(java.util.List.of("app.caddy.test"), caddy.names());

            HttpClient http = HttpClient.newBuilder().sslContext(caddy.rootSslContext()).proxy(HttpClient.Builder.NO_PROXY)
                    .connectTimeout(Duration.ofSeconds(2)).build();
            long gets = caddy.requestCount("GET", "/directory");
            assertTrue(get(http, directory).contains("newAccount"), "verified against the root alone");
            awaitCount(caddy, gets + 1);

            dir = caddy.rootCaPem().getParent().getParent().getParent().getParent().getParent(); // <dir>/data/pki/authorities/local/root.crt
            Path acmeDb = dir.resolve("xdg-data/caddy/acme_server");
            assertTrue(Files.isDirectory(acmeDb), "Caddy keeps its ACME database in its own XDG_DATA_HOME: " + acmeDb);
            caddy.restart(false);
            assertEquals(directory, caddy.directoryUri(), "same port");
            assertEquals(root, caddy.rootCa(), "same CA");
            assertTrue(get(http, directory).contains("newAccount"));

            Path marker = Files.writeString(acmeDb.resolve("marker-left-by-the-test"), "x");
            caddy.restart(false);
            assertTrue(Files.exists(marker), "restart(false) keeps the ACME database");
            caddy.restart(true);
            assertFalse(Files.exists(marker), "restart(true) wipes it");
            assertEquals(root, caddy.rootCa(), "a wiped ACME database keeps the CA");
            assertTrue(get(http, directory).contains("newAccount"));
            assertTrue(caddy.isRunning());
            assertTrue(Files.isDirectory(acmeDb), "a new, empty database: " + acmeDb);
            assertFalse(caddy.toString().isEmpty());
        }
        assertFalse(Files.exists(dir), "scratch directory deleted on close: " + dir);
        try (Socket s = new Socket()) {
            assertThrows(IOException.class, () -> s.connect(new InetSocketAddress("127.0.0.1", directory.getPort()), 500),
                    "stopped");
        }
    }

    @Test
    void twoServersHaveTheirOwnPortsRootsAndValidationAddresses() {
        try (CaddyAcmeServer a = CaddyAcmeServer.builder().start(); CaddyAcmeServer b = CaddyAcmeServer.builder().start()) {
            assertNotEquals(a.directoryUri(), b.directoryUri());
            assertNotEquals(a.validationAddress(), b.validationAddress());
            assertNotEquals(a.rootCa(), b.rootCa());
        }
    }

    @Test
    void aMissingCaddyIsAnErrorThatSaysHowToInstallIt() {
        String before = System.getProperty("caddy.bin");
        System.setProperty("caddy.bin", "/nonexistent/caddy");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> CaddyAcmeServer.builder().start());
            assertTrue(e.getMessage().contains("/nonexistent/caddy") && e.getMessage().contains("scripts/get-caddy.sh"),
                    e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("caddy.bin");
            } else {
                System.setProperty("caddy.bin", before);
            }
        }
    }

    @Test
    void namesMustBePlainDnsNames() {
        for (String bad : new String[] {"*.caddy.test", "127.0.0.1 evil", "a..b", "-a.test"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CaddyAcmeServer.builder().name(bad));
            assertTrue(e.getMessage().contains(bad), e.getMessage());
        }
    }

    private static String get(HttpClient http, URI uri) throws Exception {
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return r.body();
    }

    /** Caddy writes the access log entry right after the response: wait for it, bounded. */
    private static void awaitCount(CaddyAcmeServer caddy, long atLeast) throws InterruptedException {
        for (int i = 0; i < 100 && caddy.requestCount("GET", "/directory") < atLeast; i++) {
            Thread.sleep(20);
        }
        assertTrue(caddy.requestCount("GET", "/directory") >= atLeast, caddy.requests().toString());
    }
}
