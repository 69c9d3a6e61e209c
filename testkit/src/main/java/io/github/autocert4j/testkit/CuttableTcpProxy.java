package io.github.autocert4j.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A loopback TCP proxy in front of one port (a node's PostgreSQL) that the test can cut: {@link #cut()} resets every
 * open connection and refuses new ones (the listening socket is closed, as when a network partition or a firewall
 * rule rejects the node's packets); {@link #heal()} listens again on the same port. Counts the connections it
 * forwarded. Used by the fleet partition test and the PostgreSQL start-up fault test.
 *
 * <pre>{@code
 * try (CuttableTcpProxy db = new CuttableTcpProxy(pg.port())) {
 *     // point the node's JDBC URL at 127.0.0.1:db.port(), then
 *     db.cut();   // connections reset, new ones refused
 *     db.heal();  // forwarded again
 * }
 * }</pre>
 */
public final class CuttableTcpProxy implements AutoCloseable {
    private final int port;
    private final int target;
    private final Set<Socket> open = ConcurrentHashMap.newKeySet();
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "pg-cut-proxy");
        t.setDaemon(true);
        return t;
    });
    private ServerSocket server; // guarded by this
    private volatile boolean closed;

    /** Listens on a free loopback port and forwards to {@code target} on 127.0.0.1. */
    public CuttableTcpProxy(int target) throws IOException {
        this.target = target;
        this.port = FreePorts.loopback();
        heal();
    }

    /** The port the node connects to instead of the target. */
    public int port() {
        return port;
    }

    /** Whether connections pass now. */
    public synchronized boolean isOpen() {
        return server != null;
    }

    /** Resets every open connection and refuses new ones (unchecked, so that it serves as a {@code Runnable}). */
    public synchronized void cut() {
        if (server != null) {
            reset(server);
            server = null;
        }
        for (Socket s : open) {
            reset(s);
        }
        open.clear();
    }

    /** Accepts and forwards connections again, on the same port; {@link java.io.UncheckedIOException} if it cannot listen. */
    public synchronized void heal() {
        if (server != null || closed) {
            return;
        }
        ServerSocket s;
        try {
            s = new ServerSocket();
            s.setReuseAddress(true);
            s.bind(new InetSocketAddress("127.0.0.1", port), 64);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot listen on 127.0.0.1:" + port + " again", e);
        }
        server = s;
        threads.execute(() -> accept(s));
    }

    private void accept(ServerSocket s) {
        while (!s.isClosed()) {
            Socket client;
            try {
                client = s.accept();
            } catch (IOException closedNow) {
                return;
            }
            Socket upstream = new Socket();
            try {
                upstream.connect(new InetSocketAddress("127.0.0.1", target), 2000);
            } catch (IOException e) {
                reset(client);
                continue;
            }
            synchronized (this) {
                if (server != s) { // cut meanwhile
                    reset(client);
                    reset(upstream);
                    continue;
                }
                open.add(client);
                open.add(upstream);
            }
            threads.execute(() -> pump(client, upstream));
            threads.execute(() -> pump(upstream, client));
        }
    }

    private void pump(Socket from, Socket to) {
        byte[] buf = new byte[16 * 1024];
        try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
            for (int n; (n = in.read(buf)) >= 0; ) {
                out.write(buf, 0, n);
                out.flush();
            }
        } catch (IOException ended) {
            // reset by cut() or closed by either side
        } finally {
            reset(from);
            reset(to);
            open.remove(from);
            open.remove(to);
        }
    }

    private static void reset(ServerSocket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    private static void reset(Socket s) {
        try {
            s.setSoLinger(true, 0); // RST, as a rejecting firewall does
        } catch (SocketException ignored) {
            // already closed
        }
        try {
            s.close();
        } catch (IOException ignored) {
            // already closed
        }
    }

    @Override
    public void close() {
        closed = true;
        cut();
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
