package io.github.autocert4j.servlet;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.TlsAlpn01Responder;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;

/** The Jetty snippet of docs/ca-features.md, compiled; {@link TlsAlpnJettyH2PebbleTest} runs it. */
final class TlsAlpnDocSnippets {
    private TlsAlpnDocSnippets() {
    }

    static ServerConnector jettyH2WithTlsAlpn(AutoCert autoCert, Server server) {
        SslContextFactory.Server ssl = new SslContextFactory.Server();
        ssl.setSslContext(autoCert.sslContext());
        HttpConfiguration secure = new HttpConfiguration();
        secure.addCustomizer(new SecureRequestCustomizer());
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory("h2", "http/1.1", TlsAlpn01Responder.ACME_TLS_1);
        alpn.setDefaultProtocol("http/1.1");
        ServerConnector https = new ServerConnector(server, new SslConnectionFactory(ssl, alpn.getProtocol()), alpn,
                new HTTP2ServerConnectionFactory(secure), new HttpConnectionFactory(secure));
        https.setPort(443);
        return https;
    }
}
