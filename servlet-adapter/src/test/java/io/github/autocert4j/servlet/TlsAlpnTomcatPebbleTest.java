package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import org.apache.catalina.Context;
import org.apache.catalina.connector.Connector;
import org.apache.catalina.startup.Tomcat;
import org.apache.coyote.http2.Http2Protocol;
import org.apache.tomcat.util.net.SSLHostConfig;
import org.apache.tomcat.util.net.SSLHostConfigCertificate;
import org.apache.tomcat.util.net.SSLUtil;

/**
 * TLS-ALPN-01 on Tomcat's NIO + JSSE connector with HTTP/2 enabled: Tomcat sets the ALPN protocols
 * it can negotiate (h2) in the engine's parameters but installs no selector, so autocert4j's
 * selector picks acme-tls/1 for validations and behaves like JSSE for everything else.
 */
class TlsAlpnTomcatPebbleTest extends TlsAlpnServletContract {

    @Override
    AutoCloseable startHost(AutoCert autoCert, int port, Path work) throws Exception {
        Tomcat tomcat = new Tomcat();
        tomcat.setBaseDir(work.toString());
        Connector https = new Connector("HTTP/1.1");
        https.setProperty("address", "127.0.0.1");
        https.setPort(port);
        https.setSecure(true);
        https.setScheme("https");
        https.setProperty("SSLEnabled", "true");
        https.addUpgradeProtocol(new Http2Protocol());
        SSLHostConfig host = new SSLHostConfig();
        SSLHostConfigCertificate cert = new SSLHostConfigCertificate(host, SSLHostConfigCertificate.Type.UNDEFINED);
        cert.setSslContext(SSLUtil.createSSLContext(autoCert.sslContext(), autoCert.keyManager(), TomcatTestHost.defaultTrustManager()));
        host.addCertificate(cert);
        https.addSslHostConfig(host);
        tomcat.getService().addConnector(https);
        Context context = tomcat.addContext("", null);
        Tomcat.addServlet(context, "app", new ServletTestHost.AppServlet());
        context.addServletMappingDecoded("/", "app", false);
        String expected = System.getProperty("autocert4j.expectTomcat", "11.");
        if (!org.apache.catalina.util.ServerInfo.getServerNumber().startsWith(expected)) {
            throw new AssertionError("expected Tomcat " + expected + "x, found " + org.apache.catalina.util.ServerInfo.getServerInfo());
        }
        tomcat.start();
        return () -> {
            tomcat.stop();
            tomcat.destroy();
        };
    }

    @Override
    String negotiatedWithH2Offer() {
        return "h2";
    }
}
