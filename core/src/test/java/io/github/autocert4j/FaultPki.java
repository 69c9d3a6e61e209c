package io.github.autocert4j;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Throw-away PKI for the fault tests: the proxy's TLS identity and forged "CA answers". */
final class FaultPki {
    private static final SecureRandom RANDOM = new SecureRandom();

    final KeyPair caKey = ecKey();
    final X509Certificate ca;

    FaultPki(String cn) {
        Instant now = Instant.now();
        ca = sign(new JcaX509v3CertificateBuilder(new X500Name("CN=" + cn), serial(), Date.from(now.minusSeconds(3600)),
                Date.from(now.plusSeconds(86_400 * 30L)), new X500Name("CN=" + cn), caKey.getPublic()), true, null);
    }

    static KeyPair ecKey() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A leaf for {@code key} naming {@code dnsNames} (an IP literal becomes an iPAddress SAN), signed by this CA. */
    X509Certificate leaf(PublicKey key, Instant notBefore, Instant notAfter, String... names) {
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca, serial(), Date.from(notBefore), Date.from(notAfter),
                new X500Name("CN=" + names[0]), key);
        List<GeneralName> sans = new ArrayList<>();
        for (String n : names) {
            sans.add(new GeneralName(n.matches("[0-9.]+") ? GeneralName.iPAddress : GeneralName.dNSName, n));
        }
        return sign(b, false, new GeneralNames(sans.toArray(new GeneralName[0])));
    }

    private X509Certificate sign(X509v3CertificateBuilder b, boolean isCa, GeneralNames sans) {
        try {
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(isCa));
            if (sans != null) {
                b.addExtension(Extension.subjectAlternativeName, false, sans);
            }
            return new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(caKey.getPrivate())));
        } catch (Exception e) {
            throw new IllegalStateException("cannot sign test certificate", e);
        }
    }

    /** A server SSLContext for 127.0.0.1 signed by this CA. */
    SSLContext serverContext() {
        try {
            KeyPair kp = ecKey();
            Instant now = Instant.now();
            X509Certificate cert = leaf(kp.getPublic(), now.minusSeconds(3600), now.plusSeconds(86_400), "127.0.0.1", "localhost");
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setKeyEntry("proxy", kp.getPrivate(), new char[0], new java.security.cert.Certificate[] {cert, ca});
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, new char[0]);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException(e);
        }
    }

    Path writeCaPem(Path file) throws IOException {
        return Files.writeString(file, pem(List.of(ca)), StandardCharsets.US_ASCII);
    }

    static String pem(List<X509Certificate> certs) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (X509Certificate c : certs) {
                w.writeObject(c);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sw.toString();
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).setBit(62);
    }
}
