package io.github.autocert4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.internal.LoadBalancer;

/**
 * {@code ./demo.sh cluster}: a throw-away PostgreSQL, a local Pebble CA issuing short-lived certificates, nginx
 * round-robin in front of three {@link ClusterNode} JVMs' plain-HTTP ports (where Pebble validates), and the three
 * nodes sharing the PostgreSQL store. Each node prints {@code node=<k> certificate: serial=<hex> notAfter=<ISO-8601>}
 * whenever a certificate goes live on it, so every renewal shows as one serial on all three nodes: one
 * {@code (ordered by this node)}, two {@code (from the store)}. Ctrl-C stops everything and deletes the data.
 *
 * <p>Settings (property or environment variable): {@code DEMO_HTTP_PORT} (5002, the load balancer, where Pebble
 * validates), {@code DEMO_HTTPS_PORT} (8443: the nodes get 8443, 8444, 8445), {@code DEMO_LIFETIME_SECONDS} (60).
 *
 * <pre>{@code
 * ./demo.sh cluster
 * }</pre>
 */
public final class ClusterDemo {
    private static final String NAME = "app.autocert4j.test";

    private ClusterDemo() {
    }

    /** Starts everything and runs until Ctrl-C. */
    public static void main(String[] args) throws Exception {
        int lbPort = Integer.parseInt(ExampleConfig.setting("http.port", "DEMO_HTTP_PORT", "5002"));
        int httpsBase = Integer.parseInt(ExampleConfig.setting("https.port", "DEMO_HTTPS_PORT", "8443"));
        Duration lifetime = Duration.ofSeconds(Long.parseLong(ExampleConfig.setting("demo.lifetime", "DEMO_LIFETIME_SECONDS", "60")));
        Path logs = Files.createTempDirectory("autocert4j-cluster-demo-");
        List<AutoCloseable> toClose = new ArrayList<>();
        List<Process> nodes = new ArrayList<>();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stopAll(nodes, toClose, logs), "demo-stop"));

        PostgresServer pg = PostgresServer.startNew();
        toClose.add(pg);
        System.out.println("postgres: " + pg.jdbcUrl() + " (PostgreSQL from " + pg.binDirectory() + ", data deleted on exit)");
        PebbleServer pebble = PebbleServer.builder().httpPort(lbPort).flavor(PebbleServer.Flavor.LATEST).profile("demo", lifetime).start();
        toClose.add(0, pebble);
        System.out.println("pebble: " + pebble.directoryUri() + " (Pebble " + pebble.version() + ", certificates live "
                + lifetime.toSeconds() + " s, renewed when half of that remains)");
        System.out.println("trust-root: " + pebble.issuanceRootPem().toAbsolutePath());
        List<Integer> httpPorts = List.of(FreePorts.loopback(), FreePorts.loopback(), FreePorts.loopback());
        LoadBalancer lb = LoadBalancer.builder().listenPort(lbPort).backends(httpPorts).start();
        toClose.add(0, lb);
        System.out.println("load-balancer: nginx on 127.0.0.1:" + lbPort + " -> " + httpPorts + " (round-robin; Pebble validates here)");
        System.out.println("node logs: " + logs);
        System.out.flush();

        for (int k = 1; k <= 3; k++) {
            int https = httpsBase + k - 1;
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.logFile=System.err",
                    "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                    "-cp", System.getProperty("java.class.path"), ClusterNode.class.getName())
                    .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                    .redirectError(logs.resolve("node-" + k + ".log").toFile());
            Map<String, String> env = pb.environment();
            env.put("NODE_ID", Integer.toString(k));
            env.put("JDBC_URL", pg.jdbcUrl());
            env.put("DB_USER", pg.user());
            env.put("DB_PASSWORD", pg.password());
            env.put("ACME_DIRECTORY", pebble.directoryUri().toString());
            env.put("ACME_TRUST", pebble.acmeServerCaPem().toString());
            env.put("NAMES", NAME);
            env.put("PROFILE", "demo");
            env.put("HTTP_PORT", Integer.toString(httpPorts.get(k - 1)));
            env.put("HTTPS_PORT", Integer.toString(https));
            env.put("ARI", "false"); // the lifetime rule: every node's renewal moment is the same, visibly one order each time
            env.put("RETRY_SECONDS", "5,10,30");
            nodes.add(pb.start());
            System.out.println("node " + k + ": https://" + NAME + ":" + https + "/  (curl --cacert "
                    + pebble.issuanceRootPem().toAbsolutePath() + " --resolve " + NAME + ":" + https + ":127.0.0.1 https://" + NAME + ":"
                    + https + "/)");
        }
        System.out.println("every renewal: one node prints '(ordered by this node)', the other two '(from the store)', same serial. Ctrl-C stops.");
        System.out.flush();
        for (Process p : nodes) {
            p.waitFor();
        }
    }

    private static void stopAll(List<Process> nodes, List<AutoCloseable> toClose, Path logs) {
        for (Process p : nodes) {
            p.destroy();
        }
        for (Process p : nodes) {
            try {
                if (!p.waitFor(10, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
            }
        }
        for (AutoCloseable c : toClose) {
            try {
                c.close();
            } catch (Exception e) {
                System.err.println("demo: stopping " + c + ": " + e);
            }
        }
        try (Stream<Path> files = Files.walk(logs)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort
        }
    }
}
