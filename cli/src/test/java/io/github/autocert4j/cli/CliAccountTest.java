package io.github.autocert4j.cli;

import static io.github.autocert4j.cli.CliTestSupport.cli;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's {@code account} command and {@code revoke --with-certificate-key} on a file store next to a running
 * server (real Pebble): a key rolled over from the CLI is adopted by the server at its next order; a certificate
 * revoked with its own key is revoked at Pebble; after {@code account deactivate} the server refuses to order until
 * {@code account new}.
 */
@WithPebble
class CliAccountTest {
    static final String A = "account.cli.autocert4j.test";
    static final Duration T = Duration.ofSeconds(60);

    @TempDir
    Path work;

    static String line(CliTestSupport.Result r, String label) {
        return r.out().lines().filter(l -> l.trim().startsWith(label)).findFirst().orElse("");
    }

    @Test
    void rolloverRevokeWithCertificateKeyDeactivateAndNew(PebbleServer pebble) throws Exception {
        Path store = work.resolve("store");
        Files.createDirectories(store);
        String s = store.toString();
        String[] ca = {"--ca", pebble.directoryUri().toString(), "--ca-trust", pebble.acmeServerCaPem().toString()};
        try (CliTestSupport.Http01Listener http = new CliTestSupport.Http01Listener(pebble.httpPort());
             AutoCert server = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate(A).storageDirectory(store).build()) {
            http.responder = server.http01();
            server.start();
            server.certificateReady(A).get(T.toSeconds(), TimeUnit.SECONDS);
            assertTrue(CliTestSupport.await(T, () -> server.status(A).orElseThrow().state() == CertificateStatus.State.VALID));

            CliTestSupport.Result before = cli(concat(new String[] {"--store", s, "account", "status"}, ca));
            assertEquals(0, before.code(), before.toString());
            assertTrue(line(before, "Account:").contains("/my-account/"), before.toString());

            CliTestSupport.Result rolled = cli(concat(new String[] {"--store", s, "account", "rollover"}, ca));
            assertEquals(0, rolled.code(), rolled + "\n" + pebble.logTail(10));
            assertNotEquals(line(before, "Key thumbprint:"), line(rolled, "Key thumbprint:"), rolled.toString());
            assertEquals(line(before, "Account:"), line(rolled, "Account:"), "the same account");
            assertEquals(CertificateStatus.State.VALID, server.renewNow(A).get(T.toSeconds(), TimeUnit.SECONDS).state(),
                    "the running server adopts the rolled key");

            BigInteger serial = server.status(A).orElseThrow().serial();
            CliTestSupport.Result rv = cli(concat(new String[] {"--store", s, "revoke", A, "--reason", "keyCompromise",
                "--with-certificate-key"}, ca));
            assertEquals(0, rv.code(), rv.toString());
            assertEquals("revoked", pebble.certificateStatus(serial).orElse("").toLowerCase(java.util.Locale.ROOT));

            CliTestSupport.Result off = cli(concat(new String[] {"--store", s, "account", "deactivate"}, ca));
            assertEquals(0, off.code(), off.toString());
            assertTrue(!line(off, "Deactivated:").endsWith("no"), off.toString());
            ExecutionException refused = assertThrows(ExecutionException.class, () -> server.renewNow(A).get(T.toSeconds(), TimeUnit.SECONDS));
            assertTrue(refused.getCause() instanceof IssuanceException i && i.permanent() && i.getMessage().contains("was deactivated"),
                    refused.getCause().toString());
            assertEquals(2, cli(concat(new String[] {"--store", s, "account", "frobnicate"}, ca)).code());

            CliTestSupport.Result fresh = cli(concat(new String[] {"--store", s, "account", "new"}, ca));
            assertEquals(0, fresh.code(), fresh.toString());
            assertNotEquals(line(before, "Account:"), line(fresh, "Account:"), fresh.toString());
            assertTrue(line(fresh, "Deactivated:").endsWith("no"), fresh.toString());
            assertEquals(2, cli(concat(new String[] {"--store", s, "account", "new"}, ca)).code(), "not while the account is active");
            assertEquals(CertificateStatus.State.VALID, server.renewNow(A).get(T.toSeconds(), TimeUnit.SECONDS).state(),
                    "ordering works again with the new account");
        }
    }

    static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
