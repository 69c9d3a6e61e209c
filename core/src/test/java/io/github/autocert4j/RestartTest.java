package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.LiveKeyManager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.Await;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Restarts on a store holding a valid certificate: the certificate is served at once from the
 * store, and neither an order nor an account is created at the CA (counted at the proxy in
 * front of Pebble), however often the process restarts.
 */
@WithPebble
class RestartTest {
    static final String NAME = "restart.autocert4j.test";
    static final int RESTARTS = 100;

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    static Path work;

    static AutoCert build(Path store, List<CertEvent> events) {
        return CA.build(CA.builder().certificate(NAME).storageDirectory(store).listener(events::add));
    }

    static BigInteger issueFirst(Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert first = build(store, events)) {
            first.start();
            Await.first(events, e -> e instanceof CertEvent.Issued, 30);
            return first.status(NAME).orElseThrow().serial();
        }
    }

    @Test
    void manyRestartsWithAValidStoredCertificatePlaceNoOrderAndCreateNoAccount() throws Exception {
        Path store = work.resolve("many");
        BigInteger serial = issueFirst(store);
        StoreLayout layout = new StoreLayout(CA.proxy().directoryUri());
        byte[] accountKey = Files.readAllBytes(store.resolve(layout.accountKey()));
        byte[] accountUrl = Files.readAllBytes(store.resolve(layout.accountLocation()));
        byte[] bundle = Files.readAllBytes(store.resolve(layout.certBundle(NAME)));
        CA.proxy().reset();
        for (int i = 0; i < RESTARTS; i++) {
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            try (AutoCert a = build(store, events)) {
                Instant started = Instant.now();
                a.start();
                CertificateStatus s = a.status(NAME).orElseThrow();
                assertEquals(CertificateStatus.State.VALID, s.state(), "restart " + i + " serves the stored certificate at once");
                assertEquals(serial, s.serial());
                assertEquals(serial, ((LiveKeyManager) a.keyManager()).currentChain(NAME)[0].getSerialNumber());
                CrashSafetyTest.awaitFirstCheck(a, started);
                assertNull(a.status(NAME).orElseThrow().lastAttempt(), "restart " + i + " placed no order");
                assertTrue(events.size() == 1 && events.get(0) instanceof CertEvent.Loaded l && l.serial().equals(serial), events.toString());
            }
        }
        assertEquals(0, CA.proxy().count("POST", "newOrder"), "no order in " + RESTARTS + " restarts");
        assertEquals(0, CA.proxy().count("POST", "newAccount"), "no account in " + RESTARTS + " restarts");
        // The ARI window is stored with the certificate (fresh for the 12 h check interval): at most the first
        // restart asks the CA (if the first server closed before its check), the others use the stored one.
        assertTrue(CA.proxy().count("GET", "renewalInfo") <= 1, "ARI asked once, not at every restart: " + CA.proxy().count("GET", "renewalInfo"));
        assertArrayEquals(accountKey, Files.readAllBytes(store.resolve(layout.accountKey())));
        assertArrayEquals(accountUrl, Files.readAllBytes(store.resolve(layout.accountLocation())));
        assertArrayEquals(bundle, Files.readAllBytes(store.resolve(layout.certBundle(NAME))));
    }

    @Test
    void anAccountWhoseKeyIsStoredIsLookedUpNotCreatedAgain() throws Exception {
        Path store = work.resolve("lost-url");
        BigInteger serial = issueFirst(store);
        StoreLayout layout = new StoreLayout(CA.proxy().directoryUri());
        byte[] accountUrl = Files.readAllBytes(store.resolve(layout.accountLocation()));
        // A crash after the CA created the account but before its URL was saved.
        Files.delete(store.resolve(layout.accountLocation()));
        CA.proxy().reset();
        try (AutoCert a = build(store, new CopyOnWriteArrayList<>())) {
            a.start();
            CertificateStatus renewed = a.renewNow(NAME).get(30, TimeUnit.SECONDS);
            assertNotEquals(serial, renewed.serial());
        }
        List<FaultProxy.Seen> lookups = CA.proxy().requests("POST", "newAccount");
        assertEquals(1, lookups.size(), lookups.toString());
        assertEquals(200, lookups.get(0).status(), "Pebble found the existing account (201 would be a new one)");
        assertArrayEquals(accountUrl, Files.readAllBytes(store.resolve(layout.accountLocation())), "same account as before");
    }
}
