package io.github.autocert4j.testkit;

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
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.List;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** Throw-away ECDSA P-256 certificates for tests (BouncyCastle builders, JDK crypto providers). */
final class TestCerts {

    private static final SecureRandom RANDOM = new SecureRandom();

    private TestCerts() {
    }

    /** A key pair plus its certificate (and the chain up to, but excluding, the root). */
    record Issued(KeyPair keyPair, X509Certificate certificate, List<X509Certificate> chain) {
        PrivateKey privateKey() {
            return keyPair.getPrivate();
        }
    }

    static KeyPair newKeyPair() {
        try {
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
            return g.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A self-signed CA certificate valid from one hour ago for {@code validity}. */
    static Issued newRoot(String commonName, Duration validity) {
        Instant now = Instant.now();
        return newRoot(commonName, now.minus(Duration.ofHours(1)), now.plus(validity));
    }

    /** A self-signed CA certificate valid from {@code notBefore} to {@code notAfter}. */
    static Issued newRoot(String commonName, Instant notBefore, Instant notAfter) {
        KeyPair kp = newKeyPair();
        try {
            X500Name name = new X500Name("CN=" + commonName);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, serial(),
                    Date.from(notBefore), Date.from(notAfter), name, kp.getPublic())
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            X509Certificate cert = sign(b, kp.getPrivate());
            return new Issued(kp, cert, List.of(cert));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot create test root", e);
        }
    }

    /**
     * A TLS server certificate signed by {@code issuer}. Each name that parses as an IP literal becomes an
     * iPAddress SAN, every other name a dNSName SAN; the first name is also the CN.
     */
    static Issued newServerCert(Issued issuer, Duration validity, String... names) {
        Instant now = Instant.now();
        return newServerCert(issuer, now.minus(Duration.ofHours(1)), now.plus(validity), names);
    }

    /**
     * A TLS server certificate valid from {@code notBefore} to {@code notAfter}, signed by {@code issuer}, or
     * self-signed if {@code issuer} is null; names as in {@link #newServerCert(Issued, Duration, String...)}.
     */
    static Issued newServerCert(Issued issuer, Instant notBefore, Instant notAfter, String... names) {
        KeyPair kp = newKeyPair();
        try {
            List<GeneralName> sans = new ArrayList<>();
            for (String n : names) {
                sans.add(new GeneralName(isIpLiteral(n) ? GeneralName.iPAddress : GeneralName.dNSName, n));
            }
            X500Name subject = new X500Name("CN=" + names[0]);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            X509v3CertificateBuilder b = (issuer == null
                    ? new JcaX509v3CertificateBuilder(subject, serial(), Date.from(notBefore), Date.from(notAfter), subject, kp.getPublic())
                    : new JcaX509v3CertificateBuilder(issuer.certificate(), serial(), Date.from(notBefore), Date.from(notAfter),
                            subject, kp.getPublic()))
                    .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                    .addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature))
                    .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(KeyPurposeId.id_kp_serverAuth))
                    .addExtension(Extension.subjectAlternativeName, false,
                            new GeneralNames(sans.toArray(new GeneralName[0])))
                    .addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(kp.getPublic()));
            if (issuer == null) {
                X509Certificate cert = sign(b, kp.getPrivate());
                return new Issued(kp, cert, List.of(cert));
            }
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer.certificate()));
            X509Certificate cert = sign(b, issuer.privateKey());
            List<X509Certificate> chain = new ArrayList<>();
            chain.add(cert);
            if (issuer.certificate().getBasicConstraints() >= 0
                    && !issuer.certificate().getSubjectX500Principal().equals(issuer.certificate().getIssuerX500Principal())) {
                chain.addAll(issuer.chain());
            }
            return new Issued(kp, cert, List.copyOf(chain));
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot create test server certificate", e);
        }
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key)
            throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static BigInteger serial() {
        return new BigInteger(64, RANDOM).setBit(62);
    }

    static boolean isIpLiteral(String s) {
        return s.matches("\\d{1,3}(\\.\\d{1,3}){3}") || (s.contains(":") && s.matches("[0-9a-fA-F:.]+"));
    }

    static String pem(Object... objects) {
        StringWriter sw = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(sw)) {
            for (Object o : objects) {
                if (o instanceof PrivateKey k) {
                    w.writeObject(new JcaPKCS8Generator(k, null));
                } else {
                    w.writeObject(o);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sw.toString();
    }

    static Path writePem(Path file, Object... objects) throws IOException {
        return Files.writeString(file, pem(objects), StandardCharsets.US_ASCII);
    }

    static List<X509Certificate> parseCertificates(byte[] pem) {
        try {
            Collection<? extends java.security.cert.Certificate> certs = CertificateFactory.getInstance("X.509")
                    .generateCertificates(new java.io.ByteArrayInputStream(pem));
            List<X509Certificate> out = new ArrayList<>();
            for (java.security.cert.Certificate c : certs) {
                out.add((X509Certificate) c);
            }
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("cannot parse PEM certificates", e);
        }
    }

    /** A fresh SSLContext whose only trust anchor is {@code root} (PKIX, no revocation checks). */
    static SSLContext trustingOnly(X509Certificate root) {
        return trustingOnly(root, null);
    }

    /** As {@link #trustingOnly(X509Certificate)}, with {@code keyManagers} (null: none) for the client's own certificate. */
    static SSLContext trustingOnly(X509Certificate root, KeyManager[] keyManagers) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("root", root);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(keyManagers, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build SSLContext", e);
        }
    }

    /** A server-side SSLContext presenting {@code issued} (leaf + chain). */
    static SSLContext serverContext(Issued issued) {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            char[] pw = "changeit".toCharArray();
            ks.setKeyEntry("server", issued.privateKey(), pw, issued.chain().toArray(new X509Certificate[0]));
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, pw);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(kmf.getKeyManagers(), null, null);
            return ctx;
        } catch (GeneralSecurityException | IOException e) {
            throw new IllegalStateException("cannot build server SSLContext", e);
        }
    }
}
