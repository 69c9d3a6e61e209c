package io.github.autocert4j.cli;

import static io.github.autocert4j.cli.CliTestSupport.cli;
import static io.github.autocert4j.cli.CliTestSupport.orders;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.StoreAdmin;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI on a file store next to a running server (real Pebble): {@code certificates} shows what the server's
 * {@code status()} shows, {@code renew --force} makes the running server renew (through the store request it
 * lists every 3 s), {@code renew} without {@code --force} leaves a fresh certificate alone, {@code --dry-run}
 * gets a test certificate from Pebble through the server's http-01 path and changes nothing, {@code export}
 * keeps the key back unless asked, {@code revoke} revokes at Pebble, and the exit codes.
 */
@WithPebble
class CliFileStoreTest {
    static final String A = "a.cli.autocert4j.test";
    static final String B = "b.cli.autocert4j.test";
    static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path work;

    @Test
    void listRenewDryRunExportRevokeAndExitCodes(PebbleServer pebble) throws Exception {
        Path store = work.resolve("store");
        Files.createDirectories(store);
        String s = store.toString();
        try (CliTestSupport.Http01Listener http = new CliTestSupport.Http01Listener(pebble.httpPort());
             AutoCert server = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate(A).certificate(B, "www." + B).storageDirectory(store).build()) {
            http.responder = server.http01();
            server.start();
            server.certificateReady(A).get(T.toSeconds(), TimeUnit.SECONDS);
            server.certificateReady(B).get(T.toSeconds(), TimeUnit.SECONDS);
            assertTrue(CliTestSupport.await(T, () -> server.status().stream().allMatch(x -> x.state() == CertificateStatus.State.VALID)),
                    server.status().toString());

            // certificates: what status() shows
            CliTestSupport.Result list = cli("--store", s, "certificates");
            assertEquals(0, list.code(), list.toString());
            CliTestSupport.Result json = cli("--store", s, "certificates", "--json");
            assertEquals(0, json.code(), json.toString());
            for (CertificateStatus st : server.status()) {
                assertTrue(list.out().contains("Certificate Name: " + st.certificate()), list.toString());
                assertTrue(list.out().contains("Serial Number: " + st.serialHex()), list.toString());
                assertTrue(list.out().contains("Expiry Date: " + st.notAfter()), list.toString());
                assertTrue(list.out().contains("Domains: " + String.join(" ", st.names())), list.toString());
                assertTrue(json.out().contains("\"id\":\"" + st.certificate() + "\""), json.toString());
                assertTrue(json.out().contains("\"serial\":\"" + st.serialHex() + "\""), json.toString());
                assertTrue(json.out().contains("\"notAfter\":\"" + st.notAfter() + "\""), json.toString());
            }
            assertEquals(2, StoreAdmin.of(FileCertStore.of(store)).certificates().size());
            assertFalse(list.out().contains("PRIVATE KEY") || json.out().contains("PRIVATE KEY"));

            // the ARI window a server stored with A's metadata (as on a CA with ARI) is listed with the fleet's pick
            String hexA = server.status(A).orElseThrow().serial().toString(16);
            Path metaA = store.resolve("certs").resolve(A).resolve(A + ".properties");
            Files.writeString(metaA, "ari.serial=" + hexA + "\nari.windowStart=2030-01-01T00:00:00Z\nari.windowEnd=2030-01-03T00:00:00Z\n"
                    + "ari.chosen=2030-01-02T06:00:00Z\nari.nextFetch=2029-12-31T00:00:00Z\n", java.nio.file.StandardOpenOption.APPEND);
            CliTestSupport.Result withAri = cli("--store", s, "certificates");
            assertTrue(withAri.out().contains("ARI Window: 2030-01-01T00:00:00Z .. 2030-01-03T00:00:00Z (renewal picked at 2030-01-02T06:00:00Z)"),
                    withAri.toString());
            CliTestSupport.Result jsonAri = cli("--store", s, "certificates", "--json");
            assertTrue(jsonAri.out().contains("\"ariChosen\":\"2030-01-02T06:00:00Z\""), jsonAri.toString());

            // renew without --force: nothing is due, nothing requested
            int before = orders(pebble);
            CliTestSupport.Result notDue = cli("--store", s, "renew");
            assertEquals(0, notDue.code(), notDue.toString());
            assertTrue(notDue.out().contains(A + ": not due yet"), notDue.toString());
            assertFalse(Files.exists(store.resolve("renewals")) && Files.list(store.resolve("renewals")).findAny().isPresent(), "no request written");

            // renew --force A: the running server renews A (only A), one order
            BigInteger oldA = server.status(A).orElseThrow().serial();
            BigInteger oldB = server.status(B).orElseThrow().serial();
            CliTestSupport.Result renew = cli("--store", s, "renew", A, "--force", "--wait", "60");
            assertEquals(0, renew.code(), renew.toString());
            assertTrue(renew.out().contains(A + ": renewed"), renew.toString());
            assertTrue(CliTestSupport.await(T, () -> !server.status(A).orElseThrow().serial().equals(oldA)), "the server serves the renewal");
            assertEquals(oldB, server.status(B).orElseThrow().serial(), "B untouched");
            Thread.sleep(4_000); // more than one request poll (3 s): the request is not acted on twice
            assertEquals(before + 1, orders(pebble), "exactly one order for the forced renewal");
            CliTestSupport.Result after = cli("--store", s, "certificates");
            assertTrue(after.out().contains("Serial Number: " + server.status(A).orElseThrow().serialHex()), after.toString());
            assertTrue(after.out().contains("(done)"), after.toString());

            // --dry-run against Pebble: the server answers the test order's http-01 from the store; the store keeps its certificates
            Map<String, String> snapshotBefore = CliTestSupport.snapshot(store.resolve("certs"));
            CliTestSupport.Result dry = cli("--store", s, "renew", "--dry-run", "--ca", pebble.directoryUri().toString(),
                    "--ca-trust", pebble.acmeServerCaPem().toString());
            assertEquals(0, dry.code(), dry + "\n" + pebble.logTail(20));
            assertTrue(dry.out().contains("all simulated renewals succeeded"), dry.toString());
            assertEquals(snapshotBefore, CliTestSupport.snapshot(store.resolve("certs")), "the dry run wrote no certificate");
            // a dry run that cannot succeed exits 1: a name Pebble's VA resolves to a port nobody answers on is not possible here,
            // so ask a CA directory that does not exist
            CliTestSupport.Result dryBad = cli("--store", s, "renew", A, "--dry-run", "--ca", "https://127.0.0.1:1/dir",
                    "--ca-trust", pebble.acmeServerCaPem().toString());
            assertEquals(1, dryBad.code(), dryBad.toString());
            assertTrue(dryBad.out().contains("dry run FAILED"), dryBad.toString());

            // export: chain only unless --include-key; the key only into a 0600 file or an explicit '--out -'
            CliTestSupport.Result pem = cli("--store", s, "export", A);
            assertEquals(0, pem.code(), pem.toString());
            assertTrue(pem.out().startsWith("-----BEGIN CERTIFICATE-----"), pem.toString());
            assertFalse(pem.out().contains("PRIVATE KEY"));
            assertEquals(2, cli("--store", s, "export", A, "--include-key").code(), "a key needs --out");
            Path keyOut = work.resolve("a.pem");
            assertEquals(0, cli("--store", s, "export", A, "--include-key", "--out", keyOut.toString()).code());
            assertTrue(Files.readString(keyOut).contains("-----BEGIN PRIVATE KEY-----"));
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(keyOut)));
            Path p12 = work.resolve("a.p12");
            CliTestSupport.Result pkcs12 = cli(CliTestSupport.env("AUTOCERT4J_EXPORT_PASSWORD", "changeit"), "--store", s, "export", A,
                    "--format", "pkcs12", "--include-key", "--out", p12.toString());
            assertEquals(0, pkcs12.code(), pkcs12.toString());
            java.security.KeyStore ks = java.security.KeyStore.getInstance("PKCS12");
            try (var in = Files.newInputStream(p12)) {
                ks.load(in, "changeit".toCharArray());
            }
            assertTrue(ks.isKeyEntry(A));
            assertEquals(server.status(A).orElseThrow().serial(), ((java.security.cert.X509Certificate) ks.getCertificate(A)).getSerialNumber());

            // revoke at Pebble with the store's account
            BigInteger revoked = server.status(B).orElseThrow().serial();
            CliTestSupport.Result rv = cli("--store", s, "revoke", B, "--reason", "superseded", "--ca", pebble.directoryUri().toString(),
                    "--ca-trust", pebble.acmeServerCaPem().toString());
            assertEquals(0, rv.code(), rv + "\n" + pebble.logTail(10));
            assertTrue(pebble.certificateStatus(revoked).orElse("").toLowerCase().contains("revoked"),
                    "Pebble says: " + pebble.certificateStatus(revoked));
            assertEquals(2, cli("--store", s, "revoke", B, "--reason", "bored", "--ca", pebble.directoryUri().toString()).code());
            assertEquals(2, cli("--store", s, "revoke", B, "--reason", "superseded", "--ca", "https://other.example/dir").code(),
                    "a CA other than the issuer is refused");

            // exit codes
            assertEquals(2, cli("certificates").code(), "no store");
            assertEquals(2, cli("--store", s, "certificates", "--no-such-option").code());
            assertEquals(3, cli("--store", s, "renew", "nope.example", "--force").code());
            assertEquals(3, cli("--store", s, "export", "nope.example").code());
            assertEquals(4, cli("--store", work.resolve("missing").toString(), "certificates").code());
            assertEquals(0, cli(CliTestSupport.env("AUTOCERT4J_STORE", s), "certificates").code(), "store from the environment");
            CliTestSupport.Result help = cli("--help");
            assertEquals(0, help.code());
            assertTrue(help.out().matches("(?s).*5 +import refused.*"), help.toString());
        }
    }
}
