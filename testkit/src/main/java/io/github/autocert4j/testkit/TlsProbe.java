package io.github.autocert4j.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * Connects to a TLS server the way a strict client would and reports which certificate chain it served.
 *
 * <p>Every call uses a fresh {@link SSLContext} (so no TLS session is ever resumed and each call sees the
 * certificate the server selects right now), trusts only the given root, sends the given SNI name and verifies
 * the served certificate against that name (endpoint identification {@code "HTTPS"}).
 *
 * <pre>{@code
 * X509Certificate root = pebble.issuanceRoot();
 * TlsProbe.Result r = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", 8443), "app.test",
 *         root, Duration.ofSeconds(5));
 * assertEquals(expectedSerial, r.serial());
 *
 * TlsProbe.HttpResult page = TlsProbe.httpsGet(new InetSocketAddress("127.0.0.1", 8443), "app.test", "/",
 *         root, Duration.ofSeconds(5));
 * assertEquals(200, page.status());
 * }</pre>
 */
public final class TlsProbe {

    private static final int MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

    private TlsProbe() {
    }

    /**
     * Outcome of a successful, verified handshake.
     *
     * @param chain       the certificate chain the server sent, leaf first
     * @param protocol    negotiated protocol, e.g. {@code TLSv1.3}
     * @param cipherSuite negotiated cipher suite
     */
    public record Result(List<X509Certificate> chain, String protocol, String cipherSuite) {
        /** Creates a result; the chain is copied. */
        public Result {
            chain = List.copyOf(chain);
        }

        /** The served leaf certificate. */
        public X509Certificate leaf() {
            return chain.get(0);
        }

        /** Serial number of the served leaf certificate. */
        public BigInteger serial() {
            return leaf().getSerialNumber();
        }
    }

    /**
     * Response of {@link #httpsGet}.
     *
     * @param status HTTP status code of the response
     * @param body   response body decoded as UTF-8 (chunked transfer coding removed)
     * @param serial serial number of the leaf certificate the server presented
     */
    public record HttpResult(int status, String body, BigInteger serial) {
    }

    /**
     * Performs a TLS handshake with {@code addr}, sending SNI {@code sniHost}, trusting only {@code trustedRoot}
     * and verifying that the served certificate is valid for {@code sniHost}. An IP address as {@code sniHost}
     * sends no SNI at all (as browsers connecting to an IP address) and checks the certificate's IP entries.
     *
     * @param addr        where to connect (for tests: a loopback address)
     * @param sniHost     host name sent as SNI and checked against the served certificate
     * @param trustedRoot the only trust anchor
     * @param timeout     bound for connect and for each read during the handshake
     * @return the served chain, protocol and cipher suite
     * @throws javax.net.ssl.SSLHandshakeException if the handshake or the certificate verification fails
     * @throws IOException                         on connection errors or timeouts
     */
    public static Result handshake(InetSocketAddress addr, String sniHost, X509Certificate trustedRoot,
            Duration timeout) throws IOException {
        try (SSLSocket socket = open(addr, sniHost, trustedRoot, timeout)) {
            return result(socket.getSession());
        }
    }

    /**
     * Sends a minimal {@code GET} request (HTTP/1.1, {@code Host} header, {@code Connection: close}) over a socket
     * set up exactly like {@link #handshake} and reads the whole response.
     *
     * @param addr        where to connect
     * @param host        host name used for SNI, certificate verification and the {@code Host} header
     * @param path        request target, e.g. {@code "/"}
     * @param trustedRoot the only trust anchor
     * @param timeout     overall bound for connect, handshake and reading the response
     * @return status, body and the leaf serial the server presented
     * @throws javax.net.ssl.SSLHandshakeException if the handshake or the certificate verification fails
     * @throws IOException                         on connection errors, timeouts or a malformed response
     */
    public static HttpResult httpsGet(InetSocketAddress addr, String host, String path, X509Certificate trustedRoot,
            Duration timeout) throws IOException {
        Objects.requireNonNull(path, "path");
        long deadline = System.nanoTime() + timeout.toNanos();
        try (SSLSocket socket = open(addr, host, trustedRoot, timeout)) {
            BigInteger serial = result(socket.getSession()).serial();
            String hostHeader = hostHeader(host, addr.getPort());
            String request = "GET " + path + " HTTP/1.1\r\n"
                    + "Host: " + hostHeader + "\r\n"
                    + "User-Agent: autocert4j-testkit\r\n"
                    + "Accept: */*\r\n"
                    + "Connection: close\r\n\r\n";
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] raw = readAll(socket, deadline);
            return parse(raw, serial);
        }
    }

    private static SSLSocket open(InetSocketAddress addr, String sniHost, X509Certificate trustedRoot,
            Duration timeout) throws IOException {
        Objects.requireNonNull(addr, "addr");
        Objects.requireNonNull(sniHost, "sniHost");
        Objects.requireNonNull(trustedRoot, "trustedRoot");
        int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, timeout.toMillis()));
        SSLContext ctx = TestCerts.trustingOnly(trustedRoot); // fresh context: no session resumption
        Socket plain = new Socket();
        try {
            plain.connect(addr, millis);
            plain.setSoTimeout(millis);
            SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(plain, sniHost, addr.getPort(), true);
            SSLParameters params = ssl.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            // An IP address is never sent as SNI (RFC 6066): such a probe is a handshake without SNI,
            // and endpoint identification then checks the certificate's iPAddress entries.
            params.setServerNames(TestCerts.isIpLiteral(sniHost) ? List.of() : List.of(new SNIHostName(sniHost)));
            ssl.setSSLParameters(params);
            ssl.setSoTimeout(millis);
            try {
                ssl.startHandshake();
            } catch (IOException e) {
                ssl.close();
                throw e;
            }
            return ssl;
        } catch (IOException | RuntimeException e) {
            plain.close();
            throw e;
        }
    }

    private static Result result(SSLSession session) throws IOException {
        List<X509Certificate> chain = new ArrayList<>();
        for (Certificate c : session.getPeerCertificates()) {
            chain.add((X509Certificate) c);
        }
        return new Result(chain, session.getProtocol(), session.getCipherSuite());
    }

    private static String hostHeader(String host, int port) {
        String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
        return port == 443 ? h : h + ":" + port;
    }

    private static byte[] readAll(Socket socket, long deadline) throws IOException {
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException("HTTPS response not complete within the timeout");
            }
            socket.setSoTimeout((int) Math.max(1, Math.min(Integer.MAX_VALUE, left / 1_000_000)));
            int n;
            try {
                n = in.read(chunk);
            } catch (javax.net.ssl.SSLException e) {
                // some servers close without close_notify after a Connection: close response
                if (buf.size() > 0) {
                    break;
                }
                throw e;
            }
            if (n < 0) {
                break;
            }
            buf.write(chunk, 0, n);
            if (buf.size() > MAX_RESPONSE_BYTES) {
                throw new IOException("HTTPS response larger than " + MAX_RESPONSE_BYTES + " bytes");
            }
            if (complete(buf.toByteArray())) {
                break;
            }
        }
        return buf.toByteArray();
    }

    /** True once a response with Content-Length or chunked coding has been fully received. */
    private static boolean complete(byte[] raw) {
        int headerEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headerEnd < 0) {
            return false;
        }
        String headers = new String(raw, 0, headerEnd, StandardCharsets.ISO_8859_1);
        int bodyStart = headerEnd + 4;
        String cl = header(headers, "content-length");
        if (cl != null) {
            return raw.length - bodyStart >= Long.parseLong(cl.trim());
        }
        String te = header(headers, "transfer-encoding");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            try {
                return dechunk(raw, bodyStart) != null;
            } catch (IOException e) {
                return false;
            }
        }
        return false; // read until EOF
    }

    private static HttpResult parse(byte[] raw, BigInteger serial) throws IOException {
        int headerEnd = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.US_ASCII), 0);
        if (headerEnd < 0) {
            throw new IOException("malformed HTTP response (no end of headers): "
                    + new String(raw, 0, Math.min(raw.length, 200), StandardCharsets.ISO_8859_1));
        }
        String headers = new String(raw, 0, headerEnd, StandardCharsets.ISO_8859_1);
        String statusLine = headers.split("\r\n", 2)[0];
        String[] parts = statusLine.split(" ", 3);
        if (parts.length < 2 || !parts[0].startsWith("HTTP/")) {
            throw new IOException("malformed HTTP status line: " + statusLine);
        }
        int status;
        try {
            status = Integer.parseInt(parts[1]);
        } catch (NumberFormatException e) {
            throw new IOException("malformed HTTP status line: " + statusLine, e);
        }
        int bodyStart = headerEnd + 4;
        byte[] body;
        String te = header(headers, "transfer-encoding");
        String cl = header(headers, "content-length");
        if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
            body = dechunk(raw, bodyStart);
            if (body == null) {
                throw new IOException("truncated chunked HTTP response");
            }
        } else if (cl != null) {
            int len = Integer.parseInt(cl.trim());
            if (raw.length - bodyStart < len) {
                throw new IOException("truncated HTTP response: expected " + len + " body bytes, got "
                        + (raw.length - bodyStart));
            }
            body = java.util.Arrays.copyOfRange(raw, bodyStart, bodyStart + len);
        } else {
            body = java.util.Arrays.copyOfRange(raw, bodyStart, raw.length);
        }
        return new HttpResult(status, new String(body, StandardCharsets.UTF_8), serial);
    }

    private static String header(String headers, String name) {
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).trim().equalsIgnoreCase(name)) {
                return line.substring(colon + 1).trim();
            }
        }
        return null;
    }

    /** Decodes a chunked body starting at {@code pos}; null if incomplete. */
    private static byte[] dechunk(byte[] raw, int pos) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] crlf = {'\r', '\n'};
        while (true) {
            int eol = indexOf(raw, crlf, pos);
            if (eol < 0) {
                return null;
            }
            String sizeLine = new String(raw, pos, eol - pos, StandardCharsets.US_ASCII);
            int semi = sizeLine.indexOf(';');
            int size;
            try {
                size = Integer.parseInt((semi >= 0 ? sizeLine.substring(0, semi) : sizeLine).trim(), 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size line: " + sizeLine, e);
            }
            pos = eol + 2;
            if (size == 0) {
                return out.toByteArray(); // trailers ignored
            }
            if (raw.length < pos + size + 2) {
                return null;
            }
            out.write(raw, pos, size);
            pos += size + 2;
        }
    }

    private static int indexOf(byte[] hay, byte[] needle, int from) {
        outer:
        for (int i = from; i <= hay.length - needle.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
