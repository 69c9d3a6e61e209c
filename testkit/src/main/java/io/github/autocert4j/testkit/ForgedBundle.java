package io.github.autocert4j.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * What an attacker with write access to a store plants (issue 20): a certificate bundle for a
 * managed name, in the store's bundle format (PKCS#8 key, then the chain), from the attacker's own
 * CA ({@link #withOwnCa}: the chain's signatures link, only the issuer is not the real CA's) or
 * self-signed ({@link #selfSigned}). A client that trusts {@link #trustAnchor()} accepts it.
 *
 * @param key the planted certificate's key pair
 * @param chain leaf first (and the attacker's CA, if any)
 */
public record ForgedBundle(KeyPair key, List<X509Certificate> chain) {
    private static final SecureRandom RANDOM = new SecureRandom();

    /** Copies the chain. */
    public ForgedBundle {
        chain = List.copyOf(chain);
    }

    /** A leaf for {@code name} valid from a minute ago for 90 days, signed by a fresh CA named like a real one. */
    public static ForgedBundle withOwnCa(String name, String caName) {
        KeyPair caKey = ecKey();
        Instant now = Instant.now();
        X509Certificate ca = sign(new JcaX509v3CertificateBuilder(new X500Name("CN=" + caName), serial(), Date.from(now.minus(Duration.ofDays(1))),
                Date.from(now.plus(Duration.ofDays(365))), new X500Name("CN=" + caName), caKey.getPublic()), caKey, true, null);
        KeyPair leafKey = ecKey();
        X509Certificate leaf = sign(new JcaX509v3CertificateBuilder(ca, serial(), Date.from(now.minusSeconds(60)), Date.from(now.plus(Duration.ofDays(90))),
                new X500Name("CN=" + name), leafKey.getPublic()), caKey, false, name);
        return new ForgedBundle(leafKey, List.of(leaf, ca));
    }

    /** A self-signed leaf for {@code name} valid from a minute ago for 90 days. */
    public static ForgedBundle selfSigned(String name) {
        KeyPair key = ecKey();
        Instant now = Instant.now();
        X500Name subject = new X500Name("CN=" + name);
        X509Certificate leaf = sign(new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minusSeconds(60)),
                Date.from(now.plus(Duration.ofDays(90))), subject, key.getPublic()), key, false, name);
        return new ForgedBundle(key, List.of(leaf));
    }

    /** The certificate a client must trust to accept the forged leaf: the attacker's CA, or the self-signed leaf. */
    public X509Certificate trustAnchor() {
        return chain.get(chain.size() - 1);
    }

    public X509Certificate leaf() {
        return chain.get(0);
    }

    /** The bundle as the library stores it ({@code certs/<name>/<name>.pem}). */
    public byte[] pem() {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(key.getPrivate(), null));
            for (X509Certificate c : chain) {
                w.writeObject(c);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot PEM-encode", e);
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * Metadata claiming the forged bundle was issued by {@code issuerId} just now
     * ({@code certs/<name>/<name>.properties}), so every adoption rule but verification would take it.
     */
    public byte[] meta(String issuerId) {
        String text = "names=" + san(leaf()) + "\nissuer=" + issuerId + "\nissuedAt=" + Instant.now() + "\nserial="
                + leaf().getSerialNumber().toString(16) + "\n";
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static String san(X509Certificate c) {
        try {
            return String.valueOf(c.getSubjectAlternativeNames().iterator().next().get(1));
        } catch (java.security.cert.CertificateParsingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer, boolean isCa, String dnsName) {
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            if (dnsName != null) {
                b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(new GeneralName(GeneralName.dNSName, dnsName)));
            }
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign a forged test certificate", e);
        }
    }

    private static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).add(BigInteger.ONE);
    }
}
