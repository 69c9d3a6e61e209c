package io.github.autocert4j.quarkus;

import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLException;
import javax.net.ssl.TrustManagerFactory;

import io.github.autocert4j.AutoCert;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.IdentityCipherSuiteFilter;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.spi.tls.SslContextFactory;

/**
 * Vert.x 4's JDK SSL engine (Quarkus' HTTPS server) whose server contexts are built without Netty's
 * {@code JdkSslServerContext}. That class's static initialiser parses a key bundled in Netty (to
 * test a trust-manager wrapper) through BouncyCastle whenever bcpkix is on the class path, as it
 * always is with autocert4j (acme4j needs it), which instantiates BouncyCastle's whole JCA provider
 * from its signed jar: 0.4-0.9 s of CPU, on the event loop accepting a fresh server's first HTTPS
 * connection (docs/quarkus.md). The wrapper only matters for client certificates. The same class
 * as the Vert.x 5 adapter's {@code JdkServerEngineOptions} (this module does not depend on it).
 *
 * <p>{@link #sslContextFactory()} builds, for a server context with no trust manager and no client
 * authentication, the {@link JdkSslContext} Vert.x's {@code DefaultSslContextFactory} would get
 * from Netty's builder, except for the provider: a "TLS" {@link SSLContext} of
 * {@link AutoCert#tlsSessions()}'s {@code jsseProvider()} (a new JDK context after every certificate
 * swap, so that no client resumes a session or ticket of the replaced certificate, and session
 * lifetimes within the certificate's validity: docs/tls-sessions.md), the given cipher suites
 * or else the JDK's enabled ones (Vert.x's default for this engine), ALPN with fatal alerts on both
 * failure behaviours when Vert.x asks for ALPN with protocols, Netty's default protocols (Vert.x
 * sets the enabled ones on each engine), no session cache size or timeout. Every other request
 * (client contexts, trust managers, client authentication) goes to Vert.x's own factory, whose
 * contexts are not renewed on a swap. {@link #copy()} keeps this class and its {@link AutoCert}, so
 * Vert.x's copies of the server options keep it too.
 */
final class JdkServerEngineOptions extends JdkSSLEngineOptions {

    private final AutoCert autoCert;

    /** The JDK engine with Vert.x's default settings, serving {@code autoCert}'s certificates. */
    JdkServerEngineOptions(AutoCert autoCert) {
        this.autoCert = autoCert;
    }

    /** A copy of {@code that}'s settings (the worker-thread flag, Quarkus' pooled heap buffers), for {@code autoCert}. */
    JdkServerEngineOptions(JdkSSLEngineOptions that, AutoCert autoCert) {
        super(that);
        this.autoCert = autoCert;
    }

    @Override
    public JdkServerEngineOptions setUseWorkerThread(boolean useWorkerThread) {
        super.setUseWorkerThread(useWorkerThread);
        return this;
    }

    @Override
    public JdkServerEngineOptions copy() {
        return new JdkServerEngineOptions(this, autoCert);
    }

    @Override
    public SslContextFactory sslContextFactory() {
        return new Factory(super.sslContextFactory(), autoCert);
    }

    /**
     * Records what Vert.x asks and forwards it to Vert.x's own factory; {@link #create()} builds a
     * plain server context itself and leaves the rest to that factory.
     */
    static final class Factory implements SslContextFactory {
        private final SslContextFactory vertx;
        private final AutoCert autoCert;
        private boolean useAlpn;
        private ClientAuth clientAuth;
        private boolean forClient;
        private KeyManagerFactory keyManagers;
        private TrustManagerFactory trustManagers;
        private Set<String> cipherSuites;
        private List<String> applicationProtocols;

        Factory(SslContextFactory vertx, AutoCert autoCert) {
            this.vertx = vertx;
            this.autoCert = autoCert;
        }

        @Override
        public SslContextFactory useAlpn(boolean useAlpn) {
            this.useAlpn = useAlpn;
            vertx.useAlpn(useAlpn);
            return this;
        }

        @Override
        public SslContextFactory clientAuth(ClientAuth clientAuth) {
            this.clientAuth = clientAuth;
            vertx.clientAuth(clientAuth);
            return this;
        }

        @Override
        public SslContextFactory forClient(boolean forClient) {
            this.forClient = forClient;
            vertx.forClient(forClient);
            return this;
        }

        @Override
        public SslContextFactory keyMananagerFactory(KeyManagerFactory kmf) {
            this.keyManagers = kmf;
            vertx.keyMananagerFactory(kmf);
            return this;
        }

        @Override
        public SslContextFactory trustManagerFactory(TrustManagerFactory tmf) {
            this.trustManagers = tmf;
            vertx.trustManagerFactory(tmf);
            return this;
        }

        @Override
        public SslContextFactory enabledCipherSuites(Set<String> enabledCipherSuites) {
            this.cipherSuites = enabledCipherSuites;
            vertx.enabledCipherSuites(enabledCipherSuites);
            return this;
        }

        @Override
        public SslContextFactory applicationProtocols(List<String> applicationProtocols) {
            this.applicationProtocols = applicationProtocols;
            vertx.applicationProtocols(applicationProtocols);
            return this;
        }

        @Override
        public SslContextFactory serverName(String serverName) {
            vertx.serverName(serverName); // Vert.x's factory ignores it for the JDK engine; so does this one
            return this;
        }

        @Override
        public SslContext create() throws SSLException {
            if (forClient || keyManagers == null || trustManagers != null || (clientAuth != null && clientAuth != ClientAuth.NONE)) {
                return vertx.create();
            }
            try {
                // renewed on every certificate swap: no session or ticket resumes into a replaced certificate
                SSLContext context = SSLContext.getInstance("TLS", autoCert.tlsSessions().jsseProvider());
                context.init(keyManagers.getKeyManagers(), null, null);
                // Vert.x's default for the JDK engine: the suites a default "TLS" engine enables (DefaultJDKCipherSuite)
                Iterable<String> suites = cipherSuites != null && !cipherSuites.isEmpty() ? cipherSuites
                        : Arrays.asList(context.createSSLEngine().getEnabledCipherSuites());
                ApplicationProtocolConfig alpn = useAlpn && applicationProtocols != null && !applicationProtocols.isEmpty()
                        ? new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                                ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT,
                                ApplicationProtocolConfig.SelectedListenerFailureBehavior.FATAL_ALERT, applicationProtocols)
                        : null;
                return new JdkSslContext(context, false, suites, IdentityCipherSuiteFilter.INSTANCE, alpn, ClientAuth.NONE, null, false);
            } catch (GeneralSecurityException e) {
                throw new SSLException("failed to initialize the server-side SSL context", e);
            }
        }
    }
}
