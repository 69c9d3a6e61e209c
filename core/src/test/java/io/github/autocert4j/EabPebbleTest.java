package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleExtension;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * External account binding against a real Pebble that requires it ({@code externalAccountBindingRequired}
 * with one key id and HMAC key): the right key creates the account and a certificate is issued;
 * a wrong HMAC key, and no binding at all, are permanent failures that name the builder method to fix.
 */
@IntegrationTest
class EabPebbleTest {
    static final String NAME = "eab.autocert4j.test";
    static final String KID = "kid-autocert4j";
    static final String HMAC = randomKey();

    /** External account binding is a builder option {@code @WithPebble} does not offer. */
    @RegisterExtension
    @Order(1)
    static final PebbleExtension PEBBLE = PebbleExtension.configured(b -> b.requireExternalAccountBinding(Map.of(KID, HMAC)));
    @RegisterExtension
    @Order(2)
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    static String randomKey() {
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(key);
    }

    AutoCertBuilder builder(Path store, List<CertEvent> events) {
        return CA.builder().certificate(NAME).storageDirectory(store).listener(events::add);
    }

    @Test
    void theRightKeyCreatesTheAccountAndACertificateIsIssued(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = CA.build(builder(store, events).externalAccountBinding(KID, HMAC))) {
            autoCert.start();
            CertificateStatus s = autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS);
            assertEquals(CertificateStatus.State.VALID, s.state());
            assertNotNull(s.serial());
        }
        assertTrue(Files.exists(store.resolve(new StoreLayout(CA.pebble().directoryUri()).accountLocation())), "account location stored");
        assertTrue(Files.readString(CA.pebble().logFile()).contains("Successful newAccount Binding with CA using kid \"" + KID + "\""),
                "Pebble verified the binding");
        assertNoSecretWritten(store);
    }

    @Test
    void aWrongHmacKeyIsAPermanentFailureNamingTheFix(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = CA.build(builder(store, events).externalAccountBinding(KID, randomKey()))) {
            autoCert.start();
            IssuanceException e = failure(autoCert);
            assertTrue(e.permanent(), "a wrong key cannot pass on a retry: " + e.getMessage());
            assertTrue(e.getMessage().contains(".externalAccountBinding(keyId, hmacKey)"), e.getMessage());
            assertTrue(e.problemType().orElse("").endsWith(":unauthorized"), e.problemType().toString());
            CertificateStatus s = autoCert.status(NAME).orElseThrow();
            assertEquals(CertificateStatus.State.FAILED, s.state());
            assertEquals(null, s.nextCheck(), "not retried until fixed");
            assertFalse(e.getMessage().contains(HMAC), "no key in the message");
        }
    }

    @Test
    void noBindingWhereTheCaRequiresOneIsPermanentAndNamesTheBuilderMethod(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = CA.build(builder(store, events))) {
            autoCert.start();
            IssuanceException e = failure(autoCert);
            assertTrue(e.permanent(), e.getMessage());
            assertTrue(e.problemType().orElse("").endsWith(":externalAccountRequired"), e.problemType().toString());
            assertTrue(e.getMessage().contains(".externalAccountBinding(keyId, hmacKey)"), e.getMessage());
        }
    }

    @Test
    void buildRejectsAnUnusableBinding(@TempDir Path store) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder(store, new CopyOnWriteArrayList<>()).externalAccountBinding("", "not base64!").build());
        assertTrue(e.getMessage().contains("externalAccountBinding: the external account binding has no key id"), e.getMessage());
        assertTrue(e.getMessage().contains("externalAccountBinding: the external account binding's HMAC key is not base64url"), e.getMessage());
        IllegalArgumentException further = assertThrows(IllegalArgumentException.class,
                () -> builder(store, new CopyOnWriteArrayList<>()).acmeCa(AcmeCa.of("https://ca.example/dir").withExternalAccountBinding("kid", "")).build());
        assertTrue(further.getMessage().contains("acmeCa(https://ca.example/dir): the external account binding has no HMAC key"), further.getMessage());
        assertFalse(AcmeCa.of("https://ca.example/dir").withExternalAccountBinding("kid", HMAC).toString().contains(HMAC), "toString hides the key");
    }

    static IssuanceException failure(AutoCert autoCert) throws Exception {
        ExecutionException e = assertThrows(ExecutionException.class, () -> autoCert.renewNow(NAME).get(30, TimeUnit.SECONDS));
        assertTrue(e.getCause() instanceof IssuanceException, String.valueOf(e.getCause()));
        return (IssuanceException) e.getCause();
    }

    /** The HMAC key is used for one signature and never stored. */
    void assertNoSecretWritten(Path store) throws Exception {
        try (Stream<Path> files = Files.walk(store)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertFalse(Files.readString(f, java.nio.charset.StandardCharsets.ISO_8859_1).contains(HMAC), "HMAC key in " + f);
            }
        }
    }

}
