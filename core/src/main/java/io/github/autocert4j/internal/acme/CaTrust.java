package io.github.autocert4j.internal.acme;

import io.github.autocert4j.internal.store.Pem;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The TLS trust for a CA's directory given as a PEM file ({@code AcmeCa.serverTrust}), shared by
 * the builder's validation and the dry run (here rather than in the builder, which the dry run
 * would otherwise depend on).
 */
public final class CaTrust {

    private CaTrust() {
    }

    /**
     * An SSL context trusting exactly the certificates in the PEM file {@code pem}. The file is read
     * and its certificates parsed now (an unreadable or empty file fails here, in {@code build()});
     * the JSSE context itself is set up at its first use (see {@link LazySslContext}).
     */
    public static SSLContext from(Path pem) throws IOException, GeneralSecurityException {
        List<X509Certificate> certs = Pem.decodeCertificates(Files.readAllBytes(pem));
        if (certs.isEmpty()) {
            throw new IOException("no certificate in the file");
        }
        return new LazySslContext(() -> context(certs));
    }

    private static SSLContext context(List<X509Certificate> certs) throws IOException, GeneralSecurityException {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        for (int i = 0; i < certs.size(); i++) {
            ks.setCertificateEntry("acme-ca-" + i, certs.get(i));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
