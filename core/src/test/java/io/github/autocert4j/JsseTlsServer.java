package io.github.autocert4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;

/**
 * A real JSSE TLS server ({@code SSLServerSocket}) on loopback using an AutoCert's SSLContext: it
 * completes each handshake and answers one HTTP/1.1 request with "tls <path>". For core tests of
 * what the key manager serves to real clients.
 */
final class JsseTlsServer implements AutoCloseable {
    private final SSLServerSocket server;
    private final Thread thread;
    private final AtomicBoolean closed = new AtomicBoolean();

    JsseTlsServer(SSLContext context, InetAddress bind, int port) throws IOException {
        server = (SSLServerSocket) context.getServerSocketFactory().createServerSocket(port, 50, bind);
        server.setSoTimeout(200);
        thread = new Thread(this::serve, "jsse-tls-server");
        thread.setDaemon(true);
        thread.start();
    }

    InetSocketAddress address() {
        return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
    }

    private void serve() {
        while (!closed.get()) {
            try (SSLSocket s = (SSLSocket) server.accept()) {
                s.setSoTimeout(5_000);
                s.startHandshake();
                InputStream in = s.getInputStream();
                StringBuilder head = new StringBuilder();
                while (!head.toString().endsWith("\r\n\r\n") && head.length() < 8192) {
                    int b = in.read();
                    if (b < 0) {
                        break;
                    }
                    head.append((char) b);
                }
                if (head.length() == 0) {
                    continue;
                }
                String[] first = head.toString().split(" ", 3);
                byte[] body = ("tls " + (first.length > 1 ? first[1] : "?")).getBytes(StandardCharsets.UTF_8);
                OutputStream out = s.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Length: " + body.length + "\r\nConnection: close\r\n\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.write(body);
                out.flush();
            } catch (SocketTimeoutException e) {
                // poll closed
            } catch (IOException e) {
                // a client that gave up (e.g. rejected the certificate): next one
            }
        }
    }

    @Override
    public void close() throws IOException, InterruptedException {
        closed.set(true);
        server.close();
        thread.join(2_000);
    }
}
