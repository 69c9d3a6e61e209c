package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dry run against real Pebbles: a live manager with a certificate from its CA runs a dry run
 * against a second Pebble standing in for Let's Encrypt staging, answered through the manager's own
 * HTTP-01 responder on the shared port. It succeeds without changing one byte of the real store,
 * without creating an account there and without touching the live certificate; a test CA whose
 * validation cannot reach the challenge reports the failure with the CA's detail.
 */
class DryRunPebbleTest {
    static final String APP = "dry.autocert4j.test";
    static final String WWW = "www.dry.autocert4j.test";

    static PebbleServer live;
    static PebbleServer staging;
    static PebbleServer unreachable;
    static FaultProxy.ChallengeListener challenges;

    @BeforeAll
    static void start() throws Exception {
        int port = FreePorts.loopback();
        live = PebbleServer.builder().httpPort(port).start();
        staging = PebbleServer.builder().httpPort(port).start();
        unreachable = PebbleServer.builder().httpPort(FreePorts.loopback()).start(); // validates a port nobody answers
        challenges = new FaultProxy.ChallengeListener(port);
    }

    @AfterAll
    static void stop() {
        challenges.close();
        live.close();
        staging.close();
        unreachable.close();
    }

    @Test
    void aDryRunProvesTheChallengePathAndChangesNothing(@TempDir Path store) throws Exception {
        try (AutoCert autoCert = AutoCert.builder().directory(live.directoryUri()).acmeServerTrust(live.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate(APP, WWW).storageDirectory(store).build()) {
            challenges.responder = autoCert.http01();
            autoCert.start();
            BigInteger liveSerial = autoCert.renewNow(APP).get(30, TimeUnit.SECONDS).serial();
            // the check after the renewal stores the ARI window with the certificate: let it run before the snapshot
            CrashChild.awaitCheck(autoCert, APP);
            Map<String, byte[]> before = snapshot(store);

            DryRunResult r = autoCert.dryRun(AcmeCa.of(staging.directoryUri()).withServerTrust(staging.acmeServerCaPem()))
                    .get(60, TimeUnit.SECONDS);

            assertTrue(r.succeeded(), () -> r + "\n" + staging.logTail(20));
            assertEquals(staging.directoryUri(), r.directory());
            assertEquals(1, r.outcomes().size());
            DryRunResult.Outcome o = r.outcomes().get(0);
            assertEquals(java.util.List.of(APP, WWW), o.names());
            assertNotNull(o.serial());
            assertNull(o.failure());
            assertTrue(staging.certificateStatus(o.serial()).isPresent(), "the test CA really issued it");

            // Nothing changed: same files, same bytes; no account for the test CA; the live certificate is the same.
            assertEquals(before.keySet(), snapshot(store).keySet());
            Map<String, byte[]> after = snapshot(store);
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " changed"));
            assertFalse(Files.exists(store.resolve("acme/" + StoreLayout.caId(staging.directoryUri()))), "no account stored for the test CA");
            assertEquals(liveSerial, autoCert.servedCertificate(APP).chain().get(0).getSerialNumber());
            assertEquals(liveSerial, autoCert.status(APP).orElseThrow().serial());
            assertEquals(0, autoCert.http01().pendingCount(), "challenges withdrawn");
        }
    }

    @Test
    void aFailingChallengeIsReportedWithTheCasDetail(@TempDir Path store) throws Exception {
        try (AutoCert autoCert = AutoCert.builder().directory(live.directoryUri()).acmeServerTrust(live.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate(APP).storageDirectory(store).build()) {
            challenges.responder = autoCert.http01();
            Map<String, byte[]> before = snapshot(store);
            DryRunResult r = autoCert.dryRun(AcmeCa.of(unreachable.directoryUri()).withServerTrust(unreachable.acmeServerCaPem()))
                    .get(60, TimeUnit.SECONDS);
            assertFalse(r.succeeded());
            IssuanceException e = r.outcomes().get(0).failure();
            assertNotNull(e);
            assertTrue(e.getMessage().contains("could not validate " + APP + " by http-01"), e.getMessage());
            assertTrue(e.problemType().orElse("").startsWith("urn:ietf:params:acme:error:"), e.toString());
            assertEquals(before.keySet(), snapshot(store).keySet(), "nothing written");
        }
    }

    static Map<String, byte[]> snapshot(Path root) throws IOException {
        Map<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.toList()) {
                if (Files.isRegularFile(p)) {
                    files.put(root.relativize(p).toString(), Files.readAllBytes(p));
                } else if (!p.equals(root)) {
                    files.put(root.relativize(p) + "/", new byte[0]);
                }
            }
        }
        return files;
    }
}
