package io.github.autocert4j;

import java.math.BigInteger;
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
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * The certificate served before the CA has issued one, so that the host's TLS listener can start
 * at once. Clients will not trust it; it only exists so the port works from the first second.
 */
final class SelfSigned {
    private SelfSigned() {
    }

    static CertBundle create(List<String> names, Instant now) {
        try {
            KeyPair kp = KeyType.EC_P256.generate();
            X500Name subject = new X500Name("CN=autocert4j fallback for " + names.get(0).replace(",", ""));
            byte[] serial = new byte[16];
            new SecureRandom().nextBytes(serial);
            JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, new BigInteger(1, serial),
                    Date.from(now.minus(Duration.ofHours(1))), Date.from(now.plus(Duration.ofDays(30))), subject, kp.getPublic());
            GeneralName[] sans = names.stream().map(n -> Names.isIpAddress(n) ? new GeneralName(GeneralName.iPAddress, n)
                    : new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new);
            b.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            X509Certificate cert = new JcaX509CertificateConverter()
                    .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate())));
            return new CertBundle(kp, List.of(cert));
        } catch (Exception e) {
            throw new IllegalStateException("cannot create the self-signed fallback certificate", e);
        }
    }
}
