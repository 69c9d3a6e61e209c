package io.github.autocert4j.testkit;

import java.nio.ByteBuffer;
import java.security.cert.X509Certificate;
import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;

/**
 * A TLS handshake between a strict JDK client engine and a server's {@link SSLEngine}, in memory: no socket, no
 * thread. For tests of a server context that is not behind a listening port. The client is what {@link TlsProbe} is
 * over a socket: a fresh context trusting only the given root, sending the SNI name and checking the served
 * certificate against it (endpoint identification {@code "HTTPS"}); it may offer ALPN protocols.
 *
 * <pre>{@code
 * SSLSession s = EngineHandshake.handshake(context.newEngine(ByteBufAllocator.DEFAULT), "app.test", root, "h2", "http/1.1");
 * assertEquals(expectedSerial, EngineHandshake.leaf(s).getSerialNumber());
 * }</pre>
 */
public final class EngineHandshake {
    private static final int MAX_STEPS = 200;

    private EngineHandshake() {
    }

    /**
     * Runs the handshake of a new strict client (SNI {@code name}, trusting only {@code root}, offering
     * {@code alpn} if any) with {@code server}, at most 200 steps; returns the client's session. A refused
     * handshake throws the engine's {@link SSLException}; for the negotiated ALPN protocol use {@link #client} and
     * {@link #run}.
     */
    public static SSLSession handshake(SSLEngine server, String name, X509Certificate root, String... alpn) throws SSLException {
        return run(client(name, root, alpn), server).getSession();
    }

    /** The client engine of {@link #handshake}, for a caller that wants to see it after the handshake ({@link #run}). */
    public static SSLEngine client(String name, X509Certificate root, String... alpn) {
        SSLEngine client = TestCerts.trustingOnly(root).createSSLEngine(name, 443);
        client.setUseClientMode(true);
        SSLParameters params = client.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName(name)));
        params.setEndpointIdentificationAlgorithm("HTTPS");
        if (alpn.length > 0) {
            params.setApplicationProtocols(alpn);
        }
        client.setSSLParameters(params);
        return client;
    }

    /** Runs both engines' handshake over two in-memory buffers, at most 200 steps; returns {@code client}. */
    public static SSLEngine run(SSLEngine client, SSLEngine server) throws SSLException {
        ByteBuffer toServer = ByteBuffer.allocate(1 << 17);
        ByteBuffer toClient = ByteBuffer.allocate(1 << 17);
        client.beginHandshake();
        server.beginHandshake();
        for (int step = 0; step < MAX_STEPS; step++) {
            boolean c = step(client, toClient, toServer);
            boolean s = step(server, toServer, toClient);
            if (c && s) {
                return client;
            }
        }
        throw new AssertionError("no handshake within " + MAX_STEPS + " steps: client " + client.getHandshakeStatus()
                + ", server " + server.getHandshakeStatus());
    }

    /** The leaf certificate the server presented in {@code session}. */
    public static X509Certificate leaf(SSLSession session) throws SSLException {
        return (X509Certificate) session.getPeerCertificates()[0];
    }

    /** One step of {@code engine}; true once its handshake is over (also {@link ResumingEngines}'s loop). */
    static boolean step(SSLEngine engine, ByteBuffer in, ByteBuffer out) throws SSLException {
        switch (engine.getHandshakeStatus()) {
            case NEED_TASK -> {
                for (Runnable task = engine.getDelegatedTask(); task != null; task = engine.getDelegatedTask()) {
                    task.run();
                }
            }
            case NEED_WRAP -> engine.wrap(ByteBuffer.allocate(0), out);
            case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                in.flip();
                SSLEngineResult r = engine.unwrap(in, ByteBuffer.allocate(1 << 17));
                in.compact();
                if (r.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.FINISHED) {
                    return true;
                }
            }
            default -> {
                return true;
            }
        }
        return engine.getHandshakeStatus() == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING;
    }
}
