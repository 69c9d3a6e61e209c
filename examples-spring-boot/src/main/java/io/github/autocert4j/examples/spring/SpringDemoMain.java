package io.github.autocert4j.examples.spring;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import io.github.autocert4j.testkit.PebbleServer;
import org.springframework.boot.SpringApplication;

/**
 * {@code ./demo.sh spring}: a local Pebble CA on loopback issuing 2-minute certificates, and
 * {@link SpringBootExample} (Boot 4.0, Tomcat) obtaining one through the starter's plain-HTTP port
 * and renewing it live, visibly, without restart. Prints the same lines as the other demos
 * ({@code trust-root:}, {@code https-url:}, {@code connect-to:}, {@code certificate: ...}); Ctrl-C
 * stops the application and Pebble. Ports: {@code DEMO_HTTP_PORT} (5002, where Pebble validates),
 * {@code DEMO_HTTPS_PORT} (8443); {@code DEMO_LIFETIME_SECONDS} (120).
 */
public final class SpringDemoMain {
    private SpringDemoMain() {
    }

    public static void main(String[] args) throws Exception {
        int httpPort = Integer.parseInt(setting("DEMO_HTTP_PORT", "5002"));
        int httpsPort = Integer.parseInt(setting("DEMO_HTTPS_PORT", "8443"));
        Duration lifetime = Duration.ofSeconds(Long.parseLong(setting("DEMO_LIFETIME_SECONDS", "120")));
        Path store = Files.createTempDirectory("autocert4j-demo-store");
        PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.LATEST)
                .profile("demo", lifetime).start();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pebble.close();
            deleteTree(store); // it holds private keys: nothing of the demo stays behind
        }, "demo-stop"));
        System.out.println("pebble: " + pebble.directoryUri() + " (Pebble " + pebble.version() + ", certificates live "
                + lifetime.toSeconds() + " s)");
        System.out.println("trust-root: " + pebble.issuanceRootPem().toAbsolutePath());
        System.out.flush();
        SpringApplication.run(SpringBootExample.class,
                "--logging.config=classpath:demo-logback.xml",
                "--spring.main.banner-mode=off",
                "--server.address=127.0.0.1",
                "--server.port=" + httpsPort,
                "--autocert4j.domains=app.autocert4j.test",
                "--autocert4j.directory=" + pebble.directoryUri(),
                "--autocert4j.acme-server-trust=" + pebble.acmeServerCaPem(),
                "--autocert4j.storage-directory=" + store,
                "--autocert4j.http-port=" + httpPort,
                "--autocert4j.profile=demo");
    }

    /** Deletes {@code dir} and everything under it, deepest first; best effort (the demo is exiting). */
    static void deleteTree(Path dir) {
        try (java.util.stream.Stream<Path> all = Files.walk(dir)) {
            all.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
            System.err.println("demo: cannot delete the demo store " + dir + ": " + e.getMessage());
        }
    }

    private static String setting(String env, String fallback) {
        String v = System.getenv(env);
        return v == null || v.isBlank() ? fallback : v.trim();
    }
}
