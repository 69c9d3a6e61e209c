package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.Pem;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.Signature;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import java.security.KeyStore;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class PemTest {

    private static final ChainVerifierTest.TestPki PKI = new ChainVerifierTest.TestPki("Pem");

    private static void assertSameKeyPair(KeyPair expected, KeyPair actual) throws Exception {
        assertArrayEquals(expected.getPrivate().getEncoded(), actual.getPrivate().getEncoded());
        assertArrayEquals(expected.getPublic().getEncoded(), actual.getPublic().getEncoded());
        // and the pair still works together
        String alg = actual.getPrivate().getAlgorithm().equals("EC") ? "SHA256withECDSA" : "SHA256withRSA";
        Signature s = Signature.getInstance(alg);
        s.initSign(actual.getPrivate());
        s.update(new byte[] {1, 2, 3});
        byte[] sig = s.sign();
        Signature v = Signature.getInstance(alg);
        v.initVerify(actual.getPublic());
        v.update(new byte[] {1, 2, 3});
        assertTrue(v.verify(sig));
    }

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void bundleRoundTrip(KeyType type) throws Exception {
        CertBundle original = PKI.bundle(type, "app.example.test", "www.example.test");
        byte[] pem = Pem.encodeBundle(original.keyPair(), original.chain());
        String text = new String(pem, StandardCharsets.US_ASCII);
        assertTrue(text.startsWith("-----BEGIN PRIVATE KEY-----"), "PKCS#8 key first, as HAProxy/openssl read it");
        assertEquals(2, text.split("-----BEGIN CERTIFICATE-----", -1).length - 1);
        assertFalse(text.contains("PUBLIC KEY"), "with a chain the public key comes from the leaf");

        CertBundle decoded = Pem.decodeBundle(pem);
        assertEquals(original.chain(), decoded.chain());
        assertSameKeyPair(original.keyPair(), decoded.keyPair());
        String jdk = type.algorithm();
        assertEquals(jdk, decoded.keyPair().getPrivate().getAlgorithm(), "JSSE refuses BouncyCastle's ECDSA keys");
        assertEquals(jdk, decoded.keyPair().getPublic().getAlgorithm());
        assertEquals(List.of("app.example.test", "www.example.test"), decoded.names());
        // the decoded pair is usable by JSSE key material
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("k", decoded.keyPair().getPrivate(), new char[0], decoded.chain().toArray(new X509Certificate[0]));
        KeyManagerFactory.getInstance("SunX509").init(ks, new char[0]);
    }

    @ParameterizedTest
    @EnumSource(value = KeyType.class, names = {"EC_P256", "EC_P384", "RSA_2048"})
    void keyPairOnlyRoundTrip(KeyType type) throws Exception {
        KeyPair kp = type.generate();
        byte[] pem = Pem.encodeKeyPair(kp);
        String text = new String(pem, StandardCharsets.US_ASCII);
        assertTrue(text.contains("-----BEGIN PRIVATE KEY-----"));
        assertTrue(text.contains("-----BEGIN PUBLIC KEY-----"));
        KeyPair decoded = Pem.decodeKeyPair(pem);
        assertSameKeyPair(kp, decoded);
        assertEquals(type.algorithm(), decoded.getPrivate().getAlgorithm());
        assertTrue(Pem.decodeBundle(pem).chain().isEmpty());
    }

    @Test
    void certificatesRoundTrip() throws Exception {
        List<X509Certificate> chain = List.of(PKI.bundle(KeyType.EC_P256, "a.example.test").leaf(), PKI.intermediate, PKI.root);
        assertEquals(chain, Pem.decodeCertificates(Pem.encodeCertificates(chain)));
        assertEquals(List.of(), Pem.decodeCertificates(Pem.encodeCertificates(List.of())));
        // a bundle read as certificates skips the key
        CertBundle b = PKI.bundle(KeyType.EC_P256, "b.example.test");
        assertEquals(b.chain(), Pem.decodeCertificates(Pem.encodeBundle(b.keyPair(), b.chain())));
    }

    @Test
    void keyWithoutCertificateOrPublicKeyIsRejected() throws Exception {
        KeyPair kp = KeyType.EC_P256.generate();
        String text = new String(Pem.encodeKeyPair(kp), StandardCharsets.US_ASCII);
        String keyOnly = text.substring(0, text.indexOf("-----BEGIN PUBLIC KEY-----"));
        IOException e = assertThrows(IOException.class, () -> Pem.decodeBundle(keyOnly.getBytes(StandardCharsets.US_ASCII)));
        assertTrue(e.getMessage().contains("public key"), e.getMessage());
    }

    @Test
    void certificatesWithoutKeyAreRejectedAsBundle() {
        byte[] certs = Pem.encodeCertificates(List.of(PKI.intermediate));
        IOException e = assertThrows(IOException.class, () -> Pem.decodeBundle(certs));
        assertTrue(e.getMessage().contains("no private key"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "",
            "garbage",
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n",
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n",
            "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n-----END CERTIFICATE REQUEST-----\n",
    })
    void garbageIsAnIOException(String input) {
        assertThrows(IOException.class, () -> Pem.decodeBundle(input.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void truncatedFileIsAnIOException() throws Exception {
        CertBundle b = PKI.bundle(KeyType.EC_P256, "c.example.test");
        String text = new String(Pem.encodeBundle(b.keyPair(), b.chain()), StandardCharsets.US_ASCII);
        for (int cut : new int[] {text.length() / 4, text.length() / 2, text.length() - 30}) {
            String truncated = text.substring(0, cut);
            assertThrows(IOException.class, () -> Pem.decodeBundle(truncated.getBytes(StandardCharsets.US_ASCII)), "cut at " + cut);
        }
    }

    /**
     * BUG Pem.decodeBundle / decodeCertificates: invalid base64 inside a PEM block makes BouncyCastle
     * throw org.bouncycastle.util.encoders.DecoderException (a RuntimeException) out of
     * PEMParser.readObject(); it is not wrapped as IOException. User-visible effect: build() with a
     * corrupted acmeServerTrust PEM throws that raw DecoderException instead of the listed
     * "acmeServerTrust: ..." error (Builder.trustFrom catches only IOException|GeneralSecurityException).
     * Fix: in both decode methods also catch RuntimeException around the parse loop and rethrow
     * new IOException("malformed PEM: " + e.getMessage(), e).
     */
    @Test
    void corruptedBase64IsAnIOException() throws Exception {
        CertBundle b = PKI.bundle(KeyType.EC_P256, "c.example.test");
        String text = new String(Pem.encodeBundle(b.keyPair(), b.chain()), StandardCharsets.US_ASCII);
        int start = text.indexOf('\n') + 5;
        String broken = text.substring(0, start) + "!!!!" + text.substring(start + 4);
        assertThrows(IOException.class, () -> Pem.decodeBundle(broken.getBytes(StandardCharsets.US_ASCII)));
        assertThrows(IOException.class, () -> Pem.decodeCertificates(broken.getBytes(StandardCharsets.US_ASCII)));
    }

    @Test
    void unsupportedKeyAlgorithmIsAnIOException() throws Exception {
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("Ed25519");
        KeyPair ed = g.generateKeyPair();
        byte[] pem = Pem.encodeKeyPair(ed);
        IOException e = assertThrows(IOException.class, () -> Pem.decodeBundle(pem));
        assertTrue(e.getMessage().contains("unsupported key algorithm"), e.getMessage());
    }

    @Test
    void bouncyCastleEcdsaKeysComeBackAsJdkEcKeys() throws Exception {
        // A key written by BouncyCastle ("ECDSA" algorithm, openssl's traditional "BEGIN EC PRIVATE KEY" format,
        // which carries its public key) is read back as a JDK "EC" key, usable by JSSE.
        java.security.KeyPairGenerator g = java.security.KeyPairGenerator.getInstance("ECDSA", new org.bouncycastle.jce.provider.BouncyCastleProvider());
        g.initialize(new java.security.spec.ECGenParameterSpec("secp256r1"));
        KeyPair kp = g.generateKeyPair();
        assertEquals("ECDSA", kp.getPrivate().getAlgorithm());
        java.io.StringWriter out = new java.io.StringWriter();
        try (org.bouncycastle.openssl.jcajce.JcaPEMWriter w = new org.bouncycastle.openssl.jcajce.JcaPEMWriter(out)) {
            w.writeObject(kp.getPrivate());
        }
        assertTrue(out.toString().contains("BEGIN EC PRIVATE KEY"));
        KeyPair decoded = Pem.decodeKeyPair(out.toString().getBytes(StandardCharsets.US_ASCII));
        assertEquals("EC", decoded.getPrivate().getAlgorithm());
        assertEquals("EC", decoded.getPublic().getAlgorithm());
        assertArrayEquals(kp.getPublic().getEncoded(), decoded.getPublic().getEncoded());
        // PKCS#8 from the same BC key
        byte[] pkcs8 = Pem.encodeKeyPair(kp);
        assertEquals("EC", Pem.decodeKeyPair(pkcs8).getPrivate().getAlgorithm());
    }

    @Test
    void bundleToStringHasNoKeyMaterial() {
        CertBundle b = PKI.bundle(KeyType.EC_P256, "d.example.test");
        String s = b.toString();
        assertTrue(s.contains("d.example.test"), s);
        assertFalse(s.contains("PRIVATE"), s);
        assertFalse(s.toLowerCase().contains("key"), s);
    }
}
