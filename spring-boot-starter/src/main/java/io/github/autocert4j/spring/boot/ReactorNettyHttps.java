package io.github.autocert4j.spring.boot;

import java.security.GeneralSecurityException;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSessionContext;

import io.github.autocert4j.AutoCert;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
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
 * <p>Sessions after a swap ({@link TlsSessions}): with the JDK provider the context's
 * {@code SSLContext} comes from {@code TlsSessions.jsseProvider()} and is a new JDK context after
 * every swap; with OpenSSL the context's session ID context and ticket keys are renewed. Either way
 * no client resumes into a replaced certificate.
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
        SslContext context = serverContext(autoCert);
        return server.secure(ssl -> ssl.sslContext(context));
    }

    /** The context {@link #serveLiveCertificates} serves (a package-private step of its own so that tests can check it). */
    static SslContext serverContext(AutoCert autoCert) {
        // Netty's own default (OpenSSL when tcnative is present), set here so that the JDK case can be told apart;
        // TLS-ALPN-01 needs the JDK provider, whose engine tells the live key manager the selected protocol.
        boolean tlsAlpn01 = autoCert.challengeTypes().contains("tls-alpn-01");
        SslProvider provider = OpenSsl.isAvailable() && !tlsAlpn01 ? SslProvider.OPENSSL : SslProvider.JDK;
        SslContext context;
        try {
            context = provider == SslProvider.JDK ? jdkServerContext(autoCert)
                    : Http11SslContextSpec.forServer(autoCert.keyManagerFactory()).configure(b -> b.sslProvider(provider)).sslContext();
        } catch (SSLException e) {
            throw new IllegalStateException("autocert4j: cannot build the TLS context for Reactor Netty: " + e.getMessage(), e);
        }
        if (!(context instanceof JdkSslContext)) {
            OpenSslSessions.guard(context.sessionContext(), autoCert); // only loaded with tcnative present
        }
        return context;
    }

    /**
     * The JDK provider's context: what {@code Http11SslContextSpec.forServer(autoCert.keyManagerFactory())} configured with
     * {@code sslProvider(JDK)}, {@code sslContextProvider(jsseProvider())} and the ALPN below builds (Reactor Netty's
     * defaults for it: Netty's default ciphers with the identity filter, Netty's default protocols), without Netty's
     * {@code JdkSslServerContext}, whose static initialiser instantiates BouncyCastle's JCA provider (bcpkix is on the
     * class path through acme4j): 0.4-0.9 s of a fresh JVM's server start (docs/spring-boot.md). autocert4j-netty's
     * {@code AutoCertSsl.jdkServerContext} does the same; it is not a dependency of this starter. The 8-argument
     * {@code JdkSslContext} constructor is public and not deprecated in Netty 4.1 (Boot 3.5) and 4.2 (Boot 4).
     */
    static SslContext jdkServerContext(AutoCert autoCert) throws SSLException {
        ApplicationProtocolConfig alpn = new ApplicationProtocolConfig(
                ApplicationProtocolConfig.Protocol.ALPN, ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1,
                TlsAlpn01Responder.ACME_TLS_1);
        try {
            SSLContext context = SSLContext.getInstance("TLS", autoCert.tlsSessions().jsseProvider());
            context.init(autoCert.keyManagerFactory().getKeyManagers(), null, null);
            return new JdkSslContext(context, false, null, IdentityCipherSuiteFilter.INSTANCE, alpn, ClientAuth.NONE, null, false);
        } catch (GeneralSecurityException e) {
            throw new SSLException("failed to initialize the server-side SSL context", e);
        }
    }

    /** The OpenSSL provider's session hook (decided in core: TlsSessions), in its own class so that nothing loads OpenSSL classes without tcnative. */
    private static final class OpenSslSessions {
        private OpenSslSessions() {
        }

        static void guard(SSLSessionContext sessions, AutoCert autoCert) {
            if (sessions instanceof OpenSslServerSessionContext server) {
                autoCert.tlsSessions().guard(server, (id, name, hmac, aes) -> {
                    server.setSessionIdContext(id);
                    server.setTicketKeys(new OpenSslSessionTicketKey(name, hmac, aes));
                });
            }
        }
    }
}
