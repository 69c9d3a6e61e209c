package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.tls.ChainVerifier;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;

class ChainVerifierTest {

    // Real time (to the second, as X.509 dates), so the same certificates also pass JSSE handshakes.
    static final Instant NOW = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);

    /** A throw-away CA -> intermediate -> leaf hierarchy built with BouncyCastle, for tests only. */
    static final class TestPki {
        private static final AtomicLong SERIAL = new AtomicLong(1000);

        final KeyPair rootKey = KeyType.EC_P256.generate();
        final KeyPair intermediateKey = KeyType.EC_P256.generate();
        final X509Certificate root;
        final X509Certificate intermediate;

        TestPki(String label) {
            root = cert(new X500Name("CN=" + label + " Root"), rootKey.getPublic(), new X500Name("CN=" + label + " Root"),
                    rootKey.getPrivate(), NOW.minus(Duration.ofDays(3650)), NOW.plus(Duration.ofDays(3650)), true, List.of());
            intermediate = cert(new X500Name("CN=" + label + " Intermediate"), intermediateKey.getPublic(), new X500Name("CN=" + label + " Root"),
                    rootKey.getPrivate(), NOW.minus(Duration.ofDays(3650)), NOW.plus(Duration.ofDays(3650)), true, List.of());
        }

        /** A leaf for {@code names} signed by the intermediate. */
        X509Certificate leaf(PublicKey key, Instant notBefore, Instant notAfter, String... names) {
            return cert(new X500Name("CN=" + names[0]), key, new X500Name(intermediate.getSubjectX500Principal().getName()),
                    intermediateKey.getPrivate(), notBefore, notAfter, false, List.of(names));
        }

        /** Leaf key + [leaf, intermediate], valid 90 days around NOW. */
        CertBundle bundle(KeyType type, String... names) {
            return bundle(type, NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(89)), names);
        }

        CertBundle bundle(KeyType type, Instant notBefore, Instant notAfter, String... names) {
            KeyPair kp = type.generate();
            return new CertBundle(kp, List.of(leaf(kp.getPublic(), notBefore, notAfter, names), intermediate));
        }

        static X509Certificate cert(X500Name subject, PublicKey key, X500Name issuer, PrivateKey signer,
                                    Instant notBefore, Instant notAfter, boolean ca, List<String> names) {
            try {
                JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(issuer, BigInteger.valueOf(SERIAL.incrementAndGet()),
                        Date.from(notBefore), Date.from(notAfter), subject, key);
                b.addExtension(Extension.basicConstraints, true, new BasicConstraints(ca));
                if (ca) {
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
                } else {
                    b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
                }
                if (!names.isEmpty()) {
                    b.addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(names.stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
                }
                String alg = signer.getAlgorithm().startsWith("EC") ? "SHA256withECDSA" : "SHA256withRSA";
                return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder(alg).build(signer)));
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private final TestPki pki = new TestPki("Test");

    private static String rejects(CertBundle bundle, List<String> names, Instant now) {
        return assertThrows(ChainVerifier.VerificationException.class, () -> ChainVerifier.verify(bundle, names, now)).getMessage();
    }

    @Test
    void acceptsAGoodChain() {
        CertBundle b = pki.bundle(KeyType.EC_P256, "app.example.test", "www.example.test");
        assertDoesNotThrow(() -> ChainVerifier.verify(b, List.of("app.example.test", "www.example.test"), NOW));
        assertDoesNotThrow(() -> ChainVerifier.verify(b, List.of("WWW.Example.Test"), NOW), "names compare case-insensitively");
        CertBundle rsa = pki.bundle(KeyType.RSA_2048, "rsa.example.test");
        assertDoesNotThrow(() -> ChainVerifier.verify(rsa, List.of("rsa.example.test"), NOW));
        CertBundle withRoot = new CertBundle(b.keyPair(), List.of(b.leaf(), pki.intermediate, pki.root));
        assertDoesNotThrow(() -> ChainVerifier.verify(withRoot, List.of("app.example.test"), NOW));
        CertBundle leafOnly = new CertBundle(b.keyPair(), List.of(b.leaf()));
        assertDoesNotThrow(() -> ChainVerifier.verify(leafOnly, List.of("app.example.test"), NOW));
    }

    @Test
    void acceptsAWildcardCertificateForTheWildcardName() {
        CertBundle b = pki.bundle(KeyType.EC_P256, "*.example.test", "example.test");
        assertDoesNotThrow(() -> ChainVerifier.verify(b, List.of("*.example.test", "example.test"), NOW));
    }

    @Test
    void rejectsAnEmptyChain() {
        CertBundle b = new CertBundle(KeyType.EC_P256.generate(), List.of());
        assertTrue(rejects(b, List.of("a.example.test"), NOW).contains("empty"));
    }

    @Test
    void rejectsACertificateForAnotherKey() {
        CertBundle good = pki.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle wrongKey = new CertBundle(KeyType.EC_P256.generate(), good.chain());
        assertTrue(rejects(wrongKey, List.of("app.example.test"), NOW).contains("public key does not match"));
    }

    @Test
    void rejectsAMissingName() {
        CertBundle b = pki.bundle(KeyType.EC_P256, "app.example.test");
        String msg = rejects(b, List.of("app.example.test", "other.example.test"), NOW);
        assertTrue(msg.contains("other.example.test"), msg);
        // a wildcard certificate does not stand in for a name that was explicitly ordered
        CertBundle wild = pki.bundle(KeyType.EC_P256, "*.example.test");
        assertTrue(rejects(wild, List.of("a.example.test"), NOW).contains("a.example.test"));
    }

    @Test
    void rejectsALeafWithoutSubjectAltNames() {
        KeyPair kp = KeyType.EC_P256.generate();
        X509Certificate noSan = TestPki.cert(new X500Name("CN=app.example.test"), kp.getPublic(),
                new X500Name(pki.intermediate.getSubjectX500Principal().getName()), pki.intermediateKey.getPrivate(),
                NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(10)), false, List.of());
        CertBundle b = new CertBundle(kp, List.of(noSan, pki.intermediate));
        assertTrue(rejects(b, List.of("app.example.test"), NOW).contains("does not cover"), "the CN alone does not count");
    }

    @Test
    void rejectsNotYetValidAndExpired() {
        CertBundle future = pki.bundle(KeyType.EC_P256, NOW.plus(Duration.ofHours(1)), NOW.plus(Duration.ofDays(90)), "app.example.test");
        assertTrue(rejects(future, List.of("app.example.test"), NOW).contains("not valid yet"));
        CertBundle expired = pki.bundle(KeyType.EC_P256, NOW.minus(Duration.ofDays(90)), NOW.minusSeconds(1), "app.example.test");
        assertTrue(rejects(expired, List.of("app.example.test"), NOW).contains("expired"));
        // the boundaries: valid from notBefore inclusive, expired at notAfter (the Date has second precision)
        CertBundle exact = pki.bundle(KeyType.EC_P256, NOW, NOW.plus(Duration.ofDays(1)), "app.example.test");
        assertDoesNotThrow(() -> ChainVerifier.verify(exact, List.of("app.example.test"), NOW));
        assertTrue(rejects(exact, List.of("app.example.test"), NOW.plus(Duration.ofDays(1))).contains("expired"));
    }

    @Test
    void rejectsAnOutOfOrderChain() {
        CertBundle b = pki.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle shuffled = new CertBundle(b.keyPair(), List.of(b.leaf(), pki.root, pki.intermediate));
        assertTrue(rejects(shuffled, List.of("app.example.test"), NOW).contains("out of order at position 0"));
        CertBundle duplicated = new CertBundle(b.keyPair(), List.of(b.leaf(), pki.intermediate, pki.intermediate));
        assertTrue(rejects(duplicated, List.of("app.example.test"), NOW).contains("position 1"));
    }

    @Test
    void rejectsAChainNotSignedByTheNextCertificate() {
        // Same subject name as the real intermediate, different key: names line up, signature does not.
        KeyPair impostorKey = KeyType.EC_P256.generate();
        X509Certificate impostor = TestPki.cert(new X500Name(pki.intermediate.getSubjectX500Principal().getName()), impostorKey.getPublic(),
                new X500Name("CN=Test Root"), pki.rootKey.getPrivate(), NOW.minus(Duration.ofDays(1)), NOW.plus(Duration.ofDays(10)), true, List.of());
        CertBundle b = pki.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle forged = new CertBundle(b.keyPair(), List.of(b.leaf(), impostor));
        assertTrue(rejects(forged, List.of("app.example.test"), NOW).contains("not signed by certificate 1"));
        // and an intermediate from another CA with the same name
        TestPki other = new TestPki("Test");
        CertBundle mixed = new CertBundle(b.keyPair(), List.of(b.leaf(), other.intermediate));
        assertTrue(rejects(mixed, List.of("app.example.test"), NOW).contains("not signed"));
    }
}
