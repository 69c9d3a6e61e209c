package io.github.autocert4j.dns;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.Http01Responder;

/** The host's plain-HTTP listener in the Pebble tests: answers HTTP-01 from the AutoCert's responder. */
final class ChallengeHttpServer implements AutoCloseable {

    private final HttpServer server;
    volatile Http01Responder responder;

    ChallengeHttpServer(int port) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 16);
        server.createContext(Http01Responder.PATH_PREFIX, exchange -> {
            String token = exchange.getRequestURI().getPath().substring(Http01Responder.PATH_PREFIX.length());
            Http01Responder r = responder;
            byte[] body = r == null ? new byte[0]
                    : r.keyAuthorization(token).orElse("").getBytes(StandardCharsets.US_ASCII);
            exchange.sendResponseHeaders(body.length == 0 ? 404 : 200, body.length == 0 ? -1 : body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
