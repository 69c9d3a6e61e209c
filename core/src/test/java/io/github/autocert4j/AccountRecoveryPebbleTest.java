package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;
import io.github.autocert4j.internal.tls.LiveKeyManager;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A CA that no longer knows the account gets the stored account key registered again, once, and
 * the certificate is obtained in the same attempt. "The CA lost its accounts" is real here: the
 * fault proxy, whose URLs the client knows, starts forwarding to a fresh Pebble (as a CA restored
 * from an empty database), which answers accountDoesNotExist for the stored account URL. Caddy's
 * CA answers HTTP 500 with an empty body instead; then an account lookup by key decides. A CA that
 * keeps losing the account, or one that merely fails, never causes a registration loop.
 */
@WithPebble
class AccountRecoveryPebbleTest {
    static final String APP = "recovery.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);
    static final Pattern PROTECTED = Pattern.compile("\"protected\"\\s*:\\s*\"([A-Za-z0-9_-]*)\"");

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCertBuilder builder(List<CertEvent> events) {
        return CA.builder().certificate(APP).storageDirectory(store).listener(events::add)
                .renewal(RenewalPolicy.defaults().withOrderTimeout(Duration.ofSeconds(20)));
    }

    String storedLocation() throws Exception {
        return Files.readString(store.resolve(new StoreLayout(CA.proxy().directoryUri()).accountLocation()), StandardCharsets.UTF_8).trim();
    }

    byte[] storedKey() throws Exception {
        return Files.readAllBytes(store.resolve(new StoreLayout(CA.proxy().directoryUri()).accountKey()));
    }

    /** The JWS protected header of a request, decoded ("kid" names the account; "jwk" a request signed by key alone). */
    static String protectedHeader(FaultProxy.Req req) {
        Matcher m = PROTECTED.matcher(new String(req.body(), StandardCharsets.UTF_8));
        // jose4j writes "/" as "\/" in JSON strings.
        return m.find() ? new String(Base64.getUrlDecoder().decode(m.group(1)), StandardCharsets.UTF_8).replace("\\/", "/") : "";
    }

    /** Starts a manager, waits for its first certificate (registering the account at the original Pebble) and returns it running. */
    AutoCert issuedOnce(List<CertEvent> events) throws Exception {
        AutoCert a = CA.build(builder(events));
        java.util.concurrent.CompletableFuture<CertificateStatus> live = a.managed(APP).whenLive();
        a.start();
        live.get(T.toSeconds(), TimeUnit.SECONDS);
        return a;
    }

    static long reRegistrationLines(String log) {
        return log.lines().filter(l -> l.contains("WARN") && l.contains("no longer knows the ACME account")).count();
    }

    @Test
    void aCaThatLostTheAccountAndSaysSoGetsTheKeyRegisteredOnceAndIssues() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issuedOnce(events);
             PebbleServer restored = PebbleServer.builder().httpPort(CA.pebble().httpPort()).start()) {
            String before = storedLocation();
            byte[] key = storedKey();
            CA.proxy().forwardTo(restored);
            CA.proxy().reset();
            CertificateStatus[] s = new CertificateStatus[1];
            String log = FailureMessagesTest.capturingLog(() -> s[0] = a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));

            assertEquals(1, reRegistrationLines(log), "logged once: " + log);
            assertTrue(log.contains("accountDoesNotExist"), "with the reason: " + log);
            List<FaultProxy.Seen> accounts = CA.proxy().requests("POST", "newAccount");
            assertEquals(1, accounts.size(), "one registration, no lookup needed: " + accounts);
            assertFalse(accounts.get(0).payload().contains("onlyReturnExisting"), accounts.toString());
            List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
            assertOrdersAfterLoss(orders, 400);
            assertTrue(orders.get(0).responseBody().contains("accountDoesNotExist"), "the restored Pebble does not know the stored account: " + orders);
            assertEquals(CertificateStatus.State.VALID, s[0].state());
            assertEquals(restored.issuanceRoot().getSubjectX500Principal(), rootOf(a),
                    "the certificate came from the CA that lost the account");

            String after = storedLocation();
            assertNotEquals(before, after, "the new account location is stored");
            assertArrayEquals(key, storedKey(), "the account key is kept");

            // The next renewal uses the stored new account: no registration, no failed order.
            CA.proxy().reset();
            a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS);
            assertEquals(0, CA.proxy().count("POST", "newAccount"));
            assertTrue(CA.proxy().orders().stream().allMatch(o -> o.status() == 201), CA.proxy().seen::toString);
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Failed), events.toString());
        }
    }

    @Test
    void aCaThatLostTheAccountAndAnswers500IsAskedByKeyAndTheKeyRegisteredOnce() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issuedOnce(events);
             PebbleServer restored = PebbleServer.builder().httpPort(CA.pebble().httpPort()).start()) {
            String lost = storedLocation();
            CA.proxy().forwardTo(restored);
            CA.proxy().reset();
            // Caddy 2.6: every request signed with the lost account's URL is answered 500 with an empty body.
            CA.proxy().rule((req, fwd) -> protectedHeader(req).contains("\"kid\":\"" + lost + "\"")
                    ? new FaultProxy.Resp(500, java.util.Map.of(), new byte[0], 0) : fwd.call());
            String log = FailureMessagesTest.capturingLog(() -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));

            assertEquals(1, reRegistrationLines(log), "logged once: " + log);
            assertTrue(log.lines().anyMatch(l -> l.contains("no longer knows") && l.contains("HTTP 500")
                    && l.contains("account lookup by key found no account")), "with the reason: " + log);
            List<FaultProxy.Seen> accounts = CA.proxy().requests("POST", "newAccount");
            assertEquals(2, accounts.size(), "a lookup, then one registration: " + accounts);
            assertTrue(accounts.get(0).payload().contains("\"onlyReturnExisting\":true") && accounts.get(0).status() == 400
                    && accounts.get(0).responseBody().contains("accountDoesNotExist"), accounts.toString());
            assertFalse(accounts.get(1).payload().contains("onlyReturnExisting"), accounts.toString());
            List<FaultProxy.Seen> orders = CA.proxy().requests("POST", "newOrder");
            assertOrdersAfterLoss(orders, 500);
            assertNotEquals(lost, storedLocation());
            assertEquals(restored.issuanceRoot().getSubjectX500Principal(), rootOf(a));
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Failed), events.toString());
        }
    }

    @Test
    void aCaThatKeepsLosingTheAccountGetsOneRegistrationNotALoop() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issuedOnce(events)) {
            CA.proxy().reset();
            CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req)
                    ? FaultProxy.Resp.problem(400, "accountDoesNotExist", "no such account") : fwd.call());
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            IssuanceException f = (IssuanceException) e.getCause();
            assertFalse(f.permanent(), "retried later: " + f.getMessage());
            assertEquals("urn:ietf:params:acme:error:accountDoesNotExist", f.problemType().orElseThrow());
            assertTrue(f.getMessage().contains(CA.proxy().directoryUri().toString()) && f.getMessage().contains("Fix: "), f.getMessage());
            assertEquals(1, CA.proxy().count("POST", "newAccount"), "one registration in the attempt");
            assertEquals(2, CA.proxy().count("POST", "newOrder"), "one order before and one after it");

            // At once again: no second registration within the interval; the message says when and what to check.
            e = assertThrows(ExecutionException.class, () -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            f = (IssuanceException) e.getCause();
            assertTrue(f.getMessage().contains("registered again at most every 10 minutes") && f.getMessage().contains("Fix: check the CA"),
                    f.getMessage());
            assertTrue(f.getMessage().contains(CA.proxy().directoryUri().toString()), f.getMessage());
            assertEquals(1, CA.proxy().count("POST", "newAccount"), "still one registration");
            assertEquals(3, CA.proxy().count("POST", "newOrder"));
        }
    }

    @Test
    void aCaThatFailsButKnowsTheAccountIsNotRegisteredAgain() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issuedOnce(events)) {
            String location = storedLocation();
            CA.proxy().reset();
            CA.proxy().rule((req, fwd) -> CA.proxy().is("newOrder").test(req) ? new FaultProxy.Resp(500, java.util.Map.of(), new byte[0], 0) : fwd.call());
            ExecutionException e = assertThrows(ExecutionException.class, () -> a.renewNow(APP).get(T.toSeconds(), TimeUnit.SECONDS));
            IssuanceException f = (IssuanceException) e.getCause();
            assertTrue(f.getMessage().contains("HTTP 500") && f.getMessage().contains(CA.proxy().directoryUri().toString())
                    && f.getMessage().contains("Fix: "), f.getMessage());
            List<FaultProxy.Seen> accounts = CA.proxy().requests("POST", "newAccount");
            assertEquals(1, accounts.size(), "only the lookup: " + accounts);
            assertTrue(accounts.get(0).payload().contains("\"onlyReturnExisting\":true") && accounts.get(0).status() == 200, accounts.toString());
            assertEquals(1, CA.proxy().count("POST", "newOrder"));
            assertEquals(location, storedLocation(), "the account is kept");
        }
    }

    /**
     * The orders of a renewal at the CA that lost everything: refused for the lost account
     * ({@code firstStatus}); then, with the account registered again, refused for its 'replaces'
     * (the restored CA does not know the certificate it would replace either: Pebble answers
     * malformed "no known issuer"), and ordered once more without it (the existing rule), accepted.
     */
    static void assertOrdersAfterLoss(List<FaultProxy.Seen> orders, int firstStatus) {
        assertEquals(List.of(firstStatus, 400, 201), orders.stream().map(FaultProxy.Seen::status).toList(), orders.toString());
        assertTrue(orders.get(1).payload().contains("\"replaces\"") && orders.get(1).responseBody().contains("no known issuer"), orders.toString());
        assertFalse(orders.get(2).payload().contains("\"replaces\""), orders.toString());
    }

    static javax.security.auth.x500.X500Principal rootOf(AutoCert a) {
        java.security.cert.X509Certificate[] chain = ((LiveKeyManager) a.keyManager()).currentChain(APP);
        return chain[chain.length - 1].getIssuerX500Principal();
    }
}
