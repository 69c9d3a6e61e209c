package io.github.autocert4j.netty;

import java.security.KeyStore;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
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

    /** A {@link KeyManagerFactory} handing out the AutoCert's live key manager. */
    public static KeyManagerFactory keyManagerFactory(AutoCert autoCert) {
        return factoryOf(autoCert.keyManager());
    }

    /** A {@link KeyManagerFactory} handing out {@code keyManager}. */
    static KeyManagerFactory factoryOf(X509ExtendedKeyManager keyManager) {
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
