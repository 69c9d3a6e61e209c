package io.github.autocert4j.examples;

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

import io.github.autocert4j.testkit.FreePorts;

/**
 * A loopback TCP proxy in front of one port (a node's PostgreSQL) that the test can cut: {@link #cut()} resets every
 * open connection and refuses new ones (the listening socket is closed, as when a network partition or a firewall
 * rule rejects the node's packets); {@link #heal()} listens again on the same port. Counts the connections it
 * forwarded.
 */
final class CuttableTcpProxy implements AutoCloseable {
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

    CuttableTcpProxy(int target) throws IOException {
        this.target = target;
        this.port = FreePorts.loopback();
        heal();
    }

    /** The port the node connects to instead of the target. */
    int port() {
        return port;
    }

    /** Whether connections pass now. */
    synchronized boolean isOpen() {
        return server != null;
    }

    /** Resets every open connection and refuses new ones. */
    synchronized void cut() throws IOException {
        if (server != null) {
            server.close();
            server = null;
        }
        for (Socket s : open) {
            reset(s);
        }
        open.clear();
    }

    /** Accepts and forwards connections again, on the same port. */
    synchronized void heal() throws IOException {
        if (server != null || closed) {
            return;
        }
        ServerSocket s = new ServerSocket();
        s.setReuseAddress(true);
        s.bind(new InetSocketAddress("127.0.0.1", port), 64);
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
        try {
            cut();
        } catch (IOException ignored) {
            // closing anyway
        }
        threads.shutdownNow();
        try {
            threads.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
