package io.github.autocert4j.internal.store;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;

import io.github.autocert4j.internal.crypto.Der;

/** PEM encoding of keys, chains and bundles (key followed by chain, as HAProxy and openssl read them). */
public final class Pem {
    private Pem() {
    }

    /** PKCS#8 private key, then the chain (or, without a chain, the public key). */
    public static byte[] encodeBundle(KeyPair keyPair, List<X509Certificate> chain) {
        PrivateKey key = keyPair.getPrivate();
        if (!"PKCS#8".equals(key.getFormat()) || key.getEncoded() == null) {
            return PemFallback.encodeBundle(keyPair, chain); // e.g. a provider's key with its own encoding
        }
        StringBuilder out = new StringBuilder();
        block(out, "PRIVATE KEY", key.getEncoded());
        if (chain.isEmpty()) {
            block(out, "PUBLIC KEY", keyPair.getPublic().getEncoded());
        }
        appendCertificates(out, chain);
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    public static byte[] encodeKeyPair(KeyPair keyPair) {
        return encodeBundle(keyPair, List.of());
    }

    public static byte[] encodeCertificates(List<X509Certificate> chain) {
        StringBuilder out = new StringBuilder();
        appendCertificates(out, chain);
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void appendCertificates(StringBuilder out, List<X509Certificate> chain) {
        for (X509Certificate c : chain) {
            try {
                block(out, "CERTIFICATE", c.getEncoded());
            } catch (CertificateEncodingException e) {
                throw new IllegalStateException("cannot PEM-encode", e);
            }
        }
    }

    /**
     * One PEM block exactly as BouncyCastle's {@code PemWriter} writes it (64 base64 characters a
     * line, the platform's line separator), so stored files do not change with this JDK-only path.
     */
    private static void block(StringBuilder out, String type, byte[] der) {
        String nl = System.lineSeparator();
        out.append("-----BEGIN ").append(type).append("-----").append(nl);
        String b64 = Base64.getEncoder().encodeToString(der);
        for (int i = 0; i < b64.length(); i += 64) {
            out.append(b64, i, Math.min(b64.length(), i + 64)).append(nl);
        }
        out.append("-----END ").append(type).append("-----").append(nl);
    }

    /** Parses a key (with or without certificates). The public key comes from the PEM or, if absent, the leaf. */
    public static CertBundle decodeBundle(byte[] pem) throws IOException {
        CertBundle fast = decodeOwnBundle(pem);
        return fast != null ? fast : PemFallback.decodeBundle(pem);
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
                    case "PRIVATE KEY" -> {
                        String algorithm = jdkAlgorithm(Der.keyAlgorithm(der, true));
                        if (algorithm == null) {
                            return null; // the general parser reports it
                        }
                        privateKey = KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
                    }
                    case "PUBLIC KEY" -> {
                        String algorithm = jdkAlgorithm(Der.keyAlgorithm(der, false));
                        if (algorithm == null) {
                            return null;
                        }
                        publicKey = KeyFactory.getInstance(algorithm).generatePublic(new X509EncodedKeySpec(der));
                    }
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



    private static final byte[] EC_PUBLIC_KEY = Der.oid("1.2.840.10045.2.1");
    private static final byte[] RSA_ENCRYPTION = Der.oid("1.2.840.113549.1.1.1");

    /** "EC" or "RSA" for the encoded algorithm identifier's OID, null for anything else (or null). */
    private static String jdkAlgorithm(byte[] oid) {
        return oid == null ? null : Arrays.equals(oid, EC_PUBLIC_KEY) ? "EC" : Arrays.equals(oid, RSA_ENCRYPTION) ? "RSA" : null;
    }

    public static KeyPair decodeKeyPair(byte[] pem) throws IOException {
        return decodeBundle(pem).keyPair();
    }

    /**
     * The certificates in {@code pem}, in order; other blocks are skipped. A file of certificates
     * alone is parsed by the JDK (no BouncyCastle on the path to the first certificate: the ACME
     * server trust is read with it in {@code build()}); anything else by BouncyCastle, as before.
     */
    public static List<X509Certificate> decodeCertificates(byte[] pem) throws IOException {
        String text = new String(pem, StandardCharsets.US_ASCII);
        List<X509Certificate> chain = new ArrayList<>();
        try {
            CertificateFactory factory = null;
            int at = 0;
            while (true) {
                int begin = text.indexOf("-----BEGIN ", at);
                if (begin < 0) {
                    break;
                }
                int typeEnd = text.indexOf("-----", begin + 11);
                if (typeEnd < 0) {
                    throw new IOException("malformed PEM (a BEGIN line without its closing dashes)");
                }
                String type = text.substring(begin + 11, typeEnd);
                String endMarker = "-----END " + type + "-----";
                int end = text.indexOf(endMarker, typeEnd + 5);
                if (end < 0) {
                    throw new IOException("malformed PEM (" + endMarker + " not found)");
                }
                String body = text.substring(typeEnd + 5, end);
                if (!type.equals("CERTIFICATE") || !plainBase64(body)) {
                    // Other blocks (which BouncyCastle parses, and rejects if malformed), RFC 1421 headers, stray characters: as before.
                    return PemFallback.decodeCertificates(pem);
                }
                factory = factory != null ? factory : CertificateFactory.getInstance("X.509");
                byte[] der = Base64.getMimeDecoder().decode(body);
                chain.add((X509Certificate) factory.generateCertificate(new ByteArrayInputStream(der)));
                at = end + endMarker.length();
            }
        } catch (CertificateException | RuntimeException e) {
            throw new IOException("malformed PEM (bad certificate): " + e.getClass().getSimpleName(), e);
        }
        return chain;
    }

    /** Whether {@code body} has nothing but base64 characters, padding and line breaks. */
    private static boolean plainBase64(String body) {
        for (int i = 0; i < body.length(); i++) {
            char c = body.charAt(i);
            if (!(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
                    || c == '\r' || c == '\n' || c == ' ' || c == '\t')) {
                return false;
            }
        }
        return true;
    }
}
