package io.github.autocert4j.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import io.github.autocert4j.testkit.PebbleServer;

/**
 * The one-command demo: a local Pebble CA on loopback issuing short-lived certificates (2 minutes),
 * and an example server obtaining one and renewing it live, visibly, without restart.
 * Run by {@code ./demo.sh [netty|jetty|tomcat]} (Netty by default); stops Pebble on exit (Ctrl-C).
 * {@code ./demo.sh cluster} runs {@link ClusterDemo} instead: three nodes on PostgreSQL behind nginx.
 */
public final class DemoMain {
    private DemoMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("cluster")) {
            ClusterDemo.main(args);
            return;
        }
        int httpPort = Integer.parseInt(ExampleConfig.setting("http.port", "DEMO_HTTP_PORT", "5002"));
        int httpsPort = Integer.parseInt(ExampleConfig.setting("https.port", "DEMO_HTTPS_PORT", "8443"));
        Duration lifetime = Duration.ofSeconds(Long.parseLong(ExampleConfig.setting("demo.lifetime", "DEMO_LIFETIME_SECONDS", "120")));
        Path store = Files.createTempDirectory("autocert4j-demo-store");
        PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.LATEST)
                .profile("demo", lifetime).start();
        Runtime.getRuntime().addShutdownHook(new Thread(pebble::close, "demo-pebble-stop"));
        System.out.println("pebble: " + pebble.directoryUri() + " (Pebble " + pebble.version() + ", certificates live " + lifetime.toSeconds() + " s)");
        System.out.println("trust-root: " + pebble.issuanceRootPem().toAbsolutePath());
        ExampleConfig config = new ExampleConfig(pebble.directoryUri().toString(), pebble.acmeServerCaPem(),
                List.of("app.autocert4j.test"), httpPort, httpsPort, "127.0.0.1", store, "demo", null);
        String host = args.length > 0 ? args[0] : "netty";
        AutoCloseable server = switch (host) {
            case "netty" -> NettyExample.start(config);
            case "jetty" -> JettyExample.start(config);
            case "tomcat" -> TomcatExample.start(config);
            default -> throw new IllegalArgumentException("unknown server '" + host + "': use netty, jetty, tomcat or cluster");
        };
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                System.err.println("demo: stopping the server: " + e);
            }
            deleteTree(store); // it holds private keys: nothing of the demo stays behind
        }, "demo-server-stop"));
        Thread.currentThread().join();
    }

    /** Deletes {@code dir} and everything under it, deepest first; best effort (the demo is exiting). */
    static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (java.io.IOException e) {
                    System.err.println("demo: cannot delete " + p + ": " + e.getMessage());
                }
            });
        } catch (java.io.IOException e) {
            System.err.println("demo: cannot delete the demo store " + dir + ": " + e.getMessage());
        }
    }
}
