package io.github.autocert4j.spring.boot;

import io.github.autocert4j.AutoCert;
import reactor.netty.http.Http11SslContextSpec;
import reactor.netty.http.server.HttpServer;

/**
 * Reactor Netty (1.2 for Boot 3.5, 1.3 for Boot 4.0): Boot's server on {@code server.port} is made
 * secure with one SSL context built once from a key manager factory over the AutoCert's live key
 * manager, which picks the certificate by SNI at every handshake. A renewal reaches the next
 * connection without rebuilding the context; no Netty type of autocert4j's own Netty adapter is used
 * (it is built on Netty 4.2, Boot 3.5 runs Netty 4.1).
 */
final class ReactorNettyHttps {
    private ReactorNettyHttps() {
    }

    static HttpServer serveLiveCertificates(HttpServer server, AutoCert autoCert) {
        Http11SslContextSpec spec = Http11SslContextSpec.forServer(new LiveKeyManagerFactory(autoCert));
        return server.secure(ssl -> ssl.sslContext(spec));
    }
}
