package io.github.autocert4j.servlet;

import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** TLS-ALPN-01 on Jetty 12's plain HTTP/1.1 TLS connector: autocert4j's SSLContext selects acme-tls/1. */
class TlsAlpnJettyPebbleTest extends TlsAlpnServletContract {

    @Override
    AutoCloseable startHost(AutoCert autoCert, int port, Path work) throws Exception {
        Server server = new Server();
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(autoCert.sslContext());
        HttpConfiguration secure = new HttpConfiguration();
        secure.addCustomizer(new SecureRequestCustomizer());
        ServerConnector https = new ServerConnector(server, new SslConnectionFactory(ssl, HttpVersion.HTTP_1_1.asString()),
                new HttpConnectionFactory(secure));
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
        return "";
    }
}
