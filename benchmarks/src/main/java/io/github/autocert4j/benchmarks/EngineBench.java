package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLEngineResult.HandshakeStatus;
import javax.net.ssl.SSLException;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;

/**
 * In-memory full handshakes between a client and a server {@link SSLEngine} on ONE thread, no
 * sockets: the server engine's own CPU time (thread CPU clock around every server-side call) per
 * handshake, per variant, in interleaved rounds. Far less sensitive to other load on the machine
 * than the socket benchmark, because nothing waits for or competes with other threads of the
 * benchmark and only CPU time of server calls is counted.
 *
 * <p>No resumption: every client engine is created WITHOUT peer host and port (Netty's client
 * session cache is keyed by them, so no session can be offered), the client context's session
 * cache is off ({@link Bench#noResumption}), and every client engine is asked afterwards whether
 * its session was reused; the count is returned (and must be 0).
 *
 * <pre>{@code
 * EngineBench.Result r = EngineBench.run(variants, clientCtx, "hs.bench.test", expectedLeaf, 7, 300);
 * }</pre>
 */
final class EngineBench {
    private static final ThreadMXBean MX = ManagementFactory.getThreadMXBean();
    private static final ByteBuffer EMPTY = ByteBuffer.allocate(0);

    private EngineBench() {
    }

    /**
     * @param variants label -> supplier of a new server engine (for the SNI handler: its mapping's
     *                 lookup for the name, then {@code newEngine})
     * @return label -> per-round server CPU µs per handshake
     */
    /** Per-round server CPU µs per handshake per variant; handshakes done (warm-up included) and how many of them were resumed. */
    record Result(Map<String, List<Double>> cpu, long handshakes, long resumed) {
    }

    static Result run(Map<String, Supplier<SSLEngine>> variants, SslContext client, String host, byte[] expectedLeaf,
                      int rounds, int perRound) throws SSLException {
        long[] count = new long[2]; // handshakes, resumed
        Map<String, List<Double>> out = new LinkedHashMap<>();
        for (var v : variants.entrySet()) {
            out.put(v.getKey(), new ArrayList<>());
            for (int i = 0; i < perRound; i++) { // warm-up, and check the served leaf
                handshake(client, host, v.getValue(), i == 0 ? expectedLeaf : null, count);
            }
        }
        List<String> labels = new ArrayList<>(variants.keySet());
        for (int r = 0; r < rounds; r++) {
            List<String> order = new ArrayList<>(labels);
            if (r % 2 == 1) {
                java.util.Collections.reverse(order);
            }
            for (String label : order) {
                long cpu = 0;
                for (int i = 0; i < perRound; i++) {
                    cpu += handshake(client, host, variants.get(label), null, count);
                }
                out.get(label).add(cpu / 1e3 / perRound);
            }
        }
        return new Result(out, count[0], count[1]);
    }

    /** One full handshake; returns the server engine's CPU nanoseconds. */
    static long handshake(SslContext clientCtx, String host, Supplier<SSLEngine> serverFactory, byte[] expectedLeaf, long[] count)
            throws SSLException {
        long t0 = MX.getCurrentThreadCpuTime();
        SSLEngine server = serverFactory.get();
        long serverCpu = MX.getCurrentThreadCpuTime() - t0;
        // No peer host/port: nothing to look a cached session up by. SNI goes in through SSLParameters.
        SSLEngine client = clientCtx.newEngine(ByteBufAllocator.DEFAULT);
        javax.net.ssl.SSLParameters p = client.getSSLParameters();
        p.setServerNames(List.of(new javax.net.ssl.SNIHostName(host)));
        client.setSSLParameters(p);
        try {
            ByteBuffer c2s = ByteBuffer.allocate(1 << 17), s2c = ByteBuffer.allocate(1 << 17);
            ByteBuffer appC = ByteBuffer.allocate(1 << 17), appS = ByteBuffer.allocate(1 << 17);
            client.beginHandshake();
            t0 = MX.getCurrentThreadCpuTime();
            server.beginHandshake();
            serverCpu += MX.getCurrentThreadCpuTime() - t0;
            for (int step = 0; step < 50; step++) {
                if (done(client) && done(server)) {
                    count[0]++;
                    if (LoadClient.isResumed(client)) {
                        count[1]++;
                    }
                    if (expectedLeaf != null) {
                        byte[] leaf;
                        try {
                            leaf = client.getSession().getPeerCertificates()[0].getEncoded();
                        } catch (Exception e) {
                            throw new SSLException(e);
                        }
                        if (!Arrays.equals(leaf, expectedLeaf)) {
                            throw new IllegalStateException("wrong certificate served in the in-memory handshake");
                        }
                    }
                    return serverCpu;
                }
                wrapAll(client, c2s);
                t0 = MX.getCurrentThreadCpuTime();
                unwrapAll(server, c2s, appS);
                wrapAll(server, s2c);
                serverCpu += MX.getCurrentThreadCpuTime() - t0;
                unwrapAll(client, s2c, appC);
            }
            throw new IllegalStateException(f("in-memory handshake did not finish: client %s, server %s",
                    client.getHandshakeStatus(), server.getHandshakeStatus()));
        } finally {
            ReferenceCountUtil.release(client);
            ReferenceCountUtil.release(server);
        }
    }

    /**
     * The server side of one handshake, in memory: the client's ClientHello (SNI {@code host}) in,
     * the server's first flight out (certificate selected, key material used, signature made);
     * the client does not finish. Used to touch a certificate as a handshake does.
     */
    static void serverFlight(SslContext clientCtx, String host, Supplier<SSLEngine> serverFactory) throws SSLException {
        SSLEngine server = serverFactory.get();
        SSLEngine client = clientCtx.newEngine(ByteBufAllocator.DEFAULT);
        try {
            javax.net.ssl.SSLParameters p = client.getSSLParameters();
            p.setServerNames(List.of(new javax.net.ssl.SNIHostName(host)));
            client.setSSLParameters(p);
            ByteBuffer c2s = ByteBuffer.allocate(1 << 16), s2c = ByteBuffer.allocate(1 << 16), app = ByteBuffer.allocate(1 << 16);
            client.beginHandshake();
            server.beginHandshake();
            wrapAll(client, c2s);
            unwrapAll(server, c2s, app);
            wrapAll(server, s2c);
            if (s2c.position() == 0) {
                throw new IllegalStateException("the server produced no first flight for " + host);
            }
        } finally {
            ReferenceCountUtil.release(client);
            ReferenceCountUtil.release(server);
        }
    }

    private static boolean done(SSLEngine e) {
        HandshakeStatus s = e.getHandshakeStatus();
        return s == HandshakeStatus.NOT_HANDSHAKING || s == HandshakeStatus.FINISHED;
    }

    private static void tasks(SSLEngine e) {
        Runnable t;
        while ((t = e.getDelegatedTask()) != null) {
            t.run();
        }
    }

    private static void wrapAll(SSLEngine e, ByteBuffer net) throws SSLException {
        for (int i = 0; i < 20; i++) {
            tasks(e);
            SSLEngineResult r = e.wrap(EMPTY, net);
            tasks(e);
            if (r.bytesProduced() == 0 || r.getHandshakeStatus() != HandshakeStatus.NEED_WRAP) {
                return;
            }
        }
    }

    private static void unwrapAll(SSLEngine e, ByteBuffer net, ByteBuffer app) throws SSLException {
        net.flip();
        try {
            for (int i = 0; i < 20 && net.hasRemaining(); i++) {
                tasks(e);
                SSLEngineResult r = e.unwrap(net, app);
                tasks(e);
                app.clear();
                if (r.getStatus() == SSLEngineResult.Status.BUFFER_UNDERFLOW || r.bytesConsumed() == 0) {
                    return;
                }
            }
        } finally {
            net.compact();
        }
    }
}
