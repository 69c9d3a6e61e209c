package io.github.autocert4j;

import io.github.autocert4j.internal.cluster.OwnAccounts;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;

import org.bouncycastle.asn1.ASN1OctetString;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The rule behind {@code PlantedChallenge*}, one case at a time on a file store: a peer's stored answer is
 * served (HTTP-01) or becomes a challenge certificate (TLS-ALPN-01) only if it is a key authorization for
 * the requested token and one of the manager's own accounts; the own account key, once known, is not
 * replaced by a key written to the store later.
 */
class PlantedChallengeRulesTest {
    static final URI CA = URI.create("https://ca.example.test/dir");

    @TempDir
    Path dir;

    FileCertStore store;
    OwnAccounts own;
    String ownThumbprint;
    String attackerThumbprint;

    void setUp() throws Exception {
        store = FileCertStore.of(dir);
        KeyPair account = KeyType.EC_P256.generate();
        store.store(new StoreLayout(CA).accountKey(), Pem.encodeKeyPair(account));
        own = new OwnAccounts(store);
        own.addCa(CA);
        ownThumbprint = OwnAccounts.thumbprint(account.getPublic());
        attackerThumbprint = OwnAccounts.thumbprint(KeyType.EC_P256.generate().getPublic());
    }

    void put(String key, String value) throws Exception {
        store.store(key, value.getBytes(StandardCharsets.US_ASCII));
    }

    @Test
    void http01ServesOnlyTheOwnAccountsKeyAuthorizationForTheRequestedToken() throws Exception {
        setUp();
        Http01Responder r = new Http01Responder(store, null, own);
        try {
            put(StoreLayout.http01Challenge("ownToken"), "ownToken." + ownThumbprint);
            put(StoreLayout.http01Challenge("plantedToken"), "plantedToken." + attackerThumbprint);
            put(StoreLayout.http01Challenge("otherToken"), "someToken." + ownThumbprint);    // not for this token
            put(StoreLayout.http01Challenge("noDot"), "noDot");
            put(StoreLayout.http01Challenge("emptyThumb"), "emptyThumb.");

            assertEquals(new Http01Responder.Answer(Http01Responder.Outcome.FOUND, "ownToken." + ownThumbprint), r.answer("ownToken"));
            for (String token : new String[] {"plantedToken", "otherToken", "noDot", "emptyThumb"}) {
                assertEquals(Http01Responder.Answer.NOT_FOUND, r.answer(token), token);
            }
            assertEquals(1, r.answeredCount());

            // A store writer replaces the account key with their own: the key this node knows stays the one it read first.
            KeyPair swapped = KeyType.EC_P256.generate();
            store.store(new StoreLayout(CA).accountKey(), Pem.encodeKeyPair(swapped));
            String swappedThumbprint = OwnAccounts.thumbprint(swapped.getPublic());
            put(StoreLayout.http01Challenge("afterSwap"), "afterSwap." + swappedThumbprint);
            assertEquals(Http01Responder.Answer.NOT_FOUND, r.answer("afterSwap"));
        } finally {
            r.close();
        }
    }

    @Test
    void aDryRunsTestAccountIsServedOnlyEndorsedWithAnOwnAccountKey() throws Exception {
        store = FileCertStore.of(dir);
        KeyPair account = KeyType.EC_P256.generate();
        store.store(new StoreLayout(CA).accountKey(), Pem.encodeKeyPair(account));
        own = new OwnAccounts(store);
        own.addCa(CA);
        KeyPair attacker = KeyType.EC_P256.generate();
        String testAccount = OwnAccounts.thumbprint(KeyType.EC_P256.generate().getPublic());
        Http01Responder r = new Http01Responder(store, null, own);
        try {
            put(StoreLayout.http01Challenge("dry"), "dry." + testAccount + "\n" + OwnAccounts.endorsement("dry." + testAccount, account));
            assertEquals(new Http01Responder.Answer(Http01Responder.Outcome.FOUND, "dry." + testAccount), r.answer("dry"));
            // Signed by another key but naming the own thumbprint; signed by the attacker's own account; endorsing another answer.
            String forged = OwnAccounts.endorsement("forged." + testAccount, attacker)
                    .replace(OwnAccounts.thumbprint(attacker.getPublic()), OwnAccounts.thumbprint(account.getPublic()));
            put(StoreLayout.http01Challenge("forged"), "forged." + testAccount + "\n" + forged);
            put(StoreLayout.http01Challenge("selfSigned"), "selfSigned." + testAccount + "\n"
                    + OwnAccounts.endorsement("selfSigned." + testAccount, attacker));
            put(StoreLayout.http01Challenge("replayed"), "replayed." + testAccount + "\n" + OwnAccounts.endorsement("dry." + testAccount, account));
            for (String token : new String[] {"forged", "selfSigned", "replayed"}) {
                assertEquals(Http01Responder.Answer.NOT_FOUND, r.answer(token), token);
            }
        } finally {
            r.close();
        }
    }

    @Test
    void aNodeWithoutAnyAccountServesNoPeerAnswer() throws Exception {
        store = FileCertStore.of(dir);
        OwnAccounts none = new OwnAccounts(store); // a custom Issuer only: no ACME account
        Http01Responder r = new Http01Responder(store, null, none);
        try {
            put(StoreLayout.http01Challenge("tok"), "tok.anything");
            assertEquals(Http01Responder.Answer.NOT_FOUND, r.answer("tok"));
        } finally {
            r.close();
        }
    }

    @Test
    void tlsAlpn01BuildsTheCertificateFromTheOwnThumbprintAndNoneForAnotherAccount() throws Exception {
        setUp();
        TlsAlpn01Responder r = new TlsAlpn01Responder(store, null, own);
        try {
            String keyAuthorization = "tok123." + ownThumbprint;
            put(StoreLayout.tlsAlpn01Challenge("own.example.test"), keyAuthorization);
            put(StoreLayout.tlsAlpn01Challenge("planted.example.test"), "tok456." + attackerThumbprint);

            TlsAlpn01Responder.Answer a = r.answer("own.example.test", true);
            assertNotNull(a);
            X509Certificate c = a.certificate;
            byte[] inner = ASN1OctetString.getInstance(ASN1OctetString.getInstance(c.getExtensionValue("1.3.6.1.5.5.7.1.31")).getOctets())
                    .getOctets();
            assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(keyAuthorization.getBytes(StandardCharsets.US_ASCII)), inner);

            assertNull(r.answer("planted.example.test", true));
            assertEquals(Boolean.FALSE, r.lookup("planted.example.test").get());
        } finally {
            r.close();
        }
    }
}
