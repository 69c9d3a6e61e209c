package io.github.autocert4j.vertx;

import java.util.List;
import java.util.function.Function;

import javax.net.ssl.KeyManagerFactory;

import io.github.autocert4j.AutoCert;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.SSLEngineOptions;

/**
 * Live certificates for a Vert.x 5 HTTPS server: key material the server asks at every handshake,
 * so a renewal (or an on-demand certificate) is served to the next connection without
 * {@code updateSSLOptions}, and open connections keep their session.
 *
 * <pre>{@code
 * AutoCert autoCert = AutoCert.builder()...build().start();
 * vertx.createHttpServer(AutoCertVertx.httpsOptions(autoCert).setPort(443))
 *      .requestHandler(app)
 *      .listen();
 * }</pre>
 *
 * <p>How: {@link #keyCertOptions} is a {@link KeyCertOptions} whose key manager factory hands out
 * {@link AutoCert#keyManager()}, which picks the current certificate by the handshake's SNI name.
 * Its SNI mapper answers null for every name, so with {@code setSni(true)} too Vert.x keeps the
 * one context (no per-name context cache that would pin a certificate).
 *
 * <p>On-demand TLS ({@code AutoCertBuilder.onDemand}): the key manager waits for a new name's
 * certificate inside the handshake (at most {@code OnDemand.handshakeWait()}). Vert.x runs the
 * JDK engine's handshake work ("delegated tasks", where the key manager is asked) on its internal
 * worker pool when the engine options say {@code setUseWorkerThread(true)}; {@link #configure}
 * sets exactly that, so the wait never holds an event loop. That needs the JDK engine: the
 * OpenSSL engine is refused with on-demand TLS.
 *
 * <p>TLS-ALPN-01 is not available on Vert.x 5: its server ALPN list is built from HTTP versions
 * only ({@code HttpServerOptions.setAlpnVersions(List<HttpVersion>)}) and its TLS context factory
 * answers any other protocol with no ALPN at all, so a validation offering {@code acme-tls/1}
 * can never negotiate it. {@link #configure} refuses a configuration that would pick TLS-ALPN-01
 * before HTTP-01; answer HTTP-01 on port 80 with {@link AcmeChallengeHandler} (or use DNS-01).
 */
public final class AutoCertVertx {
    private AutoCertVertx() {
    }

    /**
     * New HTTPS server options ({@code setSsl(true)}) presenting {@code autoCert}'s live
     * certificates: {@code configure(new HttpServerOptions(), autoCert)}.
     */
    public static HttpServerOptions httpsOptions(AutoCert autoCert) {
        return configure(new HttpServerOptions(), autoCert);
    }

    /**
     * Sets {@code options} up to serve {@code autoCert}'s live certificates: SSL on, the live
     * {@link #keyCertOptions}, and for on-demand TLS the JDK engine with its handshake work on
     * Vert.x's worker pool. Unless the options name the OpenSSL engine (left as it is) or a
     * subclass of {@link JdkSSLEngineOptions} of their own, the engine is the JDK one with its
     * settings kept, whose plain server contexts skip Netty's {@code JdkSslServerContext}: that
     * class's static initialiser would instantiate BouncyCastle's JCA provider (on the class path
     * through acme4j) on the event loop accepting the first HTTPS connection, 0.4-0.9 s of CPU
     * (docs/vertx.md). Everything else (port, ALPN, protocols, ciphers, client authentication)
     * stays as given and is served as Vert.x would.
     *
     * @return {@code options}
     * @throws IllegalArgumentException for on-demand TLS with the OpenSSL engine, or when the
     *         challenge types would pick TLS-ALPN-01 (which Vert.x 5 cannot negotiate) before HTTP-01
     */
    public static HttpServerOptions configure(HttpServerOptions options, AutoCert autoCert) {
        if (options == null || autoCert == null) {
            throw new IllegalArgumentException("AutoCertVertx.configure needs the server options and the AutoCert. "
                    + "Fix: AutoCertVertx.configure(new HttpServerOptions().setPort(443), autoCert)");
        }
        checkChallengeTypes(autoCert.challengeTypes());
        options.setSsl(true).setKeyCertOptions(keyCertOptions(autoCert));
        boolean onDemand = autoCert.onDemand().isPresent();
        SSLEngineOptions engine = options.getSslEngineOptions();
        if (engine == null || engine.getClass() == JdkSSLEngineOptions.class || engine instanceof JdkServerEngineOptions) {
            // Vert.x's own choice on Java 17 (unset) or the plain JDK engine: the same engine, its server context built directly
            JdkServerEngineOptions jdk = engine == null ? new JdkServerEngineOptions(autoCert)
                    : new JdkServerEngineOptions((JdkSSLEngineOptions) engine, autoCert);
            options.setSslEngineOptions(onDemand ? jdk.setUseWorkerThread(true) : jdk);
        } else if (onDemand) {
            if (engine instanceof JdkSSLEngineOptions jdk) {
                options.setSslEngineOptions(jdk.copy().setUseWorkerThread(true));
            } else {
                throw new IllegalArgumentException("on-demand TLS on Vert.x needs the JDK SSL engine, whose handshake work Vert.x can "
                        + "run on its worker pool while a new name's certificate is ordered; the options name "
                        + engine.getClass().getSimpleName() + ". Fix: options.setSslEngineOptions(new JdkSSLEngineOptions()) "
                        + "or leave the engine unset");
            }
        }
        return options;
    }

    /**
     * Refuses challenge types that would make the CA validate over TLS-ALPN-01 on this server:
     * {@code tls-alpn-01} listed before {@code http-01} (or without it).
     */
    static void checkChallengeTypes(List<String> types) {
        int alpn = types.indexOf("tls-alpn-01");
        int http = types.indexOf("http-01");
        if (alpn >= 0 && (http < 0 || alpn < http)) {
            throw new IllegalArgumentException("the challenge types " + types + " pick tls-alpn-01, which a Vert.x 5 HTTPS server cannot "
                    + "answer: Vert.x negotiates only HTTP versions over ALPN, never acme-tls/1. Fix: challengeTypes(\"http-01\") "
                    + "with an AcmeChallengeHandler on the plain-HTTP server (port 80), or \"dns-01\" with a DNS solver");
        }
    }

    /**
     * Key material for any Vert.x TLS server (HTTP, TCP): the live key manager of {@code autoCert}.
     * Immutable: {@code copy()} returns the same instance.
     */
    public static KeyCertOptions keyCertOptions(AutoCert autoCert) {
        if (autoCert == null) {
            throw new IllegalArgumentException("autoCert is null");
        }
        return new LiveKeyCertOptions(autoCert);
    }

    /** The live key material as Vert.x options; see {@link AutoCertVertx}. */
    private static final class LiveKeyCertOptions implements KeyCertOptions {
        private final AutoCert autoCert;
        private final KeyManagerFactory factory;

        LiveKeyCertOptions(AutoCert autoCert) {
            this.autoCert = autoCert;
            this.factory = autoCert.keyManagerFactory();
        }

        @Override
        public KeyCertOptions copy() {
            return this;
        }

        @Override
        public KeyManagerFactory getKeyManagerFactory(Vertx vertx) {
            return factory;
        }

        @Override
        public Function<String, KeyManagerFactory> keyManagerFactoryMapper(Vertx vertx) {
            // null: the default context, whose live key manager selects by SNI at each handshake.
            return serverName -> null;
        }

        @Override
        public String toString() {
            return "AutoCertVertx.keyCertOptions[" + autoCert + "]";
        }
    }
}
