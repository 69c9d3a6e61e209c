package io.github.autocert4j;

import io.github.autocert4j.internal.util.Names;

import io.github.autocert4j.internal.store.MemoryCertStore;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.bouncycastle.asn1.ASN1OctetString;
import org.junit.jupiter.api.Test;

/** The TLS-ALPN-01 challenge certificate (RFC 8737 §3, RFC 8738 §6) and its publication to peers. */
class TlsAlpn01ResponderTest {
    static final String KEY_AUTH = "token-abc.thumbprint-xyz";

    @Test
    void theChallengeCertificateCarriesOneNameAndTheCriticalAcmeIdentifier() throws Exception {
        TlsAlpn01Responder r = new TlsAlpn01Responder();
        r.present(new ChallengeSolver.Challenge("tls-alpn-01", "App.Example.test", "token-abc", KEY_AUTH));
        TlsAlpn01Responder.Answer a = r.answer("app.example.test", false);
        assertNotNull(a);
        X509Certificate c = a.certificate;
        assertEquals(List.of(List.of(2, "app.example.test")), c.getSubjectAlternativeNames().stream().map(List::copyOf).toList());
        assertTrue(c.getCriticalExtensionOIDs().contains("1.3.6.1.5.5.7.1.31"), "acmeIdentifier is critical");
        byte[] extnValue = ASN1OctetString.getInstance(c.getExtensionValue("1.3.6.1.5.5.7.1.31")).getOctets();
        byte[] inner = ASN1OctetString.getInstance(extnValue).getOctets();
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(KEY_AUTH.getBytes(StandardCharsets.US_ASCII)), inner);
        c.verify(c.getPublicKey()); // self-signed
        assertTrue(r.isPending("APP.example.test"));
        assertArrayEquals(new X509Certificate[] {c}, r.keyManager().getCertificateChain(a.alias));

        r.cleanUp(new ChallengeSolver.Challenge("tls-alpn-01", "app.example.test", "token-abc", KEY_AUTH));
        assertFalse(r.isPending("app.example.test"));
        assertNull(r.keyManager().getCertificateChain(a.alias));
    }

    @Test
    void anIpIdentifierIsAnsweredForItsReverseDnsNameWithAnIpAddressSan() throws Exception {
        assertEquals("127.0.0.1", Names.acmeIdentifier("1.0.0.127.in-addr.arpa."));
        assertEquals("2001:db8::1", Names.acmeIdentifier(
                "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa"));
        assertNull(Names.acmeIdentifier("1.0.127.in-addr.arpa"));
        TlsAlpn01Responder r = new TlsAlpn01Responder();
        r.present(new ChallengeSolver.Challenge("tls-alpn-01", "127.0.0.1", "t", KEY_AUTH));
        X509Certificate c = r.answer("1.0.0.127.in-addr.arpa", false).certificate;
        assertEquals(List.of(List.of(7, "127.0.0.1")), c.getSubjectAlternativeNames().stream().map(List::copyOf).toList());
    }

    @Test
    void aPeerSharingTheStoreAnswersTheSameChallenge() throws Exception {
        MemoryCertStore shared = new MemoryCertStore();
        TlsAlpn01Responder placing = new TlsAlpn01Responder(shared);
        TlsAlpn01Responder peer = new TlsAlpn01Responder(shared);
        placing.present(new ChallengeSolver.Challenge("tls-alpn-01", "app.example.test", "t", KEY_AUTH));
        assertFalse(peer.isPending("app.example.test"), "not in the peer's memory yet");
        assertTrue(peer.lookup("app.example.test").get(5, TimeUnit.SECONDS), "found in the store without blocking the caller");
        TlsAlpn01Responder.Answer a = peer.answer("app.example.test", false);
        byte[] inner = ASN1OctetString.getInstance(ASN1OctetString.getInstance(
                a.certificate.getExtensionValue("1.3.6.1.5.5.7.1.31")).getOctets()).getOctets();
        assertArrayEquals(MessageDigest.getInstance("SHA-256").digest(KEY_AUTH.getBytes(StandardCharsets.US_ASCII)), inner);
        assertFalse(peer.lookup("other.example.test").get(5, TimeUnit.SECONDS));
        placing.cleanUp(new ChallengeSolver.Challenge("tls-alpn-01", "app.example.test", "t", KEY_AUTH));
        assertTrue(shared.list("challenges/").isEmpty(), "withdrawn from the store");
        peer.close();
        placing.close();
    }
}
