package io.github.autocert4j.spring.boot;

import java.security.GeneralSecurityException;
import java.security.KeyStore;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import io.github.autocert4j.AutoCert;
import org.apache.catalina.connector.Connector;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.util.net.SSLUtil;

/**
 * Tomcat (10.1 for Boot 3.5, 11 for Boot 4.0): Boot's main connector becomes the HTTPS connector
 * on {@code server.port}, and a plain-HTTP connector is added on {@code autocert4j.http-port}.
 *
 * <p>The HTTPS connector's only certificate carries a Tomcat {@code SSLContext} wrapping
 * {@code autoCert.sslContext()}, whose key manager picks the live certificate by SNI at every
 * handshake. Tomcat then reads no key store and never needs {@code reloadSslHostConfigs()}: a
 * renewal reaches the next connection by itself. (Boot's SSL bundles would hand Tomcat a key store,
 * one certificate per bundle, and need a reload on every renewal.)
 */
final class TomcatHttps {
    private TomcatHttps() {
    }

    /** Turns Boot's main connector into the HTTPS connector serving the live certificates. */
    static void serveLiveCertificates(Connector connector, AutoCert autoCert) {
        connector.setScheme("https");
        connector.setSecure(true);
        connector.setProperty("SSLEnabled", "true");
        SSLHostConfig host = new SSLHostConfig(); // "_default_": every SNI name lands here
        SSLHostConfigCertificate certificate = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
        certificate.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), defaultTrustManager()));
        host.addCertificate(certificate);
        connector.addSslHostConfig(host);
    }

    /**
     * The plain-HTTP connector on {@code port}, bound to {@code address} (Boot's server.address, or
     * null for every interface), with Tomcat's own redirects (CONFIDENTIAL constraints) pointing at
     * {@code httpsPort}.
     */
    static Connector plainHttpConnector(int port, String address, int httpsPort) {
        Connector connector = new Connector("HTTP/1.1"); // NIO, as Boot's own connector
        connector.setThrowOnFailure(true); // a taken port fails start-up, like Boot's own connector
        connector.setPort(port);
        if (address != null) {
            connector.setProperty("address", address);
        }
        if (httpsPort > 0) {
            connector.setRedirectPort(httpsPort);
        }
        return connector;
    }

    /** Tomcat asks the certificate's trust manager only for its accepted issuers (no client auth here). */
    private static X509TrustManager defaultTrustManager() {
        try {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init((KeyStore) null);
            for (TrustManager tm : tmf.getTrustManagers()) {
                if (tm instanceof X509TrustManager x) {
                    return x;
                }
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no default X509TrustManager", e);
        }
        throw new IllegalStateException("this JVM has no default X509TrustManager");
    }
}
