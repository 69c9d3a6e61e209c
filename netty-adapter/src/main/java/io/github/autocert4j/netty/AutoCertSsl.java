package io.github.autocert4j.netty;

import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.security.KeyStore;
import java.util.HashSet;
import java.util.Set;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.OpenSslSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleKeyManagerFactory;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Netty {@link SslContext}s that always present the live certificates of an {@link AutoCert}.
 *
 * <p>One context, built once: it asks the AutoCert's key manager at every handshake, so a renewal
 * takes effect for new connections at once while open connections keep their session. With
 * {@code netty-tcnative-boringssl-static} on the class path the OpenSSL provider is used (with
 * Netty's per-alias key material cache, which is safe because every new certificate gets a new
 * alias), otherwise the JDK provider.
 *
 * <p>With the OpenSSL provider each certificate's key and chain are converted into BoringSSL key
 * material the first time a handshake uses them (about 0.1 ms); {@link #serverContext(AutoCert)}
 * does that for every live certificate up front ({@link #prepareKeyMaterial}), so that a server
 * with many certificates does not pay it in its first handshakes. A renewed certificate is
 * converted at its first handshake.
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

    /**
     * A server context with the default provider and Netty's default protocols and ciphers; with
     * OpenSSL, the key material of every live certificate is prepared before it returns
     * ({@link #prepareKeyMaterial}, about 0.1 ms per certificate).
     */
    public static SslContext serverContext(AutoCert autoCert) throws SSLException {
        SslContext context = contextBuilder(autoCert, defaultProvider()).build();
        prepareKeyMaterial(context, autoCert);
        return context;
    }

    /**
     * Converts the key and chain of every certificate {@code autoCert} serves now into OpenSSL key
     * material held by {@code context}'s key material cache (a context built from
     * {@link #contextBuilder} with the OpenSSL provider), so that no handshake pays the conversion;
     * returns how many were prepared. Does nothing (returns 0) for the JDK provider, which keeps no
     * per-certificate state, and where Netty's internals differ from the version this was built
     * for (then handshakes convert on first use, as without this call). Call it once after
     * {@code build()}; it takes about 0.1 ms per certificate and may run on any thread.
     *
     * <pre>{@code
     * SslContext tls = AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).applicationProtocolConfig(alpn).build();
     * AutoCertSsl.prepareKeyMaterial(tls, autoCert);
     * }</pre>
     */
    public static int prepareKeyMaterial(SslContext context, AutoCert autoCert) {
        if (KeyMaterialAccess.FAILURE != null) {
            LOG.debug("autocert4j: cannot prepare OpenSSL key material ahead of handshakes: {}", KeyMaterialAccess.FAILURE);
            return 0;
        }
        if (!(context.sessionContext() instanceof OpenSslSessionContext session)) {
            return 0;
        }
        Set<String> aliases = new HashSet<>();
        int prepared = 0;
        try {
            Object provider = KeyMaterialAccess.PROVIDER.get(session);
            if (provider == null) {
                return 0;
            }
            for (CertificateStatus status : autoCert.status()) {
                String alias = autoCert.servedCertificate(status.names().get(0)).alias();
                if (!aliases.add(alias)) {
                    continue;
                }
                Object material = KeyMaterialAccess.CHOOSE.invoke(provider, ByteBufAllocator.DEFAULT, alias);
                if (material != null) {
                    ReferenceCountUtil.release(material); // the cache keeps its own reference
                    prepared++;
                }
            }
        } catch (ReflectiveOperationException | RuntimeException e) {
            LOG.debug("autocert4j: preparing OpenSSL key material stopped after {} certificates: {}", prepared, e.toString());
        }
        return prepared;
    }

    private static final Logger LOG = LoggerFactory.getLogger(AutoCertSsl.class);

    /**
     * Netty has no public way to fill its key material cache, only package-private members
     * (Netty 4.2: {@code OpenSslSessionContext.provider}, {@code OpenSslKeyMaterialProvider.chooseKeyMaterial});
     * looked up once, and if they are missing the preparation is skipped, never the handshake.
     */
    private static final class KeyMaterialAccess {
        static final Field PROVIDER;
        static final Method CHOOSE;
        static final String FAILURE;

        static {
            Field provider = null;
            Method choose = null;
            String failure = null;
            try {
                provider = OpenSslSessionContext.class.getDeclaredField("provider");
                provider.setAccessible(true);
                choose = Class.forName("io.netty.handler.ssl.OpenSslKeyMaterialProvider", false, OpenSslSessionContext.class.getClassLoader())
                        .getDeclaredMethod("chooseKeyMaterial", ByteBufAllocator.class, String.class);
                choose.setAccessible(true);
            } catch (ReflectiveOperationException | RuntimeException e) {
                failure = e.toString();
            }
            PROVIDER = provider;
            CHOOSE = choose;
            FAILURE = failure;
        }

        private KeyMaterialAccess() {
        }
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
