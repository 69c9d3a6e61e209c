package io.github.autocert4j;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.github.autocert4j.testkit.PebbleServer;

/**
 * A fault-injecting HTTPS proxy in front of a real Pebble, for what Pebble cannot produce itself
 * (5xx, stalls, rateLimited with Retry-After, forged certificate chains). It keeps the client's
 * Host header, so Pebble builds every URL (directory, orders, certificates) pointing back at the
 * proxy and the JWS "url" checks still pass. Loopback only. Records every exchange.
 */
final class FaultProxy implements AutoCloseable {
    static {
        // The JDK client refuses to set Host unless told otherwise; surefire sets it too (core/pom.xml).
        System.setProperty("jdk.httpclient.allowRestrictedHeaders", "host");
    }

    private static final Set<String> HOP_BY_HOP = Set.of("connection", "content-length", "transfer-encoding", "keep-alive",
            "upgrade", "expect", "host", "date");
    private static final Pattern PAYLOAD = Pattern.compile("\"payload\"\\s*:\\s*\"([A-Za-z0-9_-]*)\"");

    /** One request as seen by the proxy. */
    record Req(String method, String path, byte[] body, String payload, Map<String, List<String>> headers) {
        boolean pathStarts(String prefix) {
            return path.startsWith(prefix);
        }
    }

    /** One answer, possibly forged. {@code bodyDelayMillis} stalls after the headers. */
    record Resp(int status, Map<String, List<String>> headers, byte[] body, long bodyDelayMillis) {
        static Resp of(int status, String contentType, String body, String... headerPairs) {
            Map<String, List<String>> h = new LinkedHashMap<>();
            h.put("Content-Type", List.of(contentType));
            for (int i = 0; i + 1 < headerPairs.length; i += 2) {
                h.put(headerPairs[i], List.of(headerPairs[i + 1]));
            }
            return new Resp(status, h, body.getBytes(StandardCharsets.UTF_8), 0);
        }

        static Resp problem(int status, String type, String detail, String... headerPairs) {
            return of(status, "application/problem+json", "{\"type\":\"urn:ietf:params:acme:error:" + type + "\",\"detail\":\"" + detail
                    + "\",\"status\":" + status + "}", headerPairs);
        }

        Resp withBody(byte[] newBody) {
            return new Resp(status, headers, newBody, bodyDelayMillis);
        }

        Resp stallBody(long millis) {
            return new Resp(status, headers, body, millis);
        }

        String bodyText() {
            return new String(body, StandardCharsets.UTF_8);
        }
    }

    /** What the proxy does with a request; {@code forward} asks the real Pebble. */
    interface Rule {
        Resp handle(Req req, Forward forward) throws Exception;
    }

    interface Forward {
        Resp call() throws Exception;
    }

    /** A recorded exchange. */
    record Seen(Instant at, String method, String path, String payload, int status, String responseBody) {
    }

    static final Rule PASS = (req, fwd) -> fwd.call();

    final FaultPki pki = new FaultPki("autocert4j fault proxy CA");
    volatile PebbleServer pebble;
    private final HttpsServer server;
    private final ExecutorService pool = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "fault-proxy");
        t.setDaemon(true);
        return t;
    });
    private volatile HttpClient upstream;
    private final Path caPem;
    final List<Seen> seen = new CopyOnWriteArrayList<>();
    private volatile Rule rule = PASS;
    private volatile int epoch;
    /** Paths from Pebble's directory, as seen through the proxy. */
    final Map<String, String> dir = new LinkedHashMap<>();

    FaultProxy(PebbleServer pebble, Path workDir) throws Exception {
        this.pebble = pebble;
        this.caPem = pki.writeCaPem(workDir.resolve("fault-proxy-ca.pem"));
        this.upstream = upstreamClient(pebble);
        server = HttpsServer.create(new InetSocketAddress("127.0.0.1", 0), 64);
        server.setHttpsConfigurator(new HttpsConfigurator(pki.serverContext()));
        server.setExecutor(pool);
        server.createContext("/", this::exchange);
        server.start();
        HttpResponse<String> d = upstream.send(HttpRequest.newBuilder(pebble.directoryUri()).header("Host", hostPort()).build(),
                HttpResponse.BodyHandlers.ofString());
        Matcher m = Pattern.compile("\"(\\w+)\"\\s*:\\s*\"https://[^/\"]+(/[^\"]*)\"").matcher(d.body());
        while (m.find()) {
            dir.put(m.group(1), m.group(2));
        }
        if (!dir.containsKey("newOrder") || !d.body().contains(hostPort())) {
            throw new IllegalStateException("Pebble did not build its directory from the Host header: " + d.body());
        }
    }

    private static HttpClient upstreamClient(PebbleServer pebble) {
        return HttpClient.newBuilder().sslContext(pebble.acmeServerSslContext()).version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).proxy(HttpClient.Builder.NO_PROXY).followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /**
     * From now on forwards to {@code next}, a Pebble with the same directory paths: to the client the
     * same CA (same URLs, same API trust), which has lost every account and order, as a CA restored
     * from an empty database does.
     */
    void forwardTo(PebbleServer next) {
        upstream = upstreamClient(next);
        pebble = next;
    }

    String hostPort() {
        return "127.0.0.1:" + server.getAddress().getPort();
    }

    URI directoryUri() {
        return URI.create("https://" + hostPort() + "/dir");
    }

    Path caPem() {
        return caPem;
    }

    /** Forgets what was seen; answers to requests that arrived before this call are not recorded either. */
    void reset() {
        epoch++;
        seen.clear();
        rule = PASS;
    }

    void rule(Rule r) {
        this.rule = r == null ? PASS : r;
    }

    /** Requests to the directory resource {@code name} (newOrder, newAccount, renewalInfo, ...). */
    Predicate<Req> is(String name) {
        String p = dir.get(name);
        return r -> p != null && (r.path.equals(p) || r.path.startsWith(p + "/"));
    }

    boolean isCertDownload(Req r) {
        return r.method.equals("POST") && r.path.startsWith("/certZ/");
    }

    long count(String method, String directoryName) {
        String p = dir.get(directoryName);
        return seen.stream().filter(s -> s.method.equals(method) && p != null && (s.path.equals(p) || s.path.startsWith(p + "/"))).count();
    }

    List<Seen> requests(String method, String directoryName) {
        String p = dir.get(directoryName);
        return seen.stream().filter(s -> s.method.equals(method) && p != null && (s.path.equals(p) || s.path.startsWith(p + "/"))).toList();
    }

    /**
     * The newOrder requests, less those Pebble refused by its defect with padded serials ({@link PebbleDefects#lostPaddedSerial}):
     * each of those is followed by the same order without {@code replaces} (the library's rule for a refused
     * {@code replaces}), which is the one a test counts.
     */
    List<Seen> orders() {
        List<Seen> all = requests("POST", "newOrder");
        List<Seen> counted = new ArrayList<>();
        for (int i = 0; i < all.size(); i++) {
            // left out only when the library's answer to it follows: the next order, without 'replaces'
            boolean answered = i + 1 < all.size() && !all.get(i + 1).payload().contains("\"replaces\"");
            if (!(pebbleLostPaddedSerial(all.get(i)) && answered)) {
                counted.add(all.get(i));
            }
        }
        return counted;
    }

    /** Whether Pebble refused one of the newOrder requests seen by its defect with padded serials. */
    boolean sawPebbleLosePaddedSerial() {
        return requests("POST", "newOrder").stream().anyMatch(FaultProxy::pebbleLostPaddedSerial);
    }

    /** Whether this is Pebble refusing a correct {@code replaces} by its own defect: {@link PebbleDefects#lostPaddedSerial}. */
    static boolean pebbleLostPaddedSerial(Seen s) {
        return s.method().equals("POST") && PebbleDefects.lostPaddedSerial(s.status(), s.payload(), s.responseBody());
    }

    private void exchange(HttpExchange ex) throws IOException {
        int arrivedIn = epoch;
        try (ex) {
            byte[] body;
            try (InputStream in = ex.getRequestBody()) {
                body = in.readAllBytes();
            }
            String payload = "";
            Matcher m = PAYLOAD.matcher(new String(body, StandardCharsets.UTF_8));
            if (m.find()) {
                payload = new String(Base64.getUrlDecoder().decode(m.group(1)), StandardCharsets.UTF_8);
            }
            Map<String, List<String>> headers = new LinkedHashMap<>();
            ex.getRequestHeaders().forEach((k, v) -> headers.put(k, List.copyOf(v)));
            Req req = new Req(ex.getRequestMethod(), ex.getRequestURI().toString(), body, payload, headers);
            Resp resp;
            try {
                resp = rule.handle(req, () -> forward(req));
            } catch (Exception e) {
                resp = Resp.of(502, "text/plain", "proxy: " + e);
            }
            if (arrivedIn == epoch) {
                seen.add(new Seen(Instant.now(), req.method, req.path, payload, resp.status, resp.status >= 400 ? resp.bodyText() : ""));
            }
            resp.headers.forEach((k, v) -> {
                if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT))) {
                    ex.getResponseHeaders().put(k, new ArrayList<>(v));
                }
            });
            boolean noBody = req.method.equals("HEAD") || resp.body.length == 0 || resp.status == 204 || resp.status == 304;
            ex.sendResponseHeaders(resp.status, noBody ? -1 : resp.body.length);
            if (!noBody) {
                OutputStream out = ex.getResponseBody();
                if (resp.bodyDelayMillis > 0) {
                    out.write(resp.body, 0, 1);
                    out.flush();
                    Thread.sleep(resp.bodyDelayMillis);
                    out.write(resp.body, 1, resp.body.length - 1);
                } else {
                    out.write(resp.body);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // client went away (e.g. it timed out on a stalled answer)
        }
    }

    private Resp forward(Req req) throws Exception {
        URI target = URI.create("https://127.0.0.1:" + pebble.directoryUri().getPort() + req.path);
        HttpRequest.Builder b = HttpRequest.newBuilder(target).timeout(Duration.ofSeconds(30)).header("Host", hostPort());
        req.headers.forEach((k, v) -> {
            if (!HOP_BY_HOP.contains(k.toLowerCase(Locale.ROOT))) {
                v.forEach(value -> b.header(k, value));
            }
        });
        b.method(req.method, req.body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(req.body));
        HttpResponse<byte[]> r = upstream.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        Map<String, List<String>> h = new LinkedHashMap<>(r.headers().map());
        return new Resp(r.statusCode(), h, r.body() == null ? new byte[0] : r.body(), 0);
    }

    @Override
    public void close() {
        server.stop(0);
        pool.shutdownNow();
    }

    /** The plain-HTTP port Pebble's validation authority dials, answering from whichever responder is current. */
    static final class ChallengeListener implements AutoCloseable {
        private final HttpServer http;
        volatile Http01Responder responder;

        ChallengeListener(int port) throws IOException {
            http = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 64);
            http.setExecutor(Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "challenge-listener");
                t.setDaemon(true);
                return t;
            }));
            http.createContext(Http01Responder.PATH_PREFIX, ex -> {
                try (ex) {
                    String token = ex.getRequestURI().getPath().substring(Http01Responder.PATH_PREFIX.length());
                    Http01Responder r = responder;
                    String body = r == null ? null : r.keyAuthorization(token).orElse(null);
                    byte[] bytes = (body == null ? "not found" : body).getBytes(StandardCharsets.US_ASCII);
                    ex.sendResponseHeaders(body == null ? 404 : 200, bytes.length);
                    ex.getResponseBody().write(bytes);
                }
            });
            http.start();
        }

        @Override
        public void close() {
            http.stop(0);
        }
    }
}
