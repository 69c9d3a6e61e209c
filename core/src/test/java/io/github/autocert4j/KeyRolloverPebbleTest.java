package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * Account key rollover (RFC 8555 §7.3.5) from a running manager against Pebble (issue 20): afterwards orders
 * succeed with the new key and the CA no longer knows the old one; a crash between the CA's answer and the
 * promotion of the new key in the store (an injected store fault), or before the CA was asked (a pending key the
 * CA never saw, a child JVM SIGKILLed at the promotion), leaves an account with which a new manager on the same store
 * orders at once; a server sharing
 * the store that still holds the old key adopts the new one at its next order.
 */
@WithPebble
class KeyRolloverPebbleTest {
    static final String APP = "rollover.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCertBuilder builder(List<CertEvent> events) {
        return CA.builder().certificate(APP).storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withOrderTimeout(Duration.ofSeconds(20)));
    }

    static AutoCert issued(AutoCertBuilder b) throws Exception {
        AutoCert a = CA.build(b);
        CompletableFuture<CertificateStatus> live = a.managed(APP).whenLive();
        a.start();
        live.get(T.toSeconds(), TimeUnit.SECONDS);
        return a;
    }

    StoreLayout layout() {
        return new StoreLayout(CA.proxy().directoryUri());
    }

    byte[] file(String key) throws IOException {
        return Files.readAllBytes(store.resolve(key));
    }

    Optional<URL> caKnows(byte[] keyPem) throws Exception {
        return AcmeLookup.account(CA.proxy().directoryUri(), CA.proxy().caPem(), Pem.decodeKeyPair(keyPem));
    }

    String location() throws IOException {
        return new String(file(layout().accountLocation()), java.nio.charset.StandardCharsets.UTF_8).trim();
    }

    @Test
    void afterARolloverOrdersUseTheNewKeyAndTheCaRefusesTheOldOne() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(builder(events))) {
            byte[] oldKey = file(layout().accountKey());
            String location = location();
            assertEquals(location, caKnows(oldKey).orElseThrow().toExternalForm());
            CA.proxy().reset();

            a.accounts().rolloverKey();

            assertEquals(1, CA.proxy().count("POST", "keyChange"));
            byte[] newKey = file(layout().accountKey());
            assertFalse(java.util.Arrays.equals(oldKey, newKey), "a new key is stored");
            assertFalse(Files.exists(store.resolve(layout().accountKeyPending())), "no pending key is left");
            assertEquals(location, location(), "the same account");
            assertEquals(location, caKnows(newKey).orElseThrow().toExternalForm(), "the CA knows the account by its new key");
            assertEquals(Optional.empty(), caKnows(oldKey), "and no longer by the old key");
            CertEvent.AccountChanged changed = FaultMatrixTestAccess.await(events, CertEvent.AccountChanged.class, T);
            assertEquals(CertEvent.AccountChange.KEY_ROLLED_OVER, changed.change());
            assertEquals(location, changed.account().toString());
            AcmeAccounts.Status status = a.accounts().status().get(0);
            assertEquals(OwnAccounts.thumbprint(Pem.decodeKeyPair(newKey).getPublic()), status.keyThumbprint());
            assertFalse(status.rolloverPending());
            assertEquals(location, status.location().toString());

            CA.proxy().reset();
            CertificateStatus renewed = a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
            assertEquals(CertificateStatus.State.VALID, renewed.state());
            assertEquals(0, CA.proxy().count("POST", "newAccount"), "no registration, no lookup");
            assertTrue(CA.proxy().orders().stream().allMatch(o -> o.status() == 201), CA.proxy().seen::toString);
        }
    }

    @Test
    void aCrashBetweenTheCaAndThePromotionLeavesAnAccountANewManagerOrdersWith() throws Exception {
        AtomicBoolean failPromote = new AtomicBoolean();
        String accountKey = layout().accountKey();
        CertStore faulty = new DelegatingStore(FileCertStore.of(store)) {
            @Override
            public void store(String key, byte[] value) throws IOException {
                if (failPromote.get() && key.equals(accountKey)) {
                    throw new IOException("injected fault: the process died before writing " + key);
                }
                super.store(key, value);
            }
        };
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        byte[] oldKey;
        byte[] pending;
        String location;
        try (AutoCert a = issued(builder(events).store(faulty))) {
            oldKey = file(accountKey);
            location = location();
            failPromote.set(true);
            IssuanceException e = assertThrows(IssuanceException.class, () -> a.accounts().rolloverKey());
            assertTrue(e.getMessage().contains("took the new ACME account key") && e.getMessage().contains(layout().accountKeyPending())
                    && e.getMessage().contains("Fix:"), e.getMessage());
            pending = file(layout().accountKeyPending());
            assertArrayEquals(oldKey, file(accountKey), "the old key is still stored");
            assertEquals(location, caKnows(pending).orElseThrow().toExternalForm(), "the CA took the pending key");
            assertEquals(Optional.empty(), caKnows(oldKey), "the stored key no longer works at the CA");
        }

        // A new manager on the same store (the crashed one is gone): it settles the rollover and orders.
        CA.proxy().reset();
        List<CertEvent> events2 = new CopyOnWriteArrayList<>();
        String log;
        try (AutoCert b = CA.build(builder(events2))) {
            b.start();
            CertificateStatus[] renewed = new CertificateStatus[1];
            log = FailureMessagesTest.capturingLog(() -> renewed[0] = b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            assertEquals(CertificateStatus.State.VALID, renewed[0].state());
        }
        assertArrayEquals(pending, file(accountKey), "the pending key was promoted");
        assertFalse(Files.exists(store.resolve(layout().accountKeyPending())));
        assertEquals(location, location());
        List<FaultProxy.Seen> accounts = CA.proxy().requests("POST", "newAccount");
        assertEquals(1, accounts.size(), "one key lookup, no registration: " + accounts);
        assertTrue(accounts.get(0).payload().contains("\"onlyReturnExisting\":true"), accounts.toString());
        assertTrue(CA.proxy().orders().stream().allMatch(o -> o.status() == 201), CA.proxy().seen::toString);
        assertTrue(log.contains("completed an interrupted ACME account key rollover"), log);
        assertTrue(events2.stream().noneMatch(e -> e instanceof CertEvent.Failed), events2.toString());
    }

    @Test
    void aCrashBeforeTheCaWasAskedDiscardsThePendingKey() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(builder(events))) {
            assertTrue(a.status(APP).isPresent());
        }
        byte[] oldKey = file(layout().accountKey());
        Files.write(store.resolve(layout().accountKeyPending()), Pem.encodeKeyPair(KeyType.EC_P256.generate()));
        CA.proxy().reset();
        String log;
        try (AutoCert b = CA.build(builder(new CopyOnWriteArrayList<>()))) {
            b.start();
            assertTrue(b.accounts().status().get(0).rolloverPending());
            log = FailureMessagesTest.capturingLog(() -> b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            assertFalse(b.accounts().status().get(0).rolloverPending());
        }
        assertArrayEquals(oldKey, file(layout().accountKey()), "the key the CA knows stays");
        assertFalse(Files.exists(store.resolve(layout().accountKeyPending())), "the unknown pending key is discarded");
        assertTrue(log.contains("discarded the new ACME account key of an interrupted key rollover"), log);
        assertEquals(1, CA.proxy().count("POST", "newAccount"), "one key lookup");
        assertTrue(CA.proxy().orders().stream().allMatch(o -> o.status() == 201), CA.proxy().seen::toString);
    }

    @Test
    void aServerSharingTheStoreAdoptsTheRolledKeyAtItsNextOrder() throws Exception {
        try (AutoCert a = issued(builder(new CopyOnWriteArrayList<>()));
             AutoCert b = builder(new CopyOnWriteArrayList<>()).build()) {
            b.start();
            CA.answering(b);
            b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS); // b logs in with the old key and keeps it
            CA.answering(a);
            a.accounts().rolloverKey();
            byte[] newKey = file(layout().accountKey());

            CA.proxy().reset();
            CA.answering(b);
            CertificateStatus[] renewed = new CertificateStatus[1];
            String log = FailureMessagesTest.capturingLog(() -> renewed[0] = b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));

            assertEquals(CertificateStatus.State.VALID, renewed[0].state());
            assertTrue(log.contains("changed in the store (a key rollover)"), log);
            List<FaultProxy.Seen> orders = CA.proxy().orders();
            assertEquals(2, orders.size(), "the old key's order refused, then one with the new key: " + CA.proxy().seen);
            assertTrue(orders.get(0).status() >= 400 && orders.get(1).status() == 201, orders.toString());
            assertEquals(0, CA.proxy().requests("POST", "newAccount").stream().filter(r -> !r.payload().contains("onlyReturnExisting")).count(),
                    "never registered again (the old key must not become an account of its own)");
            assertArrayEquals(newKey, file(layout().accountKey()));
        }
    }
    @Test
    void aServerSharingTheStoreServesTheRollingServersChallengeAnswersAtOnce() throws Exception {
        try (AutoCert a = issued(builder(new CopyOnWriteArrayList<>()));
             AutoCert b = builder(new CopyOnWriteArrayList<>()).build()) {
            b.start();
            CA.answering(b);
            b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS); // b knows the old account key
            a.accounts().rolloverKey();
            assertTrue(Files.exists(store.resolve(layout().accountKeyRolledOver())), "the hand-over signed with the old key is stored");

            // a orders; the CA's validation reaches b, which serves a's answer (published through the store) for the new key.
            CA.proxy().reset();
            CA.answering(b);
            CertificateStatus renewed = a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
            assertEquals(CertificateStatus.State.VALID, renewed.state(), "validated through b (a's answers are in a's memory only)");
            assertTrue(CA.proxy().requests("POST", "newOrder").stream().noneMatch(o -> o.status() == 401 || o.status() == 403),
                    CA.proxy().seen::toString);
        }
    }
    @Test
    void aChildJvmKilledBetweenTheCaAndThePromotionLeavesAnAccountANewManagerOrdersWith() throws Exception {
        try (AutoCert a = issued(builder(new CopyOnWriteArrayList<>()))) {
            assertTrue(a.status(APP).isPresent());
        }
        byte[] oldKey = file(layout().accountKey());
        String location = location();
        String javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process child = new ProcessBuilder(javaBin, "-cp", System.getProperty("java.class.path"), KeyRolloverCrashChild.class.getName(),
                CA.proxy().directoryUri().toString(), CA.proxy().caPem().toString(), store.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        List<String> out = new java.util.ArrayList<>();
        try (java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(child.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null && out.size() < 1000; line = r.readLine()) {
                out.add(line);
                if (line.equals("HALT")) {
                    child.destroyForcibly(); // SIGKILL: the CA has the new key, the store does not
                    break;
                }
            }
        } finally {
            if (!child.waitFor(60, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
        assertTrue(out.contains("HALT"), "the child reached the promotion: " + out);
        byte[] pending = file(layout().accountKeyPending());
        assertArrayEquals(oldKey, file(layout().accountKey()));
        assertEquals(location, caKnows(pending).orElseThrow().toExternalForm(), "the CA took the new key");
        assertEquals(Optional.empty(), caKnows(oldKey));

        CA.proxy().reset();
        try (AutoCert b = CA.build(builder(new CopyOnWriteArrayList<>()))) {
            b.start();
            assertEquals(CertificateStatus.State.VALID, b.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS).state());
        }
        assertArrayEquals(pending, file(layout().accountKey()), "promoted by the new manager");
        assertFalse(Files.exists(store.resolve(layout().accountKeyPending())));
        assertEquals(location, location());
    }
}
