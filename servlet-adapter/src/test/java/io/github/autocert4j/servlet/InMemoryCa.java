package io.github.autocert4j.servlet;

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

import io.github.autocert4j.Issuer;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** An in-memory CA behind the public Issuer SPI: signs the CSR's public key, certificates valid for {@code validity}. */
final class InMemoryCa implements Issuer {
    final KeyPair key;
    final X509Certificate root;
    private final Duration validity;

    InMemoryCa(Duration validity) throws Exception {
        this.validity = validity;
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"));
        key = g.generateKeyPair();
        X500Name name = new X500Name("CN=servlet session test CA");
        Instant now = Instant.now();
        var b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(30))),
                name, key.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
        root = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
    }

    /** Writes the root as PEM (for openssl s_client -CAfile). */
    Path writeRoot(Path file) throws Exception {
        Files.writeString(file, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(root.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        return file;
    }

    @Override
    public String id() {
        return "servlet-session-test-ca";
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
}
