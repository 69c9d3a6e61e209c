package io.github.autocert4j.testkit.internal;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

/**
 * One verified TLS connection kept open across several HTTP/1.1 requests: proves that a certificate
 * swap does not break connections opened before it.
 *
 * <pre>{@code
 * try (KeepAliveTlsClient open = new KeepAliveTlsClient(httpsAddress, "app.example.test", pebble.issuanceRoot())) {
 *     open.get("/before");
 *     autoCert.renewNow("app.example.test").get();
 *     open.get("/after");               // same connection, same session
 * }
 * }</pre>
 *
 * <p><strong>Not API</strong>: a helper for autocert4j's own tests (see the {@linkplain io.github.autocert4j.testkit.internal
 * package}); it may change without notice.
 */
public final class KeepAliveTlsClient implements AutoCloseable {
    private final SSLSocket socket;
    private final InputStream in;
    private final OutputStream out;
    private final String host;

    /** Connects to {@code addr} with SNI {@code host}, trusting only {@code root}, and completes a verified handshake. */
    public KeepAliveTlsClient(InetSocketAddress addr, String host, X509Certificate root) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("root", root);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        socket = (SSLSocket) ctx.getSocketFactory().createSocket(addr.getAddress(), addr.getPort());
        socket.setSoTimeout(10_000);
        SSLParameters p = socket.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(host)));
        p.setEndpointIdentificationAlgorithm("HTTPS");
        socket.setSSLParameters(p);
        socket.startHandshake();
        this.host = host;
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** Serial of the leaf certificate of this connection's session. */
    public BigInteger serial() throws Exception {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    /** Sends one GET and returns the body of a 200 response; throws if the connection broke or the status is not 200. */
    public String get(String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("connection closed while reading headers");
            }
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) || (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
        }
        String headers = head.toString(StandardCharsets.US_ASCII);
        if (!headers.startsWith("HTTP/1.1 200")) {
            throw new IOException("unexpected response: " + headers);
        }
        int length = 0;
        for (String line : headers.split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
