package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * TLS-ALPN-01 on a Jetty 12 connector that negotiates h2 and http/1.1 by ALPN: Jetty's own ALPN
 * selector replaces autocert4j's, so {@code acme-tls/1} is listed last among its protocols; no
 * connection factory exists for it, so Jetty closes such a connection right after the handshake.
 */
class TlsAlpnJettyH2PebbleTest extends TlsAlpnServletContract {

    @Override
    AutoCloseable startHost(AutoCert autoCert, int port, Path work) throws Exception {
        Server server = new Server();
        // The documented set-up itself (docs/ca-features.md), on a loopback test port instead of 443.
        ServerConnector https = TlsAlpnDocSnippets.jettyH2WithTlsAlpn(autoCert, server);
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
