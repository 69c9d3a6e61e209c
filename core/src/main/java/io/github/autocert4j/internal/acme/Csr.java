package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.util.Names;

import java.io.IOException;
import java.net.InetAddress;
import java.security.KeyPair;
import java.util.List;

import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500NameBuilder;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * The PKCS#10 request an issuer gets instead of the private key: every name as a subjectAltName
 * (DNS names, and IP addresses as iPAddress entries), the first DNS name as the common name.
 */
public final class Csr {
    private Csr() {
    }

    public static byte[] create(List<String> names, KeyPair key) {
        try {
            X500NameBuilder subject = new X500NameBuilder(BCStyle.INSTANCE);
            names.stream().filter(n -> !Names.isIpAddress(n)).findFirst().ifPresent(cn -> subject.addRDN(BCStyle.CN, cn));
            GeneralName[] sans = new GeneralName[names.size()];
            for (int i = 0; i < sans.length; i++) {
                String n = names.get(i);
                sans[i] = Names.isIpAddress(n)
                        ? new GeneralName(GeneralName.iPAddress, new org.bouncycastle.asn1.DEROctetString(InetAddress.getByName(n).getAddress()))
                        : new GeneralName(GeneralName.dNSName, n);
            }
            ExtensionsGenerator extensions = new ExtensionsGenerator();
            extensions.addExtension(Extension.subjectAlternativeName, false, new GeneralNames(sans));
            JcaPKCS10CertificationRequestBuilder builder = new JcaPKCS10CertificationRequestBuilder(subject.build(), key.getPublic());
            builder.addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, extensions.generate());
            String algorithm = "EC".equals(key.getPrivate().getAlgorithm()) ? "SHA256withECDSA" : "SHA256withRSA";
            return builder.build(new JcaContentSignerBuilder(algorithm).build(key.getPrivate())).getEncoded();
        } catch (IOException | OperatorCreationException e) {
            throw new IllegalStateException("cannot create the certificate signing request", e);
        }
    }
}
