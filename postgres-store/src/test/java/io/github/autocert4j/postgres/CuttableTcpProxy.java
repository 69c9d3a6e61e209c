package io.github.autocert4j.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;

/**
 * A loopback TCP proxy in front of PostgreSQL that a test can cut like a network failure: {@link #cut()}
 * resets every open connection and, until {@link #restore()}, closes each new one at once (the driver's
 * connection attempt fails, as with a database host that is unreachable or restarting). One thread per
 * direction of each connection; everything ends at {@link #close()}.
 */
final class CuttableTcpProxy implements AutoCloseable {
    private final ServerSocket server;
    private final InetSocketAddress target;
    private final List<Socket> open = new ArrayList<>();
    private volatile boolean cut;
    private final Thread acceptor;

    CuttableTcpProxy(String host, int port) throws IOException {
        this.target = new InetSocketAddress(host, port);
        this.server = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
        this.acceptor = new Thread(this::accept, "pg-proxy-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    /** Resets every open connection and refuses new ones (accepted, then closed at once) until {@link #restore()}. */
    void cut() {
        cut = true;
        List<Socket> all;
        synchronized (open) {
            all = new ArrayList<>(open);
            open.clear();
        }
        for (Socket s : all) {
            try {
                s.setSoLinger(true, 0); // RST: the driver sees "connection reset", not an orderly end
                s.close();
            } catch (IOException e) {
                // closed already
            }
        }
    }

    void restore() {
        cut = false;
    }

    private void accept() {
        while (!server.isClosed()) {
            Socket client;
            try {
                client = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            if (cut) {
                closeQuietly(client);
                continue;
            }
            try {
                Socket upstream = new Socket();
                upstream.connect(target, 5_000);
                synchronized (open) {
                    open.add(client);
                    open.add(upstream);
                }
                pipe(client, upstream);
                pipe(upstream, client);
            } catch (IOException e) {
                closeQuietly(client);
            }
        }
    }

    private void pipe(Socket from, Socket to) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[16 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // cut or closed
            } finally {
                closeQuietly(from);
                closeQuietly(to);
                synchronized (open) {
                    open.remove(from);
                    open.remove(to);
                }
            }
        }, "pg-proxy-pipe");
        t.setDaemon(true);
        t.start();
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // nothing to do
        }
    }

    @Override
    public void close() throws InterruptedException {
        try {
            server.close();
        } catch (IOException e) {
            // nothing to do
        }
        cut();
        acceptor.join(5_000);
    }
}
