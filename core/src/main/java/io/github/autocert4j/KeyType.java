package io.github.autocert4j;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;

/**
 * The kind of private key generated for each certificate.
 *
 * <p>EC P-256 is the default: small, fast to sign with, and accepted by every current client.
 * Choose RSA only for clients that cannot do ECDSA.
 *
 * <pre>{@code
 * AutoCert.builder().keyType(KeyType.RSA_2048) ...
 * }</pre>
 */
public enum KeyType {
    /** ECDSA on NIST P-256 (secp256r1). The default. */
    EC_P256("EC", "secp256r1", 256),
    /** ECDSA on NIST P-384 (secp384r1). */
    EC_P384("EC", "secp384r1", 384),
    /** RSA, 2048-bit modulus. */
    RSA_2048("RSA", null, 2048),
    /** RSA, 3072-bit modulus. */
    RSA_3072("RSA", null, 3072),
    /** RSA, 4096-bit modulus. */
    RSA_4096("RSA", null, 4096);

    private final String algorithm;
    private final String curve;
    private final int bits;

    KeyType(String algorithm, String curve, int bits) {
        this.algorithm = algorithm;
        this.curve = curve;
        this.bits = bits;
    }

    /** The JCA algorithm name of keys of this type: {@code "EC"} or {@code "RSA"}. */
    public String algorithm() {
        return algorithm;
    }

    /** Generates a fresh key pair of this type. */
    public KeyPair generate() {
        try {
            KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
            if (curve != null) {
                generator.initialize(new ECGenParameterSpec(curve));
            } else {
                generator.initialize(bits);
            }
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM cannot generate " + this + " keys", e);
        }
    }
}
