package io.github.autocert4j.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * Finds free ports on the loopback interface (127.0.0.1).
 *
 * <p>The port is found by binding port 0 and closing the socket again, so another process may grab it
 * before the caller binds it; that race is rare on a test machine and acceptable for tests.
 *
 * <pre>{@code
 * int port = FreePorts.loopback();
 * try (ServerSocket s = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) { ... }
 * }</pre>
 */
public final class FreePorts {

    private static final InetAddress LOOPBACK = loopbackV4();

    private FreePorts() {
    }

    /**
     * Returns a TCP port that was free on 127.0.0.1 at the time of the call.
     *
     * @return a port number in the ephemeral range
     * @throws UncheckedIOException if no port could be bound
     */
    public static int loopback() {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(LOOPBACK, 0), 1);
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind a free loopback TCP port", e);
        }
    }

    /**
     * Returns {@code count} distinct TCP ports that were free on 127.0.0.1 at the time of the call.
     * Use it where several ports are picked before any is bound: Linux often hands the same
     * ephemeral port to consecutive {@link #loopback()} calls once the first socket is closed.
     *
     * @param count how many ports
     * @return the ports, all different
     * @throws UncheckedIOException if the ports could not be bound
     */
    public static int[] loopback(int count) {
        java.util.List<ServerSocket> held = new java.util.ArrayList<>(count);
        try {
            int[] ports = new int[count];
            for (int i = 0; i < count; i++) {
                ServerSocket s = new ServerSocket();
                held.add(s);
                s.setReuseAddress(false);
                s.bind(new InetSocketAddress(LOOPBACK, 0), 1);
                ports[i] = s.getLocalPort();
            }
            return ports;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind " + count + " free loopback TCP ports", e);
        } finally {
            for (ServerSocket s : held) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // closing a listening socket that was never used
                }
            }
        }
    }

    /** A port that is free on 127.0.0.1 for both TCP and UDP (for a DNS server). */
    static int loopbackTcpAndUdp() {
        for (int attempt = 0; attempt < 50; attempt++) {
            int port = loopback();
            try (DatagramSocket d = new DatagramSocket(null)) {
                d.setReuseAddress(false);
                d.bind(new InetSocketAddress(LOOPBACK, port));
                return port;
            } catch (IOException busy) {
                // UDP side taken: try another port
            }
        }
        throw new UncheckedIOException(new IOException("no loopback port free for both TCP and UDP after 50 attempts"));
    }

    static InetAddress loopbackV4() {
        try {
            return InetAddress.getByAddress("localhost", new byte[] {127, 0, 0, 1});
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
