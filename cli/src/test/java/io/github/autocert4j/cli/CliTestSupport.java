package io.github.autocert4j.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import com.sun.net.httpserver.HttpServer;

import io.github.autocert4j.Http01Responder;
import io.github.autocert4j.testkit.PebbleServer;

/** What the Cli*, CertbotImport* and Jmx* tests share: the CLI run in-process, an http-01 listener, Pebble's order count. */
final class CliTestSupport {
    private CliTestSupport() {
    }

    /** One CLI run: exit code, stdout, stderr. */
    record Result(int code, String out, String err) {
        @Override
        public String toString() {
            return "exit " + code + "\n--- stdout\n" + out + "--- stderr\n" + err;
        }
    }

    static Result cli(Map<String, String> env, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, env, new PrintWriter(out, true), new PrintWriter(err, true), Clock.systemUTC());
        return new Result(code, out.toString(), err.toString());
    }

    static Result cli(String... args) {
        return cli(Map.of(), args);
    }

    /** Orders Pebble has accepted so far ("Added order" lines in its log). */
    static int orders(PebbleServer pebble) throws IOException {
        try (Stream<String> lines = Files.lines(pebble.logFile())) {
            return (int) lines.filter(l -> l.contains("Added order")).count();
        }
    }

    /** Waits (polling every 50 ms) at most {@code limit} for {@code condition}; returns whether it held. */
    static boolean await(Duration limit, BooleanSupplier condition) throws InterruptedException {
        long end = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < end) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.getAsBoolean();
    }

    /** Every file of a directory tree with its bytes (as hex-free strings), to prove a store unchanged byte for byte. */
    static Map<String, String> snapshot(Path dir) throws IOException {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                m.put(dir.relativize(p).toString(), java.util.Base64.getEncoder().encodeToString(Files.readAllBytes(p)));
            }
        }
        return m;
    }

    /**
     * The plain-HTTP port Pebble validates http-01 on, answered from a responder chosen at each request (the
     * responder of any node of a fleet answers for all, from the shared store).
     */
    static final class Http01Listener implements AutoCloseable {
        volatile Http01Responder responder;
        private final HttpServer server;

        Http01Listener(int port) throws IOException {
            server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
            server.setExecutor(Executors.newFixedThreadPool(2));
            server.createContext("/", exchange -> {
                try (exchange) {
                    String path = exchange.getRequestURI().getRawPath();
                    Http01Responder r = responder;
                    Optional<String> answer = Optional.empty();
                    if (r != null && path.startsWith(Http01Responder.PATH_PREFIX)) {
                        answer = r.keyAuthorization(path.substring(Http01Responder.PATH_PREFIX.length()));
                    }
                    byte[] body = answer.orElse("not found").getBytes(StandardCharsets.US_ASCII);
                    exchange.sendResponseHeaders(answer.isPresent() ? 200 : 404, body.length);
                    try (OutputStream o = exchange.getResponseBody()) {
                        o.write(body);
                    }
                }
            });
            server.start();
        }

        @Override
        public void close() {
            server.stop(0);
            ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
        }
    }

    static Map<String, String> env(String... kv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put(kv[i], kv[i + 1]);
        }
        return m;
    }

    static void sleepQuietly(long ms) {
        try {
            TimeUnit.MILLISECONDS.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException(e));
        }
    }
}
