package io.github.autocert4j.spring.boot;

import java.util.ArrayList;
import java.util.List;

import io.github.autocert4j.AutoCert;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * Jetty 12 (12.0 for Boot 3.5, 12.1 for Boot 4.0): a new HTTPS connector takes over Boot's
 * {@code server.port} (first in the list, so Boot reports its port), and Boot's own connector, with
 * its HTTP configuration, moves to {@code autocert4j.http-port}.
 *
 * <p>The HTTPS connector's {@code SslContextFactory} is given {@code autoCert.sslContext()}, whose key
 * manager picks the live certificate by SNI at every handshake: Jetty loads no key store, and a
 * renewal reaches the next connection without {@code SslContextFactory.reload}. Jetty's
 * {@code SecureRequestCustomizer} keeps its SNI host check: a request whose {@code Host} the served
 * certificate does not cover (e.g. {@code https://127.0.0.1/}) gets 400.
 */
final class JettyHttps {
    private JettyHttps() {
    }

    static void serveLiveCertificates(Server server, AutoCert autoCert, int httpPort) {
        Connector[] connectors = server.getConnectors();
        ServerConnector boots = null;
        for (Connector c : connectors) {
            if (c instanceof ServerConnector sc && sc.getConnectionFactory(SslConnectionFactory.class) == null) {
                boots = sc;
                break;
            }
        }
        if (boots == null) {
            throw new IllegalStateException("autocert4j: Boot's Jetty server has no plain ServerConnector to serve HTTPS in place of; "
                    + "remove other JettyServerCustomizers that replace it, or set autocert4j.enabled=false");
        }
        HttpConnectionFactory http = boots.getConnectionFactory(HttpConnectionFactory.class);
        HttpConfiguration plainConfig = http != null ? http.getHttpConfiguration() : new HttpConfiguration();
        HttpConfiguration tlsConfig = new HttpConfiguration(plainConfig);
        tlsConfig.addCustomizer(new SecureRequestCustomizer());

        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setSslContext(autoCert.sslContext());
        ServerConnector https = new ServerConnector(server, boots.getAcceptors(), boots.getSelectorManager().getSelectorCount(),
                new SslConnectionFactory(tls, HttpVersion.HTTP_1_1.asString()), new HttpConnectionFactory(tlsConfig));
        https.setHost(boots.getHost());
        https.setPort(boots.getPort());
        https.setIdleTimeout(boots.getIdleTimeout());
        if (boots.getPort() > 0) {
            plainConfig.setSecurePort(boots.getPort());
        }
        plainConfig.setSecureScheme("https");
        boots.setPort(httpPort);

        List<Connector> ordered = new ArrayList<>();
        ordered.add(https);
        for (Connector c : connectors) {
            ordered.add(c);
        }
        server.setConnectors(ordered.toArray(Connector[]::new));
    }
}
