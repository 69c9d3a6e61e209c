package io.github.autocert4j;

import java.net.Socket;
import java.security.KeyStore;
import java.security.Provider;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;

import javax.net.ssl.ManagerFactoryParameters;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.TrustManagerFactorySpi;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * The trust of a server context that asks no client for a certificate: it trusts no certificate and names no
 * acceptable issuer. The Netty adapter's and the Spring Boot starter's server contexts use it. Without a trust
 * manager of their own, Netty's OpenSSL server contexts take the JDK's default one and copy every CA certificate of
 * the JDK's trust store into each context (PEM-encoded and parsed again: ~140 in Debian's {@code cacerts}, the
 * issuer list of a client-certificate request such a context never sends), and a JSSE {@code SSLContext} loads the
 * trust store at {@code init}: in a fresh JVM 0.1 s of the first OpenSSL context, 16-18 ms of each later one
 * (docs/startup.md). A context that does want client certificates sets a trust manager of its own instead.
 *
 * <pre>{@code
 * SslContext one = SslContextBuilder.forServer(served.privateKey(), served.chain())
 *         .trustManager(NoClientCertificates.factory()).build();               // Netty
 * sslContext.init(keyManagers, NoClientCertificates.managers(), null);         // JSSE
 * }</pre>
 */
public final class NoClientCertificates extends X509ExtendedTrustManager {
    /** The one instance: it holds no state. */
    public static final NoClientCertificates INSTANCE = new NoClientCertificates();

    private static final X509Certificate[] NONE = new X509Certificate[0];
    private static final Provider PROVIDER = new Provider("autocert4j-no-client-certificates", "1.0",
            "a trust manager factory whose trust manager trusts no certificate") {
        private static final long serialVersionUID = 1L;
    };
    private static final TrustManagerFactory FACTORY = new TrustManagerFactory(new TrustManagerFactorySpi() {
        @Override
        protected void engineInit(KeyStore keyStore) {
        }

        @Override
        protected void engineInit(ManagerFactoryParameters params) {
        }

        @Override
        protected TrustManager[] engineGetTrustManagers() {
            return managers();
        }
    }, PROVIDER, "NoClientCertificates") {
    };

    private NoClientCertificates() {
    }

    /** For {@code SSLContext.init}: an array holding {@link #INSTANCE}. */
    public static TrustManager[] managers() {
        return new TrustManager[] {INSTANCE};
    }

    /** For builders that take a factory (Netty's {@code SslContextBuilder.trustManager}): its managers are {@link #managers()}; {@code init} does nothing. */
    public static TrustManagerFactory factory() {
        return FACTORY;
    }

    private static CertificateException rejected() {
        return new CertificateException("this server context asks for no client certificate and trusts none "
                + "(NoClientCertificates). Fix: for client authentication build the context with a trust manager "
                + "of your own, e.g. AutoCertSsl.contextBuilder(...).clientAuth(...).trustManager(...) with autocert4j-netty");
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
