package io.github.autocert4j.testdoubles;

import io.github.autocert4j.Issuer;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * An in-memory CA behind the public {@link Issuer} SPI: an EC P-256 root (valid 30 days) that signs
 * the CSR's public key directly, leaves valid for {@code validity}. Shared by the adapters' tests
 * through core's test-jar (the one copy of what the Netty and servlet tests each wrote).
 */
public final class InMemoryCa implements Issuer {
    /** The root's key pair. */
    public final KeyPair key;
    /** The self-signed root every leaf chains to. */
    public final X509Certificate root;
    private final String id;
    private final Duration validity;

    /** A CA with issuer id {@code id} whose leaves are valid for {@code validity}. */
    public InMemoryCa(String id, Duration validity) throws Exception {
        this.id = id;
        this.validity = validity;
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        key = g.generateKeyPair();
        X500Name name = new X500Name("CN=" + id);
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(30))),
                name, key.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        root = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
    }

    /** Writes the root as PEM (for {@code openssl s_client -CAfile}); returns {@code file}. */
    public Path writeRoot(Path file) throws Exception {
        Files.writeString(file, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(root.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        return file;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public Result issue(Request r) {
        try {
            Instant now = Instant.now();
            var b = new JcaX509v3CertificateBuilder(root, BigInteger.valueOf(System.nanoTime()), Date.from(now.minusSeconds(60)),
                    Date.from(now.plus(validity)), new X500Name("CN=" + r.names().get(0)), r.publicKey());
            b.addExtension(Extension.subjectAlternativeName, false,
                    new GeneralNames(r.names().stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
            X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
                    b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
            return new Result(List.of(leaf), null);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public String toString() {
        return "InMemoryCa[" + id + "]";
    }
}
