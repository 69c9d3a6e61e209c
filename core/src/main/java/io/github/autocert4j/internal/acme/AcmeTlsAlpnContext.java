package io.github.autocert4j.internal.acme;

import io.github.autocert4j.TlsAlpn01Responder;

import java.security.KeyManagementException;
import java.security.SecureRandom;
import java.util.List;
import java.util.function.BiFunction;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLContextSpi;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocketFactory;
import javax.net.ssl.SSLSessionContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManager;

/**
 * A JSSE {@link SSLContext} whose engines select the ALPN protocol {@code acme-tls/1} when a
 * client offers it (a TLS-ALPN-01 validation), so that the key manager can answer it with the
 * challenge certificate. JSSE ignores ALPN unless the server configured protocols or a selector,
 * and Jetty's plain connector and Tomcat configure neither for HTTP/1.1.
 *
 * <p>For every other handshake the selector does exactly what JSSE does without one: with no
 * protocols configured in the engine's {@link SSLParameters} ALPN is ignored; otherwise the first
 * configured protocol the client offers is chosen, and none in common ends the handshake with
 * {@code no_application_protocol}. A host that installs its own selector (Jetty's ALPN connection
 * factory, Netty's JDK provider) replaces this one: it must then select {@code acme-tls/1} itself.
 */
public final class AcmeTlsAlpnContext {
    /** The engine-level selector installed on every engine. */
    public static final BiFunction<SSLEngine, List<String>, String> SELECTOR = (engine, offered) -> {
        if (offered.contains(TlsAlpn01Responder.ACME_TLS_1)) {
            return TlsAlpn01Responder.ACME_TLS_1;
        }
        String[] configured = engine.getSSLParameters().getApplicationProtocols();
        if (configured == null || configured.length == 0) {
            return "";
        }
        for (String p : configured) {
            if (offered.contains(p)) {
                return p;
            }
        }
        return null;
    };

    private AcmeTlsAlpnContext() {
    }

    /** Wraps {@code delegate} (already initialized): same key material, sessions and sockets; engines get {@link #SELECTOR}. */
    public static SSLContext wrap(SSLContext delegate) {
        return new SSLContext(new Spi(delegate), delegate.getProvider(), delegate.getProtocol()) {
        };
    }

    private static final class Spi extends SSLContextSpi {
        private final SSLContext delegate;

        public Spi(SSLContext delegate) {
            this.delegate = delegate;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("autocert4j's SSLContext is already initialized with the live key manager");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return delegate.getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return delegate.getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            SSLEngine engine = delegate.createSSLEngine();
            engine.setHandshakeApplicationProtocolSelector(SELECTOR);
            return engine;
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            SSLEngine engine = delegate.createSSLEngine(host, port);
            engine.setHandshakeApplicationProtocolSelector(SELECTOR);
            return engine;
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return delegate.getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return delegate.getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return delegate.getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return delegate.getSupportedSSLParameters();
        }
    }
}
