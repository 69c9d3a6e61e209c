package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.TlsAlpn01Responder;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/**
 * TLS-ALPN-01 on a Jetty 12 connector that negotiates h2 and http/1.1 by ALPN: Jetty's own ALPN
 * selector replaces autocert4j's, so {@code acme-tls/1} is listed last among its protocols; no
 * connection factory exists for it, so Jetty closes such a connection right after the handshake.
 */
class TlsAlpnJettyH2PebbleTest extends TlsAlpnServletContract {

    @Override
    AutoCloseable startHost(AutoCert autoCert, int port, Path work) throws Exception {
        Server server = new Server();
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(autoCert.sslContext());
        HttpConfiguration secure = new HttpConfiguration();
        secure.addCustomizer(new SecureRequestCustomizer());
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1", TlsAlpn01Responder.ACME_TLS_1);
        alpn.setDefaultProtocol("http/1.1");
        ServerConnector https = new ServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn,
                new HTTP2ServerConnectionFactory(secure), new HttpConnectionFactory(secure));
        https.setHost("127.0.0.1");
        https.setPort(port);
        server.addConnector(https);
        ServletContextHandler context = new ServletContextHandler();
        context.addServlet(new ServletHolder(new ServletTestHost.AppServlet()), "/");
        server.setHandler(context);
        server.start();
        return server::stop;
    }

    @Override
    String negotiatedWithH2Offer() {
        return "h2";
    }
}
