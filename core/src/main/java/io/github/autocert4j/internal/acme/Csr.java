package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.crypto.Der;
import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Signature;
import java.util.List;

/**
 * The PKCS#10 request an issuer gets instead of the private key: every name as a subjectAltName
 * (DNS names, and IP addresses as iPAddress entries), the first DNS name as the common name.
 *
 * <p>Written with the JDK alone (DER by {@link Der}, the signature by {@link Signature}), byte for
 * byte what BouncyCastle's {@code JcaPKCS10CertificationRequestBuilder} wrote before (CsrTest
 * compares them): loading BouncyCastle on the path to the first certificate cost a cold start about
 * a third of a second (issue 23).
 */
public final class Csr {
    private static final String CN = "2.5.4.3";
    private static final String EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
    private static final String SUBJECT_ALT_NAME = "2.5.29.17";
    private static final String SHA256_WITH_ECDSA = "1.2.840.10045.4.3.2";
    private static final String SHA256_WITH_RSA = "1.2.840.113549.1.1.11";

    private Csr() {
    }

    public static byte[] create(List<String> names, KeyPair key) {
        try {
            String cn = names.stream().filter(n -> !Names.isIpAddress(n)).findFirst().orElse(null);
            byte[] subject = cn == null ? Der.sequence()
                    : Der.sequence(Der.set(Der.sequence(Der.oid(CN), Der.utf8String(cn))));
            byte[][] sans = new byte[names.size()][];
            for (int i = 0; i < sans.length; i++) {
                String n = names.get(i);
                sans[i] = Names.isIpAddress(n)
                        ? Der.tlv(0x87, InetAddress.getByName(n).getAddress()) // [7] iPAddress
                        : Der.tlv(0x82, n.getBytes(StandardCharsets.US_ASCII)); // [2] dNSName
            }
            byte[] extensions = Der.sequence(Der.sequence(Der.oid(SUBJECT_ALT_NAME), Der.octetString(Der.sequence(sans))));
            byte[] attributes = Der.tlv(0xa0, Der.sequence(Der.oid(EXTENSION_REQUEST), Der.set(extensions))); // [0] IMPLICIT SET
            byte[] info = Der.sequence(Der.smallInteger(0), subject, key.getPublic().getEncoded(), attributes);
            boolean ec = "EC".equals(key.getPrivate().getAlgorithm());
            Signature signer = Signature.getInstance(ec ? "SHA256withECDSA" : "SHA256withRSA");
            signer.initSign(key.getPrivate());
            signer.update(info);
            byte[] algorithm = ec ? Der.sequence(Der.oid(SHA256_WITH_ECDSA)) : Der.sequence(Der.oid(SHA256_WITH_RSA), Der.nullValue());
            return Der.sequence(info, algorithm, Der.bitString(signer.sign()));
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalStateException("cannot create the certificate signing request", e);
        }
    }
}
