package io.github.autocert4j.internal.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
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

/** PEM encoding of keys, chains and bundles (key followed by chain, as HAProxy and openssl read them). */
public final class Pem {
    private Pem() {
    }

    /** PKCS#8 private key, then the chain (or, without a chain, the public key). */
    public static byte[] encodeBundle(KeyPair keyPair, List<X509Certificate> chain) {
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

    public static byte[] encodeKeyPair(KeyPair keyPair) {
        return encodeBundle(keyPair, List.of());
    }

    public static byte[] encodeCertificates(List<X509Certificate> chain) {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            for (X509Certificate c : chain) {
                w.writeObject(c);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot PEM-encode", e);
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /** Parses a key (with or without certificates). The public key comes from the PEM or, if absent, the leaf. */
    public static CertBundle decodeBundle(byte[] pem) throws IOException {
        CertBundle fast = decodeOwnBundle(pem);
        return fast != null ? fast : decodeAnyBundle(pem);
    }

    /**
     * The fast path for what {@link #encodeBundle} writes (PKCS#8 key, then certificates or a
     * public key): plain base64 and the JDK's own parsers, several times faster than BouncyCastle's
     * PEMParser, which matters when a server loads thousands of certificates at start-up. The JDK's
     * CertificateFactory also shares one parsed copy of a repeated intermediate. Returns null for
     * anything else (legacy key formats, stray blocks), which the general parser then handles.
     */
    private static CertBundle decodeOwnBundle(byte[] pem) throws IOException {
        String text = new String(pem, StandardCharsets.US_ASCII);
        PrivateKey privateKey = null;
        PublicKey publicKey = null;
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory factory = CertificateFactory.getInstance("X.509");
            int at = 0;
            while (true) {
                int begin = text.indexOf("-----BEGIN ", at);
                if (begin < 0) {
                    break;
                }
                int typeEnd = text.indexOf("-----", begin + 11);
                if (typeEnd < 0) {
                    return null;
                }
                String type = text.substring(begin + 11, typeEnd);
                String endMarker = "-----END " + type + "-----";
                int end = text.indexOf(endMarker, typeEnd + 5);
                if (end < 0) {
                    return null;
                }
                byte[] der = Base64.getMimeDecoder().decode(text.substring(typeEnd + 5, end));
                switch (type) {
                    case "PRIVATE KEY" -> privateKey = privateKey(PrivateKeyInfo.getInstance(der));
                    case "PUBLIC KEY" -> publicKey = publicKey(SubjectPublicKeyInfo.getInstance(der));
                    case "CERTIFICATE" -> chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
                    default -> {
                        return null;
                    }
                }
                at = end + endMarker.length();
            }
        } catch (GeneralSecurityException | RuntimeException e) {
            throw new IOException("malformed PEM (bad key or certificate): " + e.getClass().getSimpleName(), e);
        }
        if (privateKey == null || (publicKey == null && chain.isEmpty())) {
            return null;
        }
        return new CertBundle(new KeyPair(publicKey != null ? publicKey : chain.get(0).getPublicKey(), privateKey), chain);
    }

    private static CertBundle decodeAnyBundle(byte[] pem) throws IOException {
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

    public static KeyPair decodeKeyPair(byte[] pem) throws IOException {
        return decodeBundle(pem).keyPair();
    }

    public static List<X509Certificate> decodeCertificates(byte[] pem) throws IOException {
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
