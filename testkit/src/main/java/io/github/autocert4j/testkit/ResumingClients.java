package io.github.autocert4j.testkit;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.SSLSocket;

/**
 * TLS clients that keep and offer sessions, as browsers do, to check which certificate a server
 * serves to a client that resumes: a Java client reusing one {@link SSLContext} (its session
 * cache: TLS 1.2 session IDs, TLS 1.3 tickets) and {@code openssl s_client} with
 * {@code -sess_out}/{@code -sess_in}.
 */
public final class ResumingClients {
    private static final Pattern SERVER_CERT = Pattern.compile("-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", Pattern.DOTALL);

    private ResumingClients() {
    }

    /**
     * One connection's outcome.
     *
     * @param serial the leaf serial of the session's certificate (on a resumption: the certificate
     *        of the session resumed, which the server does not send again)
     * @param reused whether the handshake resumed an earlier session
     * @param protocol the negotiated protocol
     */
    public record Connection(BigInteger serial, boolean reused, String protocol) {
    }

    /**
     * A Java client that keeps one {@link SSLContext} and so offers the sessions it got before
     * (the JDK's client session cache, keyed by host and port). Resumption is recognised by the
     * session's identity: the JDK hands back the cached session object on a TLS 1.2 resumption and
     * keeps the creation time of the resumed session on a TLS 1.3 one.
     */
    public static final class Java {
        private final SSLContext context;
        private final String protocol;
        private final List<SSLSession> seen = new ArrayList<>();

        /**
         * @param trustedRoot the only trust anchor
         * @param protocol {@code TLSv1.2} or {@code TLSv1.3}
         */
        public Java(X509Certificate trustedRoot, String protocol) {
            this.context = TestCerts.trustingOnly(trustedRoot);
            this.protocol = protocol;
        }

        /** Connects to {@code addr} with {@code sniHost}, offering the session of an earlier connection if it has one. */
        public Connection connect(InetSocketAddress addr, String sniHost, Duration timeout) throws IOException {
            int millis = (int) timeout.toMillis();
            try (Socket plain = new Socket()) {
                plain.connect(addr, millis);
                plain.setSoTimeout(millis);
                try (SSLSocket ssl = (SSLSocket) context.getSocketFactory().createSocket(plain, sniHost, addr.getPort(), true)) {
                    SSLParameters params = ssl.getSSLParameters();
                    params.setEndpointIdentificationAlgorithm("HTTPS");
                    params.setServerNames(List.of(new SNIHostName(sniHost)));
                    params.setProtocols(new String[] {protocol});
                    ssl.setSSLParameters(params);
                    ssl.startHandshake();
                    SSLSession session = ssl.getSession();
                    if ("TLSv1.3".equals(protocol)) {
                        // TLS 1.3 tickets arrive after the handshake: one read (a request and its answer's
                        // first bytes) lets the client take them in before the socket closes.
                        exchange(ssl, sniHost);
                    }
                    boolean reused = false;
                    for (SSLSession earlier : seen) {
                        reused |= earlier == session || (earlier.getCreationTime() == session.getCreationTime()
                                && HexFormat.of().formatHex(earlier.getId()).equals(HexFormat.of().formatHex(session.getId())))
                                || ("TLSv1.3".equals(protocol) && earlier.getCreationTime() == session.getCreationTime());
                    }
                    seen.add(session);
                    X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
                    return new Connection(leaf.getSerialNumber(), reused, session.getProtocol());
                }
            }
        }

        private static void exchange(SSLSocket ssl, String host) throws IOException {
            OutputStream out = ssl.getOutputStream();
            out.write(("GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = ssl.getInputStream();
            try {
                in.read(new byte[4096]);
            } catch (IOException e) {
                // a server that closes without an answer: the tickets were read before the close
            }
        }
    }

    /**
     * One {@code openssl s_client} connection that saves its session to {@code sessionFile} and,
     * if the file exists, offers the session saved there ({@code -sess_in}).
     *
     * @param protocol {@code TLSv1.2} or {@code TLSv1.3}
     * @param trustedRootPem a PEM file with the only trust anchor
     */
    public static Connection openssl(InetSocketAddress addr, String sniHost, String protocol, Path trustedRootPem, Path sessionFile,
            Duration timeout) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("openssl", "s_client", "-connect", addr.getHostString() + ":" + addr.getPort(),
                "-servername", sniHost, "TLSv1.3".equals(protocol) ? "-tls1_3" : "-tls1_2", "-CAfile", trustedRootPem.toString(),
                "-verify_return_error", "-sess_out", sessionFile.toString()));
        if (sessionFile.toFile().length() > 0) {
            cmd.add("-sess_in");
            cmd.add(sessionFile.toString());
        }
        Path out = sessionFile.resolveSibling(sessionFile.getFileName() + ".out");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        OutputStream stdin = p.getOutputStream();
        try {
            // TLS 1.3 tickets come after the handshake: s_client sends a request and keeps reading
            // (tickets included) until the answer is in; its stdin stays open till then.
            stdin.write(("GET / HTTP/1.1\r\nHost: " + sniHost + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            stdin.flush();
        } catch (IOException e) {
            // s_client already ended (closed by the server): its output tells what happened
        }
        // Tickets precede the answer: once the answer's status line is in (or s_client ended), stdin may close.
        long deadline = System.nanoTime() + timeout.toNanos();
        while (p.isAlive() && System.nanoTime() < deadline
                && !java.nio.file.Files.readString(out, StandardCharsets.ISO_8859_1).contains("HTTP/1.")) {
            Thread.sleep(20);
        }
        try {
            stdin.close();
        } catch (IOException e) {
            // already gone
        }
        if (!p.waitFor(Math.max(1, (deadline - System.nanoTime()) / 1_000_000), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            throw new IOException("openssl s_client to " + addr + " did not end within " + timeout + " (no HTTP answer to its request)");
        }
        String text = java.nio.file.Files.readString(out, StandardCharsets.ISO_8859_1);
        Matcher cert = SERVER_CERT.matcher(text);
        if (!text.contains("Verify return code: 0 (ok)") || !cert.find()) {
            throw new IOException("openssl s_client to " + addr + " (" + protocol + ") failed or was not verified:\n" + text);
        }
        boolean reused = text.contains("\nReused, ");
        if (!reused && !text.contains("\nNew, ")) {
            throw new IOException("openssl s_client printed neither 'New,' nor 'Reused,':\n" + text);
        }
        Matcher proto = Pattern.compile("Protocol\\s*:\\s*(TLSv1\\.[23])").matcher(text);
        try {
            X509Certificate leaf = (X509Certificate) CertificateFactory.getInstance("X.509")
                    .generateCertificate(new ByteArrayInputStream(cert.group().getBytes(StandardCharsets.US_ASCII)));
            return new Connection(leaf.getSerialNumber(), reused, proto.find() ? proto.group(1) : protocol);
        } catch (CertificateException e) {
            throw new IOException("openssl s_client printed an unreadable certificate", e);
        }
    }
}
