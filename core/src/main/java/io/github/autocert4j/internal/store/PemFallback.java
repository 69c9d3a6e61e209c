package io.github.autocert4j.internal.store;

import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

/**
 * What {@link Pem} hands to BouncyCastle: PEM it does not write itself (legacy key formats, blocks
 * with headers, keys without a PKCS#8 encoding). A class of its own so that loading {@link Pem}
 * loads no BouncyCastle class (the JVM verifies a signed jar at its first class: about a third of
 * a second of a cold start, issue 23).
 */
final class PemFallback {
    private PemFallback() {
    }

    static byte[] encodeBundle(KeyPair keyPair, List<X509Certificate> chain) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(keyPair.getPrivate(), null));
            if (chain.isEmpty()) {
                w.writeObject(keyPair.getPublic());
            }
            for (X509Certificate c : chain) {
                w.writeObject(c);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot PEM-encode", e);
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    static CertBundle decodeBundle(byte[] pem) throws IOException {
        PrivateKey privateKey = null;
        PublicKey publicKey = null;
        KeyPair keyPair = null;
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter certs = new JcaX509CertificateConverter();
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof PEMKeyPair kp) {
                    privateKey = privateKey(kp.getPrivateKeyInfo());
                    if (kp.getPublicKeyInfo() != null) {
                        publicKey = publicKey(kp.getPublicKeyInfo());
                    }
                } else if (o instanceof PrivateKeyInfo info) {
                    privateKey = privateKey(info);
                } else if (o instanceof SubjectPublicKeyInfo spki) {
                    publicKey = publicKey(spki);
                } else if (o instanceof X509CertificateHolder holder) {
                    chain.add(certs.getCertificate(holder));
                } else {
                    throw new IOException("unexpected PEM object " + o.getClass().getSimpleName());
                }
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            // BouncyCastle reports bad base64 or DER with unchecked exceptions: callers expect IOException.
            throw new IOException("malformed PEM (bad key or certificate): " + e.getClass().getSimpleName(), e);
        }
        if (keyPair == null && privateKey != null && publicKey != null) {
            keyPair = new KeyPair(publicKey, privateKey);
        }
        if (keyPair == null && privateKey != null) {
            if (chain.isEmpty()) {
                throw new IOException("PKCS#8 private key without a certificate: cannot derive its public key");
            }
            keyPair = new KeyPair(chain.get(0).getPublicKey(), privateKey);
        }
        if (keyPair == null) {
            throw new IOException("no private key in PEM");
        }
        return new CertBundle(keyPair, chain);
    }

    // Keys are rebuilt with the JDK's own KeyFactory ("EC"/"RSA"): JSSE refuses BouncyCastle's "ECDSA" keys for TLS.
    private static PrivateKey privateKey(PrivateKeyInfo info) throws IOException, GeneralSecurityException {
        return KeyFactory.getInstance(jdkAlgorithm(info.getPrivateKeyAlgorithm().getAlgorithm()))
                .generatePrivate(new PKCS8EncodedKeySpec(info.getEncoded()));
    }

    private static PublicKey publicKey(SubjectPublicKeyInfo info) throws IOException, GeneralSecurityException {
        return KeyFactory.getInstance(jdkAlgorithm(info.getAlgorithm().getAlgorithm()))
                .generatePublic(new X509EncodedKeySpec(info.getEncoded()));
    }

    private static String jdkAlgorithm(ASN1ObjectIdentifier oid) throws IOException {
        if (X9ObjectIdentifiers.id_ecPublicKey.equals(oid)) {
            return "EC";
        }
        if (PKCSObjectIdentifiers.rsaEncryption.equals(oid)) {
            return "RSA";
        }
        throw new IOException("unsupported key algorithm " + oid + ": autocert4j stores EC and RSA keys");
    }

    /** The former parser, for blocks with RFC 1421 headers ("Name: value" lines), which BouncyCastle skips. */
    static List<X509Certificate> decodeCertificates(byte[] pem) throws IOException {
        List<X509Certificate> chain = new ArrayList<>();
        JcaX509CertificateConverter certs = new JcaX509CertificateConverter();
        try (PEMParser parser = new PEMParser(new StringReader(new String(pem, StandardCharsets.US_ASCII)))) {
            Object o;
            while ((o = parser.readObject()) != null) {
                if (o instanceof X509CertificateHolder holder) {
                    chain.add(certs.getCertificate(holder));
                }
            }
        } catch (CertificateException | RuntimeException e) {
            throw new IOException("malformed PEM (bad certificate): " + e.getClass().getSimpleName(), e);
        }
        return chain;
    }
}
