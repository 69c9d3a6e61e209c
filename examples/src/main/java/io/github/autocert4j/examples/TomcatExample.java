package io.github.autocert4j.examples;

import java.nio.file.Files;
import java.security.KeyStore;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.servlet.AcmeChallengeFilter;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.util.net.SSLUtil;

/**
 * Embedded Tomcat 11 (NIO connector, JSSE) with a plain-HTTP connector (ACME challenges,
 * {@code /hello}, and a redirect to HTTPS for everything else) and an HTTPS connector whose
 * certificate autocert4j obtains and renews live, with no {@code reloadSslHostConfigs()} and no
 * restart.
 *
 * <p>The live certificate: the connector's one {@code SSLHostConfig} ({@code _default_}, so every
 * SNI name lands on it) gets a certificate whose Tomcat {@code SSLContext} wraps autocert4j's:
 * {@code certificate.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), trust))}.
 * When a certificate has an {@code SSLContext} set, Tomcat builds none from files; every
 * {@code SSLEngine} comes from autocert4j's context, whose key manager picks the live certificate
 * by SNI at each handshake. (Tomcat's start-up log still names a default keystore path for this
 * certificate; nothing is read from it.)
 *
 * <p>Configuration: as {@link JettyExample}.
 *
 * <pre>
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.autocert4j.examples.TomcatExample \
 *     -Dacme.directory=https://127.0.0.1:14000/dir -Dacme.trust=pebble.minica.pem \
 *     -Dnames=app.autocert4j.test -Dhttp.port=5002 -Dhttps.port=8443
 * </pre>
 */
public final class TomcatExample implements AutoCloseable {
    private final AutoCert autoCert;
    private final Tomcat tomcat;
    private final Connector http;
    private final Connector https;

    private TomcatExample(AutoCert autoCert, Tomcat tomcat, Connector http, Connector https) {
        this.autoCert = autoCert;
        this.tomcat = tomcat;
        this.http = http;
        this.https = https;
    }

    public static void main(String[] args) throws Exception {
        try (TomcatExample example = start(ExampleConfig.fromEnvironment())) {
            example.tomcat.getServer().await();
        }
    }

    /** Starts Tomcat (both connectors), then the certificate manager; prints where to connect. */
    public static TomcatExample start(ExampleConfig c) throws Exception {
        AutoCert autoCert = c.buildAutoCert();
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(Files.createTempDirectory("autocert4j-tomcat").toString());

        // Port "80".
        Connector http = new Connector("HTTP/1.1");
        http.setProperty("address", c.bind());
        http.setPort(c.httpPort());

        // Port "443": Tomcat uses autocert4j's SSLContext as is (no key files, no reload needed).
        Connector https = new Connector("HTTP/1.1");
        https.setProperty("address", c.bind());
        https.setPort(c.httpsPort());
        https.setSecure(true);
        https.setScheme("https");
        https.setProperty("SSLEnabled", "true");
        SSLHostConfig sslHost = new SSLHostConfig(); // "_default_": serves every SNI name
        SSLHostConfigCertificate certificate = new SSLHostConfigCertificate(sslHost, SSLHostConfigCertificate.Type.UNDEFINED);
        certificate.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), defaultTrustManager()));
        sslHost.addCertificate(certificate);
        https.addSslHostConfig(sslHost);

        tomcat.getService().addConnector(http);
        tomcat.getService().addConnector(https);

        Context context = tomcat.addContext("", null);
        // The ACME filter goes in first, before the site's servlet.
        context.addServletContainerInitializer((classes, servletContext) -> AcmeChallengeFilter.register(servletContext, autoCert.http01()), null);
        Tomcat.addServlet(context, "site", new JettyExample.Site("Tomcat", https::getLocalPort));
        context.addServletMappingDecoded("/", "site", false);
        tomcat.start();

        c.printEndpoints(autoCert, https.getLocalPort());
        autoCert.start();
        return new TomcatExample(autoCert, tomcat, http, https);
    }

    /** Only reported by Tomcat's {@code getAcceptedIssuers()}; no client certificates are requested. */
    static X509TrustManager defaultTrustManager() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("this JVM has no X509TrustManager");
    }

    public AutoCert autoCert() {
        return autoCert;
    }

    public int httpPort() {
        return http.getLocalPort();
    }

    public int httpsPort() {
        return https.getLocalPort();
    }

    @Override
    public void close() throws Exception {
        autoCert.close();
        tomcat.stop();
        tomcat.destroy();
    }
}
