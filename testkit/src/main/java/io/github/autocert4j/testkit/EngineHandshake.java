package io.github.autocert4j.testkit;

import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSession;
import javax.net.ssl.X509ExtendedKeyManager;

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

    /**
     * The acceptable issuers (distinguished names) {@code server} names when it asks a TLS 1.2 client for a certificate,
     * in the order sent; null if it asks for none. The client (SNI {@code name}, trusting only {@code root}) offers no
     * certificate, so a server that only wants one completes the handshake. TLS 1.2, because its certificate request
     * always carries the list (a server's trust manager's {@code getAcceptedIssuers()}).
     */
    public static List<String> requestedIssuers(SSLEngine server, String name, X509Certificate root) throws SSLException {
        List<List<String>> asked = new ArrayList<>();
        X509ExtendedKeyManager recorder = new X509ExtendedKeyManager() {
            @Override
            public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
                asked.add(issuers == null ? List.of() : Arrays.stream(issuers).map(Principal::getName).toList());
                return null;
            }

            @Override
            public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
                return chooseEngineClientAlias(keyType, issuers, null);
            }

            @Override
            public String[] getClientAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String[] getServerAliases(String keyType, Principal[] issuers) {
                return null;
            }

            @Override
            public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
                return null;
            }

            @Override
            public X509Certificate[] getCertificateChain(String alias) {
                return null;
            }

            @Override
            public PrivateKey getPrivateKey(String alias) {
                return null;
            }
        };
        SSLEngine client = TestCerts.trustingOnly(root, new KeyManager[] {recorder}).createSSLEngine(name, 443);
        client.setUseClientMode(true);
        SSLParameters params = client.getSSLParameters();
        params.setServerNames(List.of(new SNIHostName(name)));
        params.setEndpointIdentificationAlgorithm("HTTPS");
        params.setProtocols(new String[] {"TLSv1.2"});
        client.setSSLParameters(params);
        run(client, server);
        return asked.isEmpty() ? null : asked.get(0);
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
