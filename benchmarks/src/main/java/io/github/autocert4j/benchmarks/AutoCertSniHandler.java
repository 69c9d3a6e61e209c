package io.github.autocert4j.benchmarks;

import java.net.Socket;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import javax.net.ssl.KeyManager;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedKeyManager;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.NoClientCertificates;
import io.github.autocert4j.ServedCertificate;
import io.netty.handler.ssl.OpenSslCachingX509KeyManagerFactory;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.SimpleKeyManagerFactory;
import io.netty.util.Mapping;

/**
 * A Netty {@link SniHandler} that serves every AutoCert certificate from its own static
 * {@link SslContext}: it reads the SNI name from the ClientHello, asks
 * {@link AutoCert#servedCertificate(String)} which certificate that name gets right now, and
 * replaces itself with an {@code SslHandler} of the context built for exactly that certificate.
 * The certificate is chosen once per connection, before the TLS engine exists; the handshake
 * itself runs exactly as with a hand-built static context. Both this handler and
 * {@code AutoCertSsl.serverContext(autoCert)} cost the same per handshake as a static context
 * (see {@code benchmarks/RESULTS.md}); this one builds a context per certificate on first use
 * (about 0.1 ms) and keeps it in a bounded cache.
 *
 * <p>Each context is built from a one-certificate key manager and, unless the customizer sets a
 * trust manager, accepts no client certificates.
 *
 * <p>Handlers are per channel; the contexts are shared: create one {@link Contexts} per listener
 * with {@link #contexts(AutoCert, SslProvider)} and call {@link Contexts#newHandler()} for each
 * channel. A renewal yields a new {@link ServedCertificate#alias()}, so new connections get a new
 * context while open connections keep theirs. A ClientHello without SNI gets the default
 * certificate (the first one configured).
 *
 * <pre>{@code
 * AutoCertSniHandler.Contexts tls = AutoCertSniHandler.contexts(autoCert);
 * // in ChannelInitializer.initChannel(ch):
 * ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new MyApp());
 * }</pre>
 */
final class AutoCertSniHandler extends SniHandler {

    /** Shared per-certificate contexts with Netty's default protocols and ciphers; {@link Contexts#newHandler()} per channel. */
    static Contexts contexts(AutoCert autoCert, SslProvider provider) {
        return new Contexts(autoCert, provider, b -> { });
    }

    private AutoCertSniHandler(Contexts contexts) {
        super(contexts);
    }

    /**
     * The shared, thread-safe mapping from SNI name to a static {@link SslContext} per live
     * certificate, cached by {@link ServedCertificate#alias()}.
     *
     * <p>The cache is bounded: it holds at most {@code max(64, min(10,000, 2 x certificates + 16))}
     * contexts (certificates counted when it is created; a context costs roughly 15-40 KB and
     * about 0.1 ms to build). When an insert goes over that bound, contexts of
     * certificates that are no longer served (replaced by a renewal) are dropped; if it is still
     * over (more live certificates than the bound), arbitrary entries are dropped down to three
     * quarters of it and rebuilt on demand. Dropped contexts stay usable by the connections that
     * hold them and are freed by the garbage collector.
     *
     * <pre>{@code
     * AutoCertSniHandler.Contexts tls = AutoCertSniHandler.contexts(autoCert, SslProvider.OPENSSL,
     *         b -> b.protocols("TLSv1.3", "TLSv1.2"));
     * ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new MyApp());
     * }</pre>
     */
    public static final class Contexts implements Mapping<String, SslContext> {
        /** Upper bound of the default capacity: a context costs roughly 15-40 KB of heap and native memory. */
        static final int MAX_CAPACITY = 10_000;
        private final AutoCert autoCert;
        private final SslProvider provider;
        private final Consumer<SslContextBuilder> customizer;
        private final int capacity;
        private final ConcurrentHashMap<String, Cached> byAlias = new ConcurrentHashMap<>();

        Contexts(AutoCert autoCert, SslProvider provider, Consumer<SslContextBuilder> customizer) {
            this(autoCert, provider, customizer, 0);
        }

        /** {@code capacity} > 0 overrides the default bound (tests). */
        Contexts(AutoCert autoCert, SslProvider provider, Consumer<SslContextBuilder> customizer, int capacity) {
            this.autoCert = Objects.requireNonNull(autoCert, "autoCert");
            this.provider = Objects.requireNonNull(provider, "provider");
            this.customizer = Objects.requireNonNull(customizer, "customizer");
            if (provider == SslProvider.OPENSSL_REFCNT) {
                throw new IllegalArgumentException("use SslProvider.OPENSSL: contexts dropped from the cache are freed by the garbage "
                        + "collector, reference-counted ones would have to be released while connections may still use them");
            }
            this.capacity = capacity > 0 ? capacity : Math.max(64, Math.min(MAX_CAPACITY, 2 * autoCert.status().size() + 16));
            map(null); // fail fast on a bad customizer: builds the context of the default certificate
        }

        /** A new handler for one channel; put it first in the pipeline, where an {@code SslHandler} would go. */
        public AutoCertSniHandler newHandler() {
            return new AutoCertSniHandler(this);
        }

        /**
         * The context for the certificate {@code serverName} gets right now ({@code null}: no SNI,
         * the default certificate).
         *
         * @throws IllegalStateException if the context cannot be built (for example a bad customizer)
         */
        @Override
        public SslContext map(String serverName) {
            ServedCertificate served = autoCert.servedCertificate(serverName);
            Cached hit = byAlias.get(served.alias());
            if (hit != null) {
                return hit.context;
            }
            Cached added = byAlias.computeIfAbsent(served.alias(), alias -> new Cached(build(served), serverName));
            if (byAlias.size() > capacity) {
                trim();
            }
            return added.context;
        }

        /** Number of cached contexts (for tests and metrics). */
        int cachedContexts() {
            return byAlias.size();
        }

        int capacity() {
            return capacity;
        }

        private SslContext build(ServedCertificate c) {
            // Not forServer(key, chain): Netty would put the key into a password-protected PKCS#12
            // key store (PBKDF2, several ms per context). A one-certificate key manager builds in
            // ~0.1 ms; with OpenSSL it is wrapped in Netty's key material cache, which is what a
            // static context does too.
            KeyManagerFactory factory = new SingleKeyManagerFactory(new SingleKeyManager(c.privateKey(), c.chain()));
            if (provider == SslProvider.OPENSSL) {
                factory = new OpenSslCachingX509KeyManagerFactory(factory, 2);
            }
            // No client certificates unless the customizer sets a trust manager: Netty's default
            // would load and encode the JDK's CA certificates into every context (~25 ms, ~1 MB).
            SslContextBuilder b = SslContextBuilder.forServer(factory).sslProvider(provider).trustManager(NoClientCertificates.factory());
            customizer.accept(b);
            try {
                return b.build();
            } catch (SSLException e) {
                throw new IllegalStateException("cannot build the TLS context for " + c, e);
            }
        }

        private synchronized void trim() {
            if (byAlias.size() <= capacity) {
                return;
            }
            // Replaced certificates first: the name an entry was built for now maps to another alias.
            byAlias.entrySet().removeIf(e -> !autoCert.servedCertificate(e.getValue().serverName).alias().equals(e.getKey()));
            if (byAlias.size() > capacity) {
                Iterator<String> it = byAlias.keySet().iterator();
                while (byAlias.size() > capacity * 3 / 4 && it.hasNext()) {
                    it.next();
                    it.remove();
                }
            }
        }

        @Override
        public String toString() {
            return "AutoCertSniHandler.Contexts[provider=" + provider + ", cached=" + byAlias.size() + ", capacity=" + capacity + "]";
        }
    }

    /** Serves exactly one certificate, to every handshake whose key type fits. */
    private static final class SingleKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "served";
        private final PrivateKey key;
        private final X509Certificate[] chain;

        SingleKeyManager(PrivateKey key, List<X509Certificate> chain) {
            this.key = key;
            this.chain = chain.toArray(new X509Certificate[0]);
        }

        private String alias(String keyType) {
            if (keyType == null) {
                return ALIAS;
            }
            // JSSE asks for "EC"/"RSA"/"RSASSA-PSS"; Netty's OpenSSL engine also for "EC_EC" etc.
            return switch (key.getAlgorithm()) {
                case "EC", "ECDSA" -> keyType.equals("EC") || keyType.equals("EC_EC") ? ALIAS : null;
                default -> keyType.equals(key.getAlgorithm()) ? ALIAS : null;
            };
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return alias(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return alias(keyType);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String a = alias(keyType);
            return a == null ? null : new String[] {a};
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? chain.clone() : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key : null;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public String toString() {
            return "SingleKeyManager[serial=" + chain[0].getSerialNumber().toString(16) + "]"; // never the key
        }
    }

    private static final class SingleKeyManagerFactory extends SimpleKeyManagerFactory {
        private final KeyManager[] managers;

        SingleKeyManagerFactory(X509ExtendedKeyManager manager) {
            this.managers = new KeyManager[] {manager};
        }

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
    }

    /** A context and a server name it was built for (to tell later whether its certificate is still served). */
    private record Cached(SslContext context, String serverName) {
    }
}
