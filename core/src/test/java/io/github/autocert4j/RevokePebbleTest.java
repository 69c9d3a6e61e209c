package io.github.autocert4j;

import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
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
 * Revocation from a running manager against Pebble (issue 20): signed with the account or with the certificate's
 * key, the CA revokes the live certificate (a second revocation of it is answered "alreadyRevoked") and a
 * replacement goes live; with {@code revokeOnRemove} a removed certificate is revoked and its stored copy deleted.
 */
@WithPebble
class RevokePebbleTest {
    static final String APP = "revoke.autocert4j.test";
    static final Duration T = Duration.ofSeconds(30);

    @RegisterExtension
    static final FaultProxyExtension CA = new FaultProxyExtension();
    @TempDir
    Path store;

    AutoCert issued(List<CertEvent> events, String revokeOnRemove) throws Exception {
        AutoCert a = CA.build(CA.builder().certificate(APP).storageDirectory(store).listener(events::add)
                .revokeOnRemove(revokeOnRemove).renewal(RenewalPolicy.defaults().withOrderTimeout(Duration.ofSeconds(20))));
        CompletableFuture<CertificateStatus> live = a.managed(APP).whenLive();
        a.start();
        live.get(T.toSeconds(), TimeUnit.SECONDS);
        return a;
    }

    /** The JWS protected headers of the revokeCert requests from now on. */
    List<String> revokeHeaders() {
        List<String> headers = new CopyOnWriteArrayList<>();
        java.util.function.Predicate<FaultProxy.Req> revokeCert = CA.proxy().is("revokeCert");
        CA.proxy().rule((req, fwd) -> {
            if (revokeCert.test(req)) {
                headers.add(AccountRecoveryPebbleTest.protectedHeader(req));
            }
            return fwd.call();
        });
        return headers;
    }

    void revokesAndReplaces(boolean withCertificateKey) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(events, null)) {
            ServedCertificate before = a.servedCertificate(APP);
            X509Certificate leaf = before.chain().get(0);
            CA.proxy().reset();
            List<String> headers = revokeHeaders();

            CertificateStatus replaced = (withCertificateKey ? a.accounts().revoke(APP, "keyCompromise", true) : a.revoke(APP, "keyCompromise"))
                    .get(T.toSeconds(), TimeUnit.SECONDS);

            assertEquals(1, headers.size(), "one revocation request: " + headers);
            if (withCertificateKey) {
                assertTrue(headers.get(0).contains("\"jwk\"") && !headers.get(0).contains("\"kid\""), "signed with the certificate's key: " + headers);
            } else {
                assertTrue(headers.get(0).contains("\"kid\"") && !headers.get(0).contains("\"jwk\""), "signed with the account: " + headers);
            }
            CertEvent.Revoked revoked = FaultMatrixTestAccess.await(events, CertEvent.Revoked.class, T);
            assertEquals(leaf.getSerialNumber(), revoked.serial());
            assertEquals("keyCompromise", revoked.reason());
            assertEquals(withCertificateKey, revoked.withCertificateKey());
            assertEquals(revoked, a.accounts().lastRevocation(APP).orElseThrow());

            assertEquals(CertificateStatus.State.VALID, replaced.state());
            assertNotEquals(leaf.getSerialNumber(), replaced.serial(), "a replacement went live");
            assertEquals(replaced.serial(), a.servedCertificate(APP).chain().get(0).getSerialNumber(), "and is served");
            // One order placed (Pebble refuses the 'replaces' of about one serial in 256, letsencrypt/pebble#550: then the
            // same order without it follows, AcmeIssuer.placeOrder, and orders() leaves the refused one out).
            List<FaultProxy.Seen> orders = CA.proxy().orders();
            assertEquals(List.of(201), orders.stream().map(FaultProxy.Seen::status).toList(), "one order for the replacement: " + orders);

            assertEquals("revoked", CA.pebble().certificateStatus(leaf.getSerialNumber()).orElse("").toLowerCase(java.util.Locale.ROOT),
                    "Pebble's management API says so");
            assertEquals("valid", CA.pebble().certificateStatus(replaced.serial()).orElse("").toLowerCase(java.util.Locale.ROOT));
            IssuanceException again = AcmeLookup.revokeAgain(CA.proxy().directoryUri(), CA.proxy().caPem(), leaf,
                    new KeyPair(leaf.getPublicKey(), before.privateKey()));
            assertNotNull(again, "the CA revoked it: a second revocation is refused");
            assertTrue(again.problemType().orElse("").endsWith(":alreadyRevoked") && again.getMessage().contains("already revoked"),
                    again.getMessage());
        }
    }

    @Test
    void revokeSignedWithTheAccountRevokesAndReplaces() throws Exception {
        revokesAndReplaces(false);
    }

    @Test
    void revokeSignedWithTheCertificateKeyRevokesAndReplaces() throws Exception {
        revokesAndReplaces(true);
    }

    @Test
    void revokingTwiceSaysAlreadyRevokedAndUnknownReasonsAreRefused() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(events, null)) {
            ExecutionException unknown = assertThrows(ExecutionException.class, () -> a.revoke(APP, "because").get(5, TimeUnit.SECONDS));
            assertTrue(unknown.getCause() instanceof IllegalArgumentException && unknown.getCause().getMessage().contains("key_compromise")
                    && unknown.getCause().getMessage().contains("Fix:"), unknown.getCause().getMessage());
            ExecutionException noSuch = assertThrows(ExecutionException.class, () -> a.revoke("other.test", "superseded").get(5, TimeUnit.SECONDS));
            assertTrue(noSuch.getCause().getMessage().contains("no managed certificate covers 'other.test'"), noSuch.getCause().getMessage());
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Revoked), "nothing revoked: " + events);
            assertThrows(InvalidConfigurationException.class, () -> AutoCert.builder().directory(CA.proxy().directoryUri())
                    .agreeToTermsOfService(true).certificate(APP).storageDirectory(store).revokeOnRemove("because").build());
        }
    }

    @Test
    void revokeOnRemoveRevokesTheRemovedCertificateAndDeletesItsStoredCopy() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(events, "cessationOfOperation")) {
            ServedCertificate before = a.servedCertificate(APP);
            X509Certificate leaf = before.chain().get(0);
            assertTrue(Files.exists(store.resolve(StoreLayout.certBundle(APP))));
            CA.proxy().reset();

            assertTrue(a.removeCertificate(APP));

            assertEquals(1, CA.proxy().count("POST", "revokeCert"));
            CertEvent.Revoked revoked = FaultMatrixTestAccess.await(events, CertEvent.Revoked.class, T);
            assertEquals(leaf.getSerialNumber(), revoked.serial());
            assertEquals("cessationOfOperation", revoked.reason());
            assertFalse(Files.exists(store.resolve(StoreLayout.certBundle(APP))), "the revoked copy is not served again after a re-add");
            assertEquals(0, CA.proxy().count("POST", "newOrder"), "removed: nothing replaces it");
            assertEquals("revoked", CA.pebble().certificateStatus(leaf.getSerialNumber()).orElse("").toLowerCase(java.util.Locale.ROOT));
            IssuanceException again = AcmeLookup.revokeAgain(CA.proxy().directoryUri(), CA.proxy().caPem(), leaf,
                    new KeyPair(leaf.getPublicKey(), before.privateKey()));
            assertNotNull(again);
            assertTrue(again.problemType().orElse("").endsWith(":alreadyRevoked"), again.getMessage());
        }
    }

    @Test
    void removeWithoutTheOptionRevokesNothing() throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = issued(events, null)) {
            X509Certificate leaf = a.servedCertificate(APP).chain().get(0);
            CA.proxy().reset();
            assertTrue(a.removeCertificate(APP));
            assertEquals(0, CA.proxy().count("POST", "revokeCert"));
            assertTrue(Files.exists(store.resolve(StoreLayout.certBundle(APP))), "the stored copy is kept (the default)");
            assertNull(a.accounts().lastRevocation(APP).orElse(null));
            assertNotNull(leaf);
        }
    }
}
