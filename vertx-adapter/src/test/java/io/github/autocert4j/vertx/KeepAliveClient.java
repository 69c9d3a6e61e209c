package io.github.autocert4j.vertx;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

import java.security.GeneralSecurityException;
import java.security.KeyStore;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;


/**
 * One kept-alive HTTPS/1.1 connection: verified against {@code root} and the name (SNI set), then
 * any number of GETs whose bodies (Content-Length framed) are returned.
 */
final class KeepAliveClient implements AutoCloseable {
    private final SSLSocket socket;
    private final String host;
    private final InputStream in;
    private final OutputStream out;

    KeepAliveClient(InetSocketAddress addr, String host, X509Certificate root, Duration timeout) throws IOException {
        this.host = host;
        Socket plain = new Socket();
        plain.connect(addr, (int) timeout.toMillis());
        socket = (SSLSocket) trustingOnly(root).getSocketFactory().createSocket(plain, host, addr.getPort(), true);
        SSLParameters p = socket.getSSLParameters();
        p.setEndpointIdentificationAlgorithm("HTTPS");
        p.setServerNames(List.of(new SNIHostName(host)));
        socket.setSSLParameters(p);
        socket.setSoTimeout((int) timeout.toMillis());
        socket.startHandshake();
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    /** A fresh TLS client context trusting {@code root} only (no session resumption across clients). */
    static SSLContext trustingOnly(X509Certificate root) throws IOException {
        try {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(null, null);
            ks.setCertificateEntry("root", root);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot build a client TLS context: " + e, e);
        }
    }

    BigInteger serial() throws IOException {
        return ((X509Certificate) socket.getSession().getPeerCertificates()[0]).getSerialNumber();
    }

    String get(String path) throws IOException {
        out.write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        String head = readHead();
        if (!head.startsWith("HTTP/1.1 200")) {
            throw new IOException("not 200: " + head);
        }
        int length = -1;
        for (String line : head.split("\r\n")) {
            if (line.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        if (length < 0) {
            throw new IOException("no Content-Length: " + head);
        }
        byte[] body = in.readNBytes(length);
        if (body.length != length) {
            throw new IOException("connection closed in the body");
        }
        return new String(body, StandardCharsets.UTF_8);
    }

    private String readHead() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        int state = 0;
        while (state < 4) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed before the response head");
            }
            b.write(c);
            state = (c == '\r' && (state == 0 || state == 2)) || (c == '\n' && (state == 1 || state == 3)) ? state + 1 : (c == '\r' ? 1 : 0);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
