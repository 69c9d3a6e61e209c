package io.github.autocert4j.testkit;

import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * The Java client of {@code ResumingClients} in memory (no process, no socket): a JDK client that keeps one
 * {@link SSLContext} (its session cache: TLS 1.2 session IDs and tickets, TLS 1.3 tickets) and handshakes with a
 * server {@link SSLEngine} over two buffers. For tests of a server context that is not behind a listening port: each
 * {@link #handshake} offers the session of an earlier one, and tells whether the server resumed it and which
 * certificate the session is under. After the handshake the server's remaining records (TLS 1.3 tickets; BoringSSL
 * sends them with its first application data, so the server also wraps one byte) reach the client, as a browser
 * reads them.
 */
public final class ResumingEngines {
    private static final int MAX_STEPS = 200;
    private final SSLContext context;
    private final String name;
    private final String protocol;
    private final List<SSLSession> seen = new ArrayList<>();

    /**
     * @param name the SNI name the client sends and checks the certificate against
     * @param trustedRoot the only trust anchor
     * @param protocol {@code TLSv1.2} or {@code TLSv1.3}
     */
    public ResumingEngines(String name, X509Certificate trustedRoot, String protocol) {
        this.context = TestCerts.trustingOnly(trustedRoot);
        this.name = name;
        this.protocol = protocol;
    }

    /**
     * One handshake's outcome.
     *
     * @param serial the leaf serial of the session's certificate (on a resumption: the certificate of the session resumed)
     * @param reused whether the handshake resumed an earlier session
     * @param protocol the negotiated protocol
     */
    public record Handshake(java.math.BigInteger serial, boolean reused, String protocol) {
    }

    /** Handshakes with {@code server} (a new server engine), offering the session of an earlier handshake if any. */
    public Handshake handshake(SSLEngine server) throws SSLException {
        SSLEngine client = context.createSSLEngine(name, 443); // the JDK's client cache is keyed by host and port
        client.setUseClientMode(true);
        SSLParameters params = client.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName(name)));
        params.setEndpointIdentificationAlgorithm("HTTPS");
        params.setProtocols(new String[] {protocol});
        client.setSSLParameters(params);
        server.setUseClientMode(false);
        ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        client.beginHandshake();
        server.beginHandshake();
        boolean done = false;
        for (int step = 0; step < MAX_STEPS && !done; step++) {
            boolean c = EngineHandshake.step(client, toClient, toServer);
            boolean s = EngineHandshake.step(server, toServer, toClient);
            done = c && s;
        }
        if (!done) {
            throw new AssertionError("no handshake within " + MAX_STEPS + " steps: client " + client.getHandshakeStatus()
                    + ", server " + server.getHandshakeStatus());
        }
        // What the server still has to say (TLS 1.3 NewSessionTicket) and a byte of an answer (BoringSSL sends its
        // tickets with the first application data), to the client, which caches the ticket.
        for (int round = 0; round < 4; round++) {
            server.wrap(ByteBuffer.wrap(round == 0 ? new byte[] {'.'} : new byte[0]), toClient);
            toClient.flip();
            while (toClient.hasRemaining()) {
                SSLEngineResult r = client.unwrap(toClient, ByteBuffer.allocate(1 << 17));
                if (r.getStatus() != SSLEngineResult.Status.OK || r.bytesConsumed() == 0) {
                    break;
                }
            }
            toClient.compact();
        }
        SSLSession session = client.getSession();
        boolean reused = false;
        for (SSLSession earlier : seen) {
            reused |= earlier == session || (earlier.getCreationTime() == session.getCreationTime()
                    && Arrays.equals(earlier.getId(), session.getId()))
                    || ("TLSv1.3".equals(protocol) && earlier.getCreationTime() == session.getCreationTime());
        }
        seen.add(session);
        X509Certificate leaf = (X509Certificate) session.getPeerCertificates()[0];
        return new Handshake(leaf.getSerialNumber(), reused, session.getProtocol());
    }
}
