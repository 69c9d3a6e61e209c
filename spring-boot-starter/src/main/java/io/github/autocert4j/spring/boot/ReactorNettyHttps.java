package io.github.autocert4j.spring.boot;

import java.security.GeneralSecurityException;
import java.util.List;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLSessionContext;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.NoClientCertificates;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.DelegatingSslContext;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.OpenSslSessionTicketKey;
import io.netty.handler.ssl.SslContext;
import io.github.autocert4j.TlsAlpn01Responder;
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
        try {
            if (!OpenSsl.isAvailable() || tlsAlpn01) {
                return jdkServerContext(autoCert);
            }
            SslContext context = Http11SslContextSpec.forServer(autoCert.keyManagerFactory())
                    .configure(b -> b.sslProvider(SslProvider.OPENSSL).trustManager(NoClientCertificates.factory())).sslContext();
            OpenSslSessions.guard(context.sessionContext(), autoCert); // only loaded with tcnative present
            return context;
        } catch (SSLException e) {
            throw new IllegalStateException("autocert4j: cannot build the TLS context for Reactor Netty: " + e.getMessage(), e);
        }
    }

    /** The protocols the JDK provider's context negotiates over ALPN, in the server's order of preference. */
    static final List<String> ALPN = List.of(ApplicationProtocolNames.HTTP_1_1, TlsAlpn01Responder.ACME_TLS_1);

    /**
     * The JDK provider's context. It serves what {@code Http11SslContextSpec.forServer(autoCert.keyManagerFactory())}
     * configured with {@code sslProvider(JDK)}, {@code sslContextProvider(jsseProvider())} and ALPN {@link #ALPN}
     * ({@code NO_ADVERTISE}, {@code ACCEPT}) served before (Reactor Netty's defaults for it: Netty's default ciphers
     * with the identity filter, Netty's default protocols): the same {@code SSLContext} and engines, the same protocol
     * negotiated for every client's offer. It is built without Netty's builder, whose {@code JdkSslServerContext}'s
     * static initialiser instantiates BouncyCastle's JCA provider (bcpkix is on the class path through acme4j): 0.4-0.9
     * s of a fresh JVM's server start (docs/spring-boot.md). ALPN is set on each JDK engine ({@link JdkAlpn}) rather
     * than through Netty's ALPN wrapper, which up to Netty 4.2.9 (so in Boot 3.5's Netty 4.1) instantiates the same
     * provider at the first connection. autocert4j-netty's {@code AutoCertSsl.jdkServerContext} builds its contexts
     * alike; it is not a dependency of this starter. The 8-argument {@code JdkSslContext} constructor is public and not
     * deprecated in Netty 4.1 (Boot 3.5) and 4.2 (Boot 4).
     */
    static JdkAlpn jdkServerContext(AutoCert autoCert) throws SSLException {
        try {
            SSLContext context = SSLContext.getInstance("TLS", autoCert.tlsSessions().jsseProvider());
            context.init(autoCert.keyManagerFactory().getKeyManagers(), NoClientCertificates.managers(), null);
            return new JdkAlpn(new JdkSslContext(context, false, null, IdentityCipherSuiteFilter.INSTANCE, null, ClientAuth.NONE, null, false));
        } catch (GeneralSecurityException e) {
            throw new SSLException("failed to initialize the server-side SSL context", e);
        }
    }

    /**
     * A JDK context whose engines negotiate {@link #ALPN} themselves ({@link SSLEngine#setHandshakeApplicationProtocolSelector}):
     * the first of those protocols the client offers, none (and no alert) if it offers neither, as Netty's
     * {@code NO_ADVERTISE} selector. The JDK engine then knows the selected protocol when the live key manager asks it
     * (TLS-ALPN-01). Netty's {@code SslHandler.applicationProtocol()} is null here, which only an HTTP/2 pipeline reads
     * (this context never offers h2).
     */
    static final class JdkAlpn extends DelegatingSslContext {
        final JdkSslContext jdk;

        JdkAlpn(JdkSslContext jdk) {
            super(jdk);
            this.jdk = jdk;
        }

        @Override
        protected void initEngine(SSLEngine engine) {
            engine.setHandshakeApplicationProtocolSelector(JdkAlpn::select);
        }

        static String select(SSLEngine engine, List<String> offered) {
            for (String protocol : ALPN) {
                if (offered.contains(protocol)) {
                    return protocol;
                }
            }
            return ""; // no ALPN extension in the answer, the handshake goes on
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
