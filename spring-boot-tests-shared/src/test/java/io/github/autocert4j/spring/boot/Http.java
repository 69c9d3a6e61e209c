package io.github.autocert4j.spring.boot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.testkit.internal.UnverifiedTls;

/** Small real clients for the tests: raw plain HTTP, a TLS handshake that accepts any chain, bounded waits. */
final class Http {
    private Http() {
    }

    /** A plain-HTTP response: status, headers (lower-case names), body. */
    record Response(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** Sends one request with the given Host over a new connection to 127.0.0.1:{@code port} and reads the whole answer. */
    static Response plain(int port, String method, String host, String target) throws IOException {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            return exchange(socket, method, host, target);
        }
    }

    /** A GET over TLS that accepts any certificate (an expired one included), for reading a server whose certificate ran out. */
    static Response httpsTrustingAnything(InetSocketAddress address, String host, String target) throws Exception {
        try (Socket plain = new Socket()) {
            plain.connect(address, 5000);
            try (SSLSocket ssl = (SSLSocket) UnverifiedTls.trustingAnything().getSocketFactory().createSocket(plain, host, address.getPort(), true)) {
                SSLParameters params = ssl.getSSLParameters();
                params.setServerNames(List.of(new SNIHostName(host)));
                ssl.setSSLParameters(params);
                return exchange(ssl, "GET", host, target);
            }
        }
    }

    private static Response exchange(Socket socket, String method, String host, String target) throws IOException {
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        boolean body = !method.equals("GET") && !method.equals("HEAD");
        out.write((method + " " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
                + (body ? "Content-Length: 0\r\n" : "") + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.flush();
        InputStream in = socket.getInputStream();
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        try {
            for (int n; (n = in.read(chunk)) > 0 && buf.size() < 1 << 20; ) {
                buf.write(chunk, 0, n);
            }
        } catch (javax.net.ssl.SSLException closedWithoutCloseNotify) {
            if (buf.size() == 0) {
                throw closedWithoutCloseNotify;
            }
        }
        String raw = buf.toString(StandardCharsets.ISO_8859_1);
        int end = raw.indexOf("\r\n\r\n");
        String head = end < 0 ? raw : raw.substring(0, end);
        String[] lines = head.split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
            }
        }
        String content = end < 0 ? "" : raw.substring(end + 4);
        if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
            content = dechunk(content);
        }
        return new Response(status, headers, content);
    }

    private static String dechunk(String chunked) {
        StringBuilder out = new StringBuilder();
        int at = 0;
        while (at < chunked.length()) {
            int lineEnd = chunked.indexOf("\r\n", at);
            if (lineEnd < 0) {
                break;
            }
            String sizeField = chunked.substring(at, lineEnd);
            int semicolon = sizeField.indexOf(';');
            int size = Integer.parseInt((semicolon >= 0 ? sizeField.substring(0, semicolon) : sizeField).trim(), 16);
            if (size == 0) {
                break;
            }
            out.append(chunked, lineEnd + 2, Math.min(chunked.length(), lineEnd + 2 + size));
            at = lineEnd + 2 + size + 2;
        }
        return out.toString();
    }

    /** The leaf a TLS server presents for SNI {@code sni}, trusting anything (to look at a self-signed fallback). */
    static X509Certificate servedLeafTrustingAnything(InetSocketAddress address, String sni) throws Exception {
        return UnverifiedTls.servedLeaf(address, sni, 5000);
    }

    /** The first string or number value of {@code "key"} in a JSON text (enough for Actuator's small answers). */
    static String json(String body, String key) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(key) + "\"\\s*:\\s*(\"([^\"]*)\"|[-0-9.eE]+|null|true|false)").matcher(body);
        if (!m.find()) {
            return null;
        }
        return m.group(2) != null ? m.group(2) : m.group(1);
    }

    /** Polls {@code condition} every 100 ms until it holds; fails after {@code timeout}. */
    static void await(String what, Duration timeout, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeout.toSeconds() + " s waiting for " + what);
            }
            Thread.sleep(100);
        }
    }
}
