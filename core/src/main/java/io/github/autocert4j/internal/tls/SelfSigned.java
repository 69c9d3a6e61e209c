package io.github.autocert4j.internal.tls;

import io.github.autocert4j.KeyType;
import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.util.Names;

import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;

import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.CertIOException;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The certificate served before the CA has issued one, so that the host's TLS listener can start
 * at once. Clients will not trust it; it only exists so the port works from the first second.
 */
public final class SelfSigned {
    private SelfSigned() {
    }

    /** What a caller adds to the certificate beyond the names and basic constraints. */
    @FunctionalInterface
    public interface Extensions {
        void addTo(JcaX509v3CertificateBuilder builder) throws CertIOException;
    }

    public static CertBundle create(List<String> names, Instant now) {
        try {
            return build("CN=autocert4j fallback for " + names.get(0).replace(",", ""), names, now, Duration.ofDays(30), b -> { });
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the self-signed fallback certificate", e);
        }
    }

    /**
     * {@link #build} with one more extension, critical, whose value is {@code value} as an OCTET
     * STRING (RFC 8737's acmeIdentifier). Here rather than in the caller so that loading the caller
     * loads no BouncyCastle class (the JVM verifies BouncyCastle's signed jar at its first class).
     */
    public static CertBundle buildWithOctetStringExtension(String subjectName, List<String> names, Instant now, Duration validity,
            String oid, byte[] value) throws GeneralSecurityException, CertIOException, OperatorCreationException {
        return build(subjectName, names, now, validity,
                b -> b.addExtension(new org.bouncycastle.asn1.ASN1ObjectIdentifier(oid), true, new org.bouncycastle.asn1.DEROctetString(value)));
    }

    /**
     * A self-signed leaf with a fresh EC P-256 key for {@code names} (DNS names or IP literals),
     * valid from an hour before {@code now} (clock skew) for {@code validity}, not a CA.
     */
    public static CertBundle build(String subjectName, List<String> names, Instant now, Duration validity, Extensions extensions)
            throws GeneralSecurityException, CertIOException, OperatorCreationException {
        KeyPair kp = KeyType.EC_P256.generate();
        X500Name subject = new X500Name(subjectName);
        byte[] serial = new byte[16];
        new SecureRandom().nextBytes(serial);
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, new BigInteger(1, serial),
                Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(validity)), subject, kp.getPublic());
        GeneralName[] sans = names.stream().map(n -> Names.isIpAddress(n) ? new GeneralName(GeneralName.iPAddress, n)
                : new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
        b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        extensions.addTo(b);
        X509Certificate cert = new JcaX509CertificateConverter()
                .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
        return new CertBundle(kp, List.of(cert));
    }
}
