package io.github.autocert4j.servlet;

import java.net.InetSocketAddress;
import java.nio.file.Path;

import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

import io.github.autocert4j.AutoCert;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.util.net.SSLUtil;

/**
 * Embedded Tomcat 11 (NIO + JSSE) with the live certificate: the one {@code SSLHostConfig}
 * ({@code _default_}) gets a certificate whose Tomcat {@code SSLContext} is
 * {@code SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), trust)}. Tomcat
 * then builds nothing from files and never needs a reload: every SSLEngine comes from the core's
 * SSLContext, whose key manager picks the live certificate by SNI per handshake.
 */
final class TomcatTestHost implements ServletTestHost {
    final Tomcat tomcat = new Tomcat();
    final Connector http;
    final Connector https;

    TomcatTestHost(AutoCert autoCert, int httpPort, Path baseDir, Registration registration) throws Exception {
        tomcat.setBaseDir(baseDir.toString());
        http = new Connector("HTTP/1.1");
        http.setProperty("address", "127.0.0.1");
        http.setPort(httpPort);

        https = new Connector("HTTP/1.1");
        https.setProperty("address", "127.0.0.1");
        https.setPort(0);
        https.setSecure(true);
        https.setScheme("https");
        https.setProperty("SSLEnabled", "true");
        SSLHostConfig host = new SSLHostConfig(); // host name "_default_": every SNI name lands here
        SSLHostConfigCertificate cert = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
        cert.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), defaultTrustManager()));
        host.addCertificate(cert);
        https.addSslHostConfig(host);

        tomcat.getService().addConnector(http);
        tomcat.getService().addConnector(https);

        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "app", new AppServlet());
        context.addServletMappingDecoded("/", "app", false);
        switch (registration) {
            case INITIALIZER -> {
                context.addServletContainerInitializer((classes, sc) -> sc.setAttribute(AutoCertServletInitializer.AUTOCERT_ATTRIBUTE, autoCert), null);
                context.addServletContainerInitializer(new AutoCertServletInitializer(), null);
            }
            case REGISTER -> context.addServletContainerInitializer((classes, sc) -> AcmeChallengeFilter.register(sc, autoCert.http01()), null);
            case NO_ARG_FILTER -> {
                context.addServletContainerInitializer((classes, sc) -> sc.setAttribute(AcmeChallengeFilter.RESPONDER_ATTRIBUTE, autoCert.http01()), null);
                FilterDef def = new FilterDef();
                def.setFilterName("acme");
                def.setFilterClass(AcmeChallengeFilter.class.getName());
                context.addFilterDef(def);
                FilterMap map = new FilterMap();
                map.setFilterName("acme");
                map.addURLPattern(AcmeChallengeFilter.URL_PATTERN);
                context.addFilterMap(map);
            }
            case NONE -> context.addServletContainerInitializer(new AutoCertServletInitializer(), null);
        }
        // The same tests run on Tomcat 11 and, in a second surefire execution, on Tomcat 10.1: prove which one this is.
        String expected = System.getProperty("autocert4j.expectTomcat", "11.");
        if (!org.apache.catalina.util.ServerInfo.getServerNumber().startsWith(expected)) {
            throw new AssertionError("expected Tomcat " + expected + "x on the class path, found " + org.apache.catalina.util.ServerInfo.getServerInfo());
        }
        tomcat.start();
    }

    static X509TrustManager defaultTrustManager() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((java.security.KeyStore) null);
        for (TrustManager tm : tmf.getTrustManagers()) {
            if (tm instanceof X509TrustManager x) {
                return x;
            }
        }
        throw new IllegalStateException("no X509TrustManager");
    }

    @Override
    public InetSocketAddress httpsAddress() {
        return new InetSocketAddress("127.0.0.1", https.getLocalPort());
    }

    @Override
    public InetSocketAddress httpAddress() {
        return new InetSocketAddress("127.0.0.1", http.getLocalPort());
    }

    @Override
    public void close() throws Exception {
        tomcat.stop();
        tomcat.destroy();
    }
}
