package io.github.autocert4j.internal.acme;

import java.security.KeyManagementException;
import java.security.Provider;
import java.security.SecureRandom;
import java.util.concurrent.Callable;

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
 * An SSL context made on its first use: {@code build()} reads and checks the ACME server trust PEM
 * but leaves the JSSE set-up (key store, trust manager factory, the provider's cipher tables: about
 * 190 classes) to the HTTP client's creation, off the caller's thread (issue 23). A failure then is
 * reported by the first ACME request, as any connection failure.
 */
final class LazySslContext extends SSLContext {

    LazySslContext(Callable<SSLContext> make) {
        super(new Spi(make), new Named(), "TLS");
    }

    /** What {@code getProvider()} answers (not null, for callers that read it); it offers no service. */
    private static final class Named extends Provider {
        private static final long serialVersionUID = 1L;

        Named() {
            super("autocert4j-acme-trust", "1.0", "autocert4j: the ACME server trust's TLS context, made at first use");
        }
    }

    private static final class Spi extends SSLContextSpi {
        private final Callable<SSLContext> make;
        private volatile SSLContext context;

        Spi(Callable<SSLContext> make) {
            this.make = make;
        }

        private SSLContext context() {
            SSLContext c = context;
            if (c == null) {
                synchronized (this) {
                    c = context;
                    if (c == null) {
                        try {
                            c = make.call();
                        } catch (Exception e) {
                            throw new IllegalStateException("cannot set up TLS with the ACME server trust: " + e.getMessage(), e);
                        }
                        context = c;
                    }
                }
            }
            return c;
        }

        @Override
        protected void engineInit(KeyManager[] km, TrustManager[] tm, SecureRandom sr) throws KeyManagementException {
            throw new KeyManagementException("already initialised with the ACME server trust");
        }

        @Override
        protected SSLSocketFactory engineGetSocketFactory() {
            return context().getSocketFactory();
        }

        @Override
        protected SSLServerSocketFactory engineGetServerSocketFactory() {
            return context().getServerSocketFactory();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine() {
            return context().createSSLEngine();
        }

        @Override
        protected SSLEngine engineCreateSSLEngine(String host, int port) {
            return context().createSSLEngine(host, port);
        }

        @Override
        protected SSLSessionContext engineGetServerSessionContext() {
            return context().getServerSessionContext();
        }

        @Override
        protected SSLSessionContext engineGetClientSessionContext() {
            return context().getClientSessionContext();
        }

        @Override
        protected SSLParameters engineGetDefaultSSLParameters() {
            return context().getDefaultSSLParameters();
        }

        @Override
        protected SSLParameters engineGetSupportedSSLParameters() {
            return context().getSupportedSSLParameters();
        }
    }
}
