package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.TlsAlpn01Responder;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslProvider;
import reactor.netty.http.Http11SslContextSpec;
import reactor.netty.http.server.HttpServer;

/**
 * Reactor Netty (1.2 for Boot 3.5, 1.3 for Boot 4.0): Boot's server on {@code server.port} is made
 * secure with one SSL context built once from a key manager factory over the AutoCert's live key
 * manager, which picks the certificate by SNI at every handshake. A renewal reaches the next
 * connection without rebuilding the context; no Netty type of autocert4j's own Netty adapter is used
 * (it is built on Netty 4.2, Boot 3.5 runs Netty 4.1).
 *
 * <p>TLS-ALPN-01 ({@code autocert4j.challenge-types=tls-alpn-01}, or an own AutoCert bean with
 * {@code challengeTypes("tls-alpn-01")}): Netty, not the AutoCert's SSLContext, negotiates ALPN here,
 * so the context offers {@code acme-tls/1} besides {@code http/1.1} (JDK provider, whose engine the
 * live key manager asks which protocol was selected). Without it the CA's validation failed with
 * "Cannot negotiate ALPN protocol acme-tls/1". Clients that offer neither get no ALPN, as before.
 */
final class ReactorNettyHttps {
    private ReactorNettyHttps() {
    }

    static HttpServer serveLiveCertificates(HttpServer server, AutoCert autoCert) {
        Http11SslContextSpec spec = Http11SslContextSpec.forServer(new LiveKeyManagerFactory(autoCert))
                .configure(b -> b.sslProvider(SslProvider.JDK).applicationProtocolConfig(new ApplicationProtocolConfig(
                        ApplicationProtocolConfig.Protocol.ALPN, ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1,
                        TlsAlpn01Responder.ACME_TLS_1)));
        return server.secure(ssl -> ssl.sslContext(spec));
    }
}
