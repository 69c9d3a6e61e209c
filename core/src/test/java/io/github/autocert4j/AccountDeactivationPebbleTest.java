package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Account deactivation (RFC 8555 §7.3.6) from a running manager against Pebble (issue 20): afterwards this
 * manager, a new one on the same store, and one that lost the store's record (a crash after the CA's answer)
 * refuse to order with a permanent failure naming the fix; {@code registerNew()} registers a new account, with
 * which ordering works again. Nothing registers a new account unasked.
 */
@WithPebble
class AccountDeactivationPebbleTest {
    static final String APP = "deactivate.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCert started(List<CertEvent> events) {
        AutoCert a = CA.build(CA.builder().certificate(APP).storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withOrderTimeout(Duration.ofSeconds(20))));
        a.start();
        return a;
    }

    static IssuanceException refused(AutoCert a) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IssuanceException, e.toString());
        return (IssuanceException) e.getCause();
    }

    static void namesTheFix(IssuanceException e) {
        assertTrue(e.permanent(), e.getMessage());
        assertTrue(e.getMessage().contains("was deactivated") && e.getMessage().contains("Fix: call autoCert.accounts().registerNew()"),
                e.getMessage());
    }

    String location() throws Exception {
        return Files.readString(store.resolve(new StoreLayout(CA.proxy().directoryUri()).accountLocation()), StandardCharsets.UTF_8).trim();
    }

    @Test
    void afterDeactivationOrdersAreRefusedUntilANewAccountIsAskedFor() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        String old;
        try (AutoCert a = started(events)) {
            CompletableFuture<CertificateStatus> live = a.managed(APP).whenLive();
            live.get(T.toSeconds(), TimeUnit.SECONDS);
            old = location();
            CA.proxy().reset();

            a.accounts().deactivate();

            CertEvent.AccountChanged changed = FaultMatrixTestAccess.await(events, CertEvent.AccountChanged.class, T);
            assertEquals(CertEvent.AccountChange.DEACTIVATED, changed.change());
            assertEquals(old, changed.account().toString());
            assertNotNull(a.accounts().status().get(0).deactivatedAt());
            namesTheFix(refused(a));
            assertEquals(0, CA.proxy().count("POST", "newOrder"), "refused before asking the CA");
            assertEquals(0, CA.proxy().count("POST", "newAccount"), "no account registered unasked");
            assertEquals(CertificateStatus.State.FAILED, a.status(APP).orElseThrow().state());
        }
        // A new manager on the same store refuses as well.
        try (AutoCert b = started(new CopyOnWriteArrayList<>())) {
            namesTheFix(refused(b));
            assertEquals(0, CA.proxy().count("POST", "newAccount"));
        }
        // The store lost the record (a crash right after the CA's answer): the CA's refusal is recognised and recorded.
        Path marker = store.resolve(new StoreLayout(CA.proxy().directoryUri()).accountDeactivated());
        Files.delete(marker);
        CA.proxy().reset();
        try (AutoCert c = started(new CopyOnWriteArrayList<>())) {
            namesTheFix(refused(c));
            assertEquals(1, CA.proxy().count("POST", "newOrder"), "the CA refused the order");
            assertTrue(Files.exists(marker), "and the store records it again");
            assertEquals(0, CA.proxy().count("POST", "newAccount"));

            // Asked for: a new account, and ordering works again.
            List<CertEvent> events2 = new CopyOnWriteArrayList<>();
            c.accounts().registerNew();
            assertNotEquals(old, location());
            assertEquals(CertificateStatus.State.VALID, c.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS).state());
            assertTrue(c.accounts().status().get(0).deactivatedAt() == null);
            IllegalStateException active = assertThrows(IllegalStateException.class, () -> c.accounts().registerNew());
            assertTrue(active.getMessage().contains("not deactivated") && active.getMessage().contains("Fix:"), active.getMessage());
            assertTrue(events2.isEmpty());
        }
    }
}
