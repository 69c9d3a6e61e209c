package io.github.autocert4j.micronaut;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import javax.net.ssl.SSLException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AutoCertSsl;
import io.micronaut.context.annotation.Primary;
import io.micronaut.context.annotation.Replaces;
import io.micronaut.context.annotation.Requires;
import io.micronaut.http.HttpVersion;
import io.micronaut.http.server.HttpServerConfiguration;
import io.micronaut.http.server.netty.ssl.CertificateProvidedSslBuilder;
import io.micronaut.http.server.netty.ssl.ServerSslBuilder;
import io.micronaut.http.ssl.ServerSslConfiguration;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import jakarta.inject.Singleton;

/**
 * Micronaut's HTTPS listener gets its {@link SslContext} here instead of from a key store: one
 * context over the core's live key manager ({@link AutoCert#keyManager()}), which picks the
 * current certificate by SNI at every handshake. A renewal (this node's or a peer's through the
 * shared store) is served by the next handshake: no context rebuild, no server restart, no
 * dropped connection. Its sessions are registered with {@link AutoCert#tlsSessions()}: after a
 * swap no client resumes a session of the replaced certificate (docs/tls-sessions.md). Protocols and ciphers of {@code micronaut.server.ssl.*} apply; with
 * {@code micronaut.server.http-version: 2.0}, ALPN offers h2 and http/1.1 as Micronaut's own
 * builder does. Requires {@code micronaut.server.ssl.enabled: true} (Micronaut opens the HTTPS
 * port only then) and no {@code micronaut.server.ssl.key-name}.
 *
 * <p>TLS-ALPN-01 is not answered on Micronaut's HTTPS port (Micronaut owns its TLS handler and
 * negotiates only HTTP versions over ALPN): use {@code http-01} (the default), which the
 * {@link AcmeChallengeCustomizer} answers on the plain-HTTP port, or {@code dns-01}.
 */
@Singleton
@Primary
@Replaces(CertificateProvidedSslBuilder.class)
@Requires(beans = AutoCert.class)
public class AutoCertSslBuilder implements ServerSslBuilder {
    private final AutoCert autoCert;
    private final ServerSslConfiguration ssl;
    private final HttpServerConfiguration server;
    private volatile SslContext context;

    /** Created by Micronaut. */
    public AutoCertSslBuilder(AutoCert autoCert, ServerSslConfiguration ssl, HttpServerConfiguration server) {
        this.autoCert = autoCert;
        this.ssl = ssl;
        this.server = server;
    }

    @Override
    public ServerSslConfiguration getSslConfiguration() {
        return ssl;
    }

    /** The context over the live key manager; built once, then the same instance at every call. */
    @Override
    public Optional<SslContext> build() {
        SslContext c = context;
        if (c == null) {
            synchronized (this) {
                c = context;
                if (c == null) {
                    c = newContext(AutoCertSsl.defaultProvider());
                    context = c;
                }
            }
        }
        return Optional.of(c);
    }

    /**
     * A new context of {@code provider}. The JDK provider's is built by {@link AutoCertSsl#jdkServerContext} rather than
     * by Netty's builder, whose {@code JdkSslServerContext} instantiates BouncyCastle's JCA provider: 0.4-0.9 s of a fresh
     * JVM's {@code EmbeddedServer.start()} (docs/micronaut.md); the same engines either way.
     */
    SslContext newContext(SslProvider provider) {
        checkChallengeTypes(autoCert.challengeTypes());
        List<String> protocols = ssl.getProtocols().map(Arrays::asList).orElse(null);
        List<String> ciphers = ssl.getCiphers().map(Arrays::asList).orElse(null);
        ApplicationProtocolConfig apn = server.getHttpVersion() != HttpVersion.HTTP_2_0 ? null
                : new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                        ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                        ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                        ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
        try {
            if (provider == SslProvider.JDK) {
                return AutoCertSsl.jdkServerContext(autoCert, apn, protocols, ciphers);
            }
            SslContextBuilder b = AutoCertSsl.contextBuilder(autoCert, provider).applicationProtocolConfig(apn);
            if (protocols != null) {
                b.protocols(protocols);
            }
            if (ciphers != null) {
                b.ciphers(ciphers);
            }
            SslContext built = b.build();
            // after a swap no client may resume a session of the replaced certificate (docs/tls-sessions.md)
            AutoCertSsl.guardSessions(built, autoCert);
            AutoCertSsl.prepareKeyMaterial(built, autoCert);
            return built;
        } catch (SSLException e) {
            throw new IllegalStateException("autocert4j: cannot build the HTTPS context over the live key manager: " + e.getMessage()
                    + ". Fix: check micronaut.server.ssl.protocols and micronaut.server.ssl.ciphers", e);
        }
    }

    /**
     * Refuses challenge types that would make the CA validate over TLS-ALPN-01 on this server:
     * {@code tls-alpn-01} listed before {@code http-01} (or without it).
     */
    static void checkChallengeTypes(List<String> types) {
        int alpn = types.indexOf("tls-alpn-01");
        int http = types.indexOf("http-01");
        if (alpn >= 0 && (http < 0 || alpn < http)) {
            throw new IllegalArgumentException("autocert4j.challenge-types " + types + " pick tls-alpn-01, which Micronaut's HTTPS "
                    + "port cannot answer: Micronaut negotiates only HTTP versions over ALPN, never acme-tls/1. "
                    + "Fix: autocert4j.challenge-types: [http-01] (answered on the plain-HTTP port: micronaut.server.dual-protocol: true), "
                    + "or dns-01 with a DNS solver");
        }
    }
}
