package io.github.autocert4j.testkit.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;

/** The nginx harness itself: round-robin over real backends, the access log, a dead backend skipped, no stray process. */
@IntegrationTest
class LoadBalancerTest {
    final List<HttpServer> backends = new ArrayList<>();
    final HttpClient client = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();

    @AfterEach
    void stopBackends() {
        backends.forEach(b -> b.stop(0));
    }

    int backend() throws IOException {
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        int port = s.getAddress().getPort();
        s.createContext("/", ex -> {
            byte[] body = Integer.toString(port).getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(ex.getRequestURI().getPath().endsWith("/missing") ? 404 : 200, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s.start();
        backends.add(s);
        return port;
    }

    String get(int port, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body();
    }

    @Test
    void spreadsRequestsRoundRobinAndLogsWhichBackendAnsweredEach() throws Exception {
        List<Integer> ports = List.of(backend(), backend(), backend());
        try (LoadBalancer lb = LoadBalancer.builder().listenPort(FreePorts.loopback()).backends(ports).start()) {
            List<String> answers = new ArrayList<>();
            for (int i = 0; i < 9; i++) {
                answers.add(get(lb.port(), "/.well-known/acme-challenge/tok" + i));
            }
            Map<String, Long> perBackend = answers.stream().collect(Collectors.groupingBy(Function.identity(), Collectors.counting()));
            assertEquals(3, perBackend.size(), answers.toString());
            perBackend.values().forEach(n -> assertEquals(3L, n, answers.toString()));
            long deadline = System.nanoTime() + 5_000_000_000L;
            List<LoadBalancer.Request> log = lb.requests();
            while (log.size() < 9 && System.nanoTime() < deadline) {
                Thread.sleep(20);
                log = lb.requests();
            }
            assertEquals(9, log.size(), log.toString());
            for (int i = 0; i < 9; i++) {
                LoadBalancer.Request r = log.get(i);
                assertEquals("GET", r.method());
                assertEquals("/.well-known/acme-challenge/tok" + i, r.path());
                assertEquals(200, r.status());
                assertEquals(answers.get(i), "200 " + r.answeredBy(), "the log names the backend that answered");
            }
        }
    }

    @Test
    void aDeadBackendIsSkippedAndTheRequestStillAnswered() throws Exception {
        int alive = backend();
        int dead = FreePorts.loopback(); // nothing listens there
        try (LoadBalancer lb = LoadBalancer.builder().listenPort(FreePorts.loopback()).backends(List.of(dead, alive)).start()) {
            for (int i = 0; i < 4; i++) {
                assertEquals("200 " + alive, get(lb.port(), "/x" + i));
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (lb.requests().size() < 4 && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(lb.requests().stream().anyMatch(r -> r.triedPorts().equals(List.of(dead, alive))),
                    "the dead backend was tried first, then the next one: " + lb.requests());
        }
    }

    /** A node that cannot tell (503) under the challenge path: nginx tries the next node. */
    @Test
    void aChallengeAnswered503IsRetriedOnTheNextBackend() throws Exception {
        HttpServer cut = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 16);
        int cutPort = cut.getAddress().getPort();
        cut.createContext("/", ex -> {
            byte[] body = "Service Unavailable\n".getBytes(StandardCharsets.US_ASCII);
            ex.sendResponseHeaders(503, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        cut.start();
        backends.add(cut);
        int healthy = backend();
        try (LoadBalancer lb = LoadBalancer.builder().listenPort(FreePorts.loopback()).backends(List.of(cutPort, healthy)).start()) {
            assertEquals("200 " + healthy, get(lb.port(), "/.well-known/acme-challenge/tok"));
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (lb.requests().isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            LoadBalancer.Request r = lb.requests().get(0);
            assertEquals(List.of(cutPort, healthy), r.triedPorts(), r.toString());
            assertEquals(List.of(503, 200), r.backendStatuses(), r.toString());
        }
    }

    @Test
    void closeStopsNginxAndItsWorkers() throws Exception {
        int port = FreePorts.loopback();
        LoadBalancer lb = LoadBalancer.builder().listenPort(port).backend(backend()).start();
        List<ProcessHandle> nginx = ProcessHandle.current().descendants()
                .filter(p -> p.info().command().map(c -> c.endsWith("nginx")).orElse(false)).toList();
        assertFalse(nginx.isEmpty(), "nginx runs as a child process");
        lb.close();
        for (ProcessHandle p : nginx) {
            p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
        }
        assertThrows(IOException.class, () -> new java.net.Socket("127.0.0.1", port).close(), "nothing listens any more");
    }

    @Test
    void aMissingBinaryNamesTheScriptThatInstallsIt() {
        IOException e = assertThrows(IOException.class, () -> LoadBalancer.builder().listenPort(FreePorts.loopback()).backend(8080)
                .binary(Path.of("/nonexistent/nginx")).start());
        assertTrue(e.getMessage().contains("scripts/get-lb.sh"), e.getMessage());
    }
}
