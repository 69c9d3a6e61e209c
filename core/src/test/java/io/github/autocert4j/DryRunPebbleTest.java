package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

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
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Dry run against real Pebbles: a live manager with a certificate from its CA runs a dry run
 * against a second Pebble standing in for Let's Encrypt staging, answered through the manager's own
 * HTTP-01 responder on the shared port. It succeeds without changing one byte of the real store's
 * files and without touching the live certificate; the only thing it adds to the store is its
 * account at the test CA, which a second dry run reuses (one account at that CA, counted in its
 * log); a test CA whose validation cannot reach the challenge reports the failure with the CA's
 * detail.
 */
@IntegrationTest
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

            // Nothing changed: same files, same bytes; only the test CA's account was added; the live certificate is the same.
            String testCaAccount = "acme/" + StoreLayout.caId(staging.directoryUri()) + "/";
            Map<String, byte[]> after = snapshot(store);
            assertEquals(withoutPrefix(before, testCaAccount).keySet(), withoutPrefix(after, testCaAccount).keySet());
            before.forEach((k, v) -> assertArrayEquals(v, after.get(k), k + " changed"));
            assertTrue(after.containsKey(testCaAccount + "account/account.key.pem")
                    && after.containsKey(testCaAccount + "account/account.url"), "the test CA's account is kept: " + after.keySet());
            assertEquals(1, accountsCreated(staging), staging.logTail(20));

            // A second dry run reuses that account: still one account at the test CA, the store as after the first.
            DryRunResult again = autoCert.dryRun(AcmeCa.of(staging.directoryUri()).withServerTrust(staging.acmeServerCaPem()))
                    .get(60, TimeUnit.SECONDS);
            assertTrue(again.succeeded(), () -> again + "\n" + staging.logTail(20));
            assertEquals(1, accountsCreated(staging), "one account across two dry runs:\n" + staging.logTail(40));
            Map<String, byte[]> afterSecond = snapshot(store);
            assertEquals(after.keySet(), afterSecond.keySet());
            after.forEach((k, v) -> assertArrayEquals(v, afterSecond.get(k), k + " changed by the second dry run"));
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
            assertEquals(before.keySet(), withoutPrefix(snapshot(store), "acme/" + StoreLayout.caId(unreachable.directoryUri()) + "/")
                    .keySet(), "nothing written but the test CA's account");
        }
    }

    /** How many accounts the Pebble created: it logs "There are now N accounts in memory" for each new one. */
    static long accountsCreated(PebbleServer pebble) throws IOException {
        try (Stream<String> lines = Files.lines(pebble.logFile())) {
            return lines.filter(l -> l.contains("There are now") && l.contains("accounts")).count();
        }
    }

    /**
     * {@code files} without the test CA's account ({@code prefix} = {@code acme/<id>/}), its lock file, and the
     * bare {@code acme/} and {@code locks/} directories (which an empty store gets with its first account).
     */
    static Map<String, byte[]> withoutPrefix(Map<String, byte[]> files, String prefix) {
        String lock = "locks/acme-" + prefix.substring("acme/".length(), prefix.length() - 1) + "-account.lock";
        Map<String, byte[]> kept = new TreeMap<>(files);
        kept.keySet().removeIf(k -> k.startsWith(prefix) || k.equals(lock) || k.equals("acme/") || k.equals("locks/"));
        return kept;
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
