package io.github.autocert4j.spring.boot;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A "CA" on loopback that accepts connections and never answers: whoever waits for it waits until
 * its own timeout. Accepts at most 100 connections; closed by the test.
 */
final class SilentServer implements AutoCloseable {
    private final ServerSocket server;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    SilentServer() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        acceptor = new Thread(() -> {
            try {
                for (int i = 0; i < 100; i++) {
                    accepted.add(server.accept());
                }
            } catch (IOException closed) {
                // the test closed the server
            }
        }, "silent-ca");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket s : accepted) {
            s.close();
        }
    }
}
