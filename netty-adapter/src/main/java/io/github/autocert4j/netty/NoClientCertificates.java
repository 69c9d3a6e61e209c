package io.github.autocert4j.netty;

import java.net.Socket;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;

import io.netty.handler.ssl.util.SimpleTrustManagerFactory;

/**
 * The trust of the server contexts this module builds, which ask no client for a certificate: it trusts no
 * certificate and names no acceptable issuer. Without a trust manager of their own, Netty's OpenSSL server context
 * takes the JDK's default one and copies every CA certificate of the JDK's trust store into each OpenSSL context
 * (PEM-encoded and parsed again: ~140 certificates, the acceptable-issuer list of a client-certificate request that
 * these contexts never send), and a JSSE {@code SSLContext} loads that trust store at {@code init}: in a fresh JVM
 * 0.1 s of the first OpenSSL context and about 0.3 s of CPU with the JIT work it starts (docs/startup.md). A host that
 * wants client certificates sets its own trust manager on {@link AutoCertSsl#contextBuilder}, which replaces this one.
 *
 * <pre>{@code
 * SslContextBuilder.forServer(keyManagerFactory).trustManager(NoClientCertificates.FACTORY)   // this module's contexts
 * }</pre>
 */
final class NoClientCertificates extends X509ExtendedTrustManager {
    static final NoClientCertificates INSTANCE = new NoClientCertificates();

    /** For {@code SslContextBuilder.trustManager(TrustManagerFactory)} (Netty 4.1 and 4.2). */
    static final TrustManagerFactory FACTORY = new SimpleTrustManagerFactory() {
        @Override
        protected void engineInit(KeyStore keyStore) {
        }

        @Override
        protected void engineInit(ManagerFactoryParameters params) {
        }

        @Override
        protected TrustManager[] engineGetTrustManagers() {
            return new TrustManager[] {INSTANCE};
        }
    };

    private static final X509Certificate[] NONE = new X509Certificate[0];

    private NoClientCertificates() {
    }

    /** For {@code SSLContext.init}. */
    static TrustManager[] managers() {
        return new TrustManager[] {INSTANCE};
    }

    private static CertificateException rejected() {
        return new CertificateException("this server context asks for no client certificate and trusts none "
                + "(AutoCertSsl.noClientCertificates()). Fix: for client authentication build the context with a trust manager "
                + "of your own, e.g. AutoCertSsl.contextBuilder(...).clientAuth(...).trustManager(...)");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw rejected();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw rejected();
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw rejected();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
        throw rejected();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
        throw rejected();
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
        throw rejected();
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
        return NONE;
    }
}
