package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.CaddyAcmeServer;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.TlsProbe;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA forgets the account: Caddy is restarted with its ACME database wiped (same CA, so the root stays trusted),
 * as after a CA-side data loss. Caddy then answers every request signed by the old account key as for an unknown
 * account. The next renewal must register the account key again, once, and succeed with a chain verified up to
 * Caddy's root; later orders use the new registration.
 */
@IntegrationTest
class AccountRecoveryCaddyTest {
    static final String NAME = "recovery.caddy.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    @Test
    void aCaThatForgotTheAccountGetsItRegisteredOnceAndTheRenewalSucceeds(@TempDir Path store) throws Exception {
        try (CaddyAcmeServer caddy = CaddyAcmeServer.builder().name(NAME).start()) {
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert autoCert = AutoCert.builder()
                    .directory(caddy.directoryUri())
                    .acmeServerTrust(caddy.rootCaPem())
                    .agreeToTermsOfService(true)
                    .certificate(NAME)
                    .storageDirectory(store)
                    .listener(events::add)
                    .build();
                    CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.JDK, true)) {
                autoCert.start();
                BigInteger first = SecondCaCaddyTest.awaitValidAt(caddy, autoCert, NAME).serial();
                assertEquals(1, caddy.requestCount("POST", "/new-account"), caddy.requests().toString());
                String accountBefore = accountUrl(store);

                caddy.restart(true); // the CA forgets every account
                int seen = caddy.requests().size();

                long t0 = System.nanoTime();
                CertificateStatus renewed;
                try {
                    renewed = autoCert.renewNow(NAME).get(60, TimeUnit.SECONDS);
                } catch (ExecutionException | TimeoutException e) {
                    throw new AssertionError("renewal after the CA forgot the account failed: " + e + "\nrequests to Caddy since its restart: "
                            + since(caddy, seen) + "\n" + caddy.logTail(20), e);
                }
                Duration took = Duration.ofNanos(System.nanoTime() - t0);
                List<CaddyAcmeServer.Request> after = since(caddy, seen);
                assertNotEquals(first, renewed.serial());
                // new-account serves both the lookup (onlyReturnExisting: 400 accountDoesNotExist here) and the registration (201)
                assertEquals(1, registrations(after), "exactly one re-registration: " + after);
                assertTrue(newAccountPosts(after) <= 2, "at most one account lookup besides it: " + after);
                assertNotEquals(accountBefore, accountUrl(store), "the new account location is stored");
                assertTrue(took.compareTo(Duration.ofSeconds(30)) < 0, "bounded: " + took + " " + after);
                TlsProbe.Result served = TlsProbe.handshake(host.httpsAddress(), NAME, caddy.rootCa(), T);
                assertEquals(renewed.serial(), served.serial(), "the renewed certificate is served, chain verified up to Caddy's root");

                // later orders use the recovered account: no further registration
                autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
                List<CaddyAcmeServer.Request> later = since(caddy, seen + after.size());
                assertEquals(0, newAccountPosts(later), "no new-account request at all: " + later);
            }
        }
    }

    static long newAccountPosts(List<CaddyAcmeServer.Request> requests) {
        return requests.stream().filter(r -> r.method().equals("POST") && r.path().endsWith("/new-account")).count();
    }

    static long registrations(List<CaddyAcmeServer.Request> requests) {
        return requests.stream().filter(r -> r.method().equals("POST") && r.path().endsWith("/new-account") && r.status() == 201)
                .count();
    }

    static List<CaddyAcmeServer.Request> since(CaddyAcmeServer caddy, int seen) {
        List<CaddyAcmeServer.Request> all = caddy.requests();
        return all.subList(Math.min(seen, all.size()), all.size());
    }

    /** The account location the library stored ({@code acme/<ca>/account/account.url}). */
    static String accountUrl(Path store) {
        try (Stream<Path> files = Files.walk(store)) {
            Path url = files.filter(p -> p.getFileName().toString().equals("account.url")).findFirst()
                    .orElseThrow(() -> new AssertionError("no account.url under " + store));
            return Files.readString(url, StandardCharsets.UTF_8).trim();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
