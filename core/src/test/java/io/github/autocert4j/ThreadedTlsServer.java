package io.github.autocert4j;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/** A JSSE server handshaking each connection on its own thread (so first handshakes run concurrently). */
final class ThreadedTlsServer implements AutoCloseable {
    private final SSLServerSocket server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "lazy-test-tls");
        t.setDaemon(true);
        return t;
    });

    ThreadedTlsServer(SSLContext context) throws IOException {
        server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(0, 64, InetAddress.getLoopbackAddress());
        pool.execute(() -> {
            while (!server.isClosed()) {
                try {
                    SSLSocket s = (SSLSocket) server.accept();
                    pool.execute(() -> {
                        try (s) {
                            s.setSoTimeout(10_000);
                            s.startHandshake();
                            s.getInputStream().read(); // until the client closes
                        } catch (IOException e) {
                            // a failed handshake: the client sees it
                        }
                    });
                } catch (IOException e) {
                    return; // closed
                }
            }
        });
    }

    InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    @Override
    public void close() throws IOException {
        server.close();
        pool.shutdownNow();
    }
}
