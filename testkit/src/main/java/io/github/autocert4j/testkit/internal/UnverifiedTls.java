package io.github.autocert4j.testkit.internal;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/**
 * A TLS client that trusts any server certificate, for tests that must look at what a server
 * presents whether or not it verifies (a self-signed fallback, a TLS-ALPN-01 challenge
 * certificate, traffic during a swap). Tests that check the served chain use
 * {@link io.github.autocert4j.testkit.TlsProbe}, which verifies.
 *
 * <pre>{@code
 * X509Certificate leaf = UnverifiedTls.servedLeaf(new InetSocketAddress("127.0.0.1", 8443), "app.example.test", 5_000);
 * }</pre>
 */
public final class UnverifiedTls {
    private UnverifiedTls() {
    }

    /** A TLS context whose client side accepts any server certificate. */
    public static SSLContext trustingAnything() {
        try {
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, new TrustManager[] {new X509TrustManager() {
                @Override
                public void checkClientTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public void checkServerTrusted(X509Certificate[] chain, String authType) {
                }

                @Override
                public X509Certificate[] getAcceptedIssuers() {
                    return new X509Certificate[0];
                }
            }}, null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("this JVM has no TLS SSLContext", e);
        }
    }

    /** The leaf a server presents to a handshake with SNI {@code sni}, with {@code timeoutMillis} to connect and to read. */
    public static X509Certificate servedLeaf(InetSocketAddress address, String sni, int timeoutMillis) throws IOException {
        try (Socket plain = new Socket()) {
            plain.connect(address, timeoutMillis);
            plain.setSoTimeout(timeoutMillis);
            try (SSLSocket ssl = (SSLSocket) trustingAnything().getSocketFactory().createSocket(plain, sni, address.getPort(), true)) {
                SSLParameters params = ssl.getSSLParameters();
                params.setServerNames(List.of(new SNIHostName(sni)));
                ssl.setSSLParameters(params);
                ssl.startHandshake();
                return (X509Certificate) ssl.getSession().getPeerCertificates()[0];
            }
        }
    }
}
