package io.github.autocert4j.benchmarks;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP pass-through on 127.0.0.1 (TLS stays end to end) that records when each connection was
 * accepted: the moment a client first contacts the ACME server, whichever client it is.
 *
 * <pre>{@code
 * try (TimingProxy p = new TimingProxy(pebble.directoryUri().getPort())) {
 *     ... client uses https://127.0.0.1:<p.port()>/dir ...
 *     long first = p.connections().get(0);
 * }
 * }</pre>
 */
final class TimingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<Long> accepted = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    TimingProxy(int targetPort) throws IOException {
        this.target = targetPort;
        this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        acceptor = new Thread(this::acceptLoop, "timing-proxy");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Epoch milliseconds of every accepted connection, in order. */
    List<Long> connections() {
        return List.copyOf(accepted);
    }

    void clear() {
        accepted.clear();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket in = server.accept();
                accepted.add(System.currentTimeMillis());
                Socket out = new Socket();
                out.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), target), 5_000);
                pipe(in, out);
                pipe(out, in);
            } catch (IOException e) {
                if (server.isClosed()) {
                    return;
                }
            }
        }
    }

    private static void pipe(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16384];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n = in.read(buf); n >= 0; n = in.read(buf)) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException ignored) {
                // one side closed
            } finally {
                try {
                    from.close();
                    to.close();
                } catch (IOException ignored) {
                    // closing
                }
            }
        }, "timing-proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
