package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import io.quarkus.test.junit.main.LaunchResult;
import io.quarkus.test.junit.main.QuarkusMainLauncher;
import io.quarkus.test.junit.main.QuarkusMainTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restart without a new order, both runs through the extension: the application ({@link RestartMain}) is launched
 * on a fresh store and obtains the certificate from Pebble through its own challenge route; launched again on the
 * same configuration and store, it serves that stored certificate from its start and Pebble issues nothing more.
 * The configuration is given as system properties for the two launches and restored afterwards (a
 * {@code @QuarkusMainTest} starts its test resources anew for each launch, which would mean a new Pebble).
 */
@QuarkusMainTest
@WithPebble
class QuarkusRestartTest {

    @Test
    void aSecondStartServesTheStoredCertificateWithoutANewOrder(QuarkusMainLauncher launcher, PebbleServer pebble,
            @TempDir Path store, @TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("pebble-root.pem");
        Files.writeString(root, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(pebble.issuanceRoot().getEncoded()) + "\n-----END CERTIFICATE-----\n", StandardCharsets.US_ASCII);
        Map<String, String> config = new LinkedHashMap<>();
        config.put("quarkus.autocert4j.directory", pebble.directoryUri().toString());
        config.put("quarkus.autocert4j.trust", pebble.acmeServerCaPem().toString());
        config.put("quarkus.autocert4j.agree-to-terms-of-service", "true");
        config.put("quarkus.autocert4j.names", PebbleResource.NAME);
        config.put("quarkus.autocert4j.store.directory", store.toString());
        config.put("quarkus.autocert4j.profile", "default");
        config.put("quarkus.autocert4j.on-demand.enabled", "false");
        config.put("quarkus.http.host", "127.0.0.1");
        config.put("quarkus.http.test-port", String.valueOf(pebble.httpPort())); // where Pebble validates
        config.put("quarkus.http.test-ssl-port", String.valueOf(FreePorts.loopback(1)[0]));
        config.put("quarkus.http.insecure-requests", "redirect");
        Map<String, String> before = new LinkedHashMap<>();
        config.keySet().forEach(k -> before.put(k, System.getProperty(k)));
        try {
            config.forEach(System::setProperty);
            String[] first = launch(launcher, tmp.resolve("first.txt"), root);
            assertEquals("none", first[2], "the first start had nothing stored");
            assertEquals(first[0], first[1], "the first run serves the certificate it obtained");
            assertEquals(1, Awaits.issuedByPebble(pebble), "one order on the first run\n" + pebble.logTail(20));

            String[] second = launch(launcher, tmp.resolve("second.txt"), root);
            assertEquals(first[0], second[2], "the stored certificate is live from the restart's start");
            assertEquals(first[0], second[1], "and served");
            assertEquals(first[0], second[0]);
            assertEquals(1, Awaits.issuedByPebble(pebble), "Pebble issued only the first run's certificate\n" + pebble.logTail(20));
        } finally {
            before.forEach((k, v) -> {
                if (v == null) {
                    System.clearProperty(k);
                } else {
                    System.setProperty(k, v);
                }
            });
        }
    }

    /** Runs the application once; its result line split: status serial, served serial, serial at start. */
    private static String[] launch(QuarkusMainLauncher launcher, Path result, Path root) throws Exception {
        LaunchResult run = launcher.launch(result.toString(), root.toString());
        assertEquals(0, run.exitCode(), "the application's run: " + run.getErrorOutput() + "\n" + run.getOutput());
        String[] line = Files.readString(result, StandardCharsets.US_ASCII).split(" ");
        assertNotEquals("none", line[0]);
        return line;
    }
}
