package io.github.autocert4j.netty;

import java.net.Socket;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.OnDemand;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.ReferenceCountedOpenSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleKeyManagerFactory;

/**
 * Netty {@link SslContext}s that always present the live certificates of an {@link AutoCert}.
 *
 * <p>One context, built once: it asks the AutoCert's key manager at every handshake, so a renewal
 * takes effect for new connections at once while open connections keep their session. With
 * {@code netty-tcnative-boringssl-static} on the class path the OpenSSL provider is used (with
 * Netty's per-alias key material cache, which is safe because every new certificate gets a new
 * alias), otherwise the JDK provider.
 *
 * <pre>{@code
 * SslContext tls = AutoCertSsl.serverContext(autoCert);
 * ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new MyApp());
 * }</pre>
 */
public final class AutoCertSsl {
    private AutoCertSsl() {
    }

    /** The provider {@link #serverContext(AutoCert)} uses: OpenSSL when available, else the JDK's. */
    public static SslProvider defaultProvider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /** A server context with the default provider and Netty's default protocols and ciphers. */
    public static SslContext serverContext(AutoCert autoCert) throws SSLException {
        return contextBuilder(autoCert, defaultProvider()).build();
    }

    /**
     * A builder preset with the live key material and {@code provider}, for hosts that also set
     * ALPN, protocols or ciphers before calling {@code build()}.
     */
    public static SslContextBuilder contextBuilder(AutoCert autoCert, SslProvider provider) {
        KeyManagerFactory factory = keyManagerFactory(autoCert);
        if (provider == SslProvider.OPENSSL || provider == SslProvider.OPENSSL_REFCNT) {
            // Without the cache, the OpenSSL provider re-encodes the chain and key at every handshake.
            // The cache is keyed by alias; every swap makes a new alias and retires the one two
            // generations back, which the cache then evicts as stale (getCertificateChain == null).
            // Sized for every managed certificate (current and previous generation) so that SNI
            // traffic spread over many certificates keeps hitting the cache.
            int onDemand = autoCert.onDemand().map(o -> o.maxCertificatesInMemory()).orElse(0);
            int entries = Math.max(1024, 2 * (autoCert.status().size() + onDemand) + 16);
            factory = new OpenSslCachingX509KeyManagerFactory(factory, entries);
        }
        return SslContextBuilder.forServer(factory).sslProvider(provider);
    }

    /**
     * The TLS handlers for an HTTPS pipeline, built once and shared by all connections: plain
     * {@code SslHandler}s of {@link #serverContext}, or, with on-demand TLS enabled, an
     * {@link OnDemandSniHandler} in front of them that obtains unknown names' certificates without
     * blocking the event loop.
     *
     * <pre>{@code
     * AutoCertSsl.Handlers tls = AutoCertSsl.handlers(autoCert);
     * httpsBootstrap.childHandler(new ChannelInitializer<SocketChannel>() {
     *     protected void initChannel(SocketChannel ch) {
     *         ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new MyApp());
     *     }
     * });
     * }</pre>
     */
    public static Handlers handlers(AutoCert autoCert) throws SSLException {
        return handlers(autoCert, contextBuilder(autoCert, defaultProvider()).build());
    }

    /** {@link #handlers(AutoCert)} around a live context the host built itself (ALPN, protocols, ciphers). */
    public static Handlers handlers(AutoCert autoCert, SslContext live) throws SSLException {
        return new Handlers(autoCert, live);
    }

    /** See {@link #handlers(AutoCert)}. */
    public static final class Handlers {
        private final AutoCert autoCert;
        private final SslContext live;
        private final SslContext refused;
        private final long waitMillis;

        private Handlers(AutoCert autoCert, SslContext live) throws SSLException {
            this.autoCert = autoCert;
            this.live = live;
            OnDemand onDemand = autoCert.onDemand().orElse(null);
            this.waitMillis = onDemand == null ? 0 : onDemand.handshakeWait().toMillis();
            if (onDemand == null) {
                this.refused = live;
            } else {
                // Never the live key manager here: on a miss it would wait for the certificate, on the event loop.
                boolean fallback = onDemand.onTimeout() == OnDemand.OnTimeout.SERVE_FALLBACK;
                SslProvider provider = live instanceof ReferenceCountedOpenSslContext ? SslProvider.OPENSSL : SslProvider.JDK;
                this.refused = SslContextBuilder.forServer(factoryOf(new RefusingKeyManager(autoCert, fallback))).sslProvider(provider).build();
            }
        }

        /** The live context (renewals apply to new connections). */
        public SslContext context() {
            return live;
        }

        /** The first TLS handler of a new connection. */
        public ChannelHandler newHandler(ByteBufAllocator alloc) {
            return autoCert.onDemand().isEmpty() ? live.newHandler(alloc) : new OnDemandSniHandler(autoCert, live, refused, waitMillis);
        }
    }

    /**
     * Serves the default certificate (fallback mode) or nothing (so the handshake ends with an
     * alert) to names on-demand TLS refused or could not serve in time; keys and chains come from
     * the live key manager by alias, which never waits.
     */
    private static final class RefusingKeyManager extends X509ExtendedKeyManager {
        private final AutoCert autoCert;
        private final boolean serveDefault;

        RefusingKeyManager(AutoCert autoCert, boolean serveDefault) {
            this.autoCert = autoCert;
            this.serveDefault = serveDefault;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return chooseServerAlias(keyType, issuers, null);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return serveDefault ? autoCert.servedCertificate(null).alias() : null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return autoCert.keyManager().getCertificateChain(alias);
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return autoCert.keyManager().getPrivateKey(alias);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }

    /** A {@link KeyManagerFactory} handing out the AutoCert's live key manager. */
    public static KeyManagerFactory keyManagerFactory(AutoCert autoCert) {
        return factoryOf(autoCert.keyManager());
    }

    private static KeyManagerFactory factoryOf(X509ExtendedKeyManager keyManager) {
        KeyManager[] managers = {keyManager};
        return new SimpleKeyManagerFactory() {
            @Override
            protected void engineInit(KeyStore keyStore, char[] password) {
            }

            @Override
            protected void engineInit(ManagerFactoryParameters params) {
            }

            @Override
            protected KeyManager[] engineGetKeyManagers() {
                return managers.clone();
            }
        };
    }
}
