package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * In a fresh JVM with this module's test class path (bcprov and bcpkix on it, as for every user:
 * acme4j needs them), a Vert.x HTTPS server set up by {@link AutoCertVertx#httpsOptions} serves its
 * first request without loading BouncyCastle's JCA provider, which the static initialiser of Netty's
 * {@code JdkSslServerContext} instantiates (0.4-0.9 s of CPU on the event loop, docs/vertx.md),
 * read from the child's {@code -Xlog:class+load}. (That Netty class itself is loaded, not
 * initialised, by the verification of Netty's {@code SslContext}, so only the provider tells.) The
 * control run sets Vert.x's plain {@code JdkSSLEngineOptions} afterwards and must load the
 * provider, so the check sees what it looks for.
 * A process of its own, hence integration.
 */
@IntegrationTest
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class VertxFirstRequestClassLoadTest {
    static final String PROVIDER = "org.bouncycastle.jce.provider.BouncyCastleProvider";

    @TempDir
    Path dir;

    @Test
    void theFirstHttpsRequestLoadsNoBouncyCastleProvider() throws Exception {
        String classPath = System.getProperty("java.class.path");
        assertTrue(Arrays.stream(classPath.split(File.pathSeparator)).anyMatch(e -> e.contains("bcpkix"))
                && Arrays.stream(classPath.split(File.pathSeparator)).anyMatch(e -> e.contains("bcprov")),
                "bcpkix and bcprov on the class path, as for a user: " + classPath);

        List<String> adapter = run("adapter");
        assertTrue(adapter.contains("io.netty.handler.ssl.JdkSslContext"), "the child served TLS through Netty's JdkSslContext");
        assertFalse(adapter.contains(PROVIDER), "BouncyCastle's JCA provider loaded on the first HTTPS request");

        List<String> control = run("vertx-jdk-engine");
        assertTrue(control.contains(PROVIDER), "control: whose static initialiser loads BouncyCastle's JCA provider");
    }

    /** The classes the child loaded, by name, after checking its first request was answered. */
    private List<String> run(String mode) throws Exception {
        Path log = dir.resolve(mode + "-classes.log");
        Path err = dir.resolve(mode + "-stderr.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xlog:class+load=info:file=" + log, "-cp", System.getProperty("java.class.path"),
                FirstHttpsRequestChild.class.getName(), dir.resolve(mode + "-store").toString(), mode)
                .redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("the " + mode + " child did not end within 60 s: " + out);
        }
        assertEquals(0, p.exitValue(), mode + " child: " + out + Files.readString(err));
        assertTrue(out.contains("STATUS HTTP/1.1 200 OK"), mode + " child's first request: " + out + Files.readString(err));
        List<String> classes = new ArrayList<>();
        for (String line : Files.readAllLines(log)) {
            int end = line.indexOf(" source: ");
            int start = line.lastIndexOf(' ', end - 1);
            if (end > 0 && start >= 0) {
                classes.add(line.substring(start + 1, end));
            }
        }
        assertTrue(classes.size() > 1000, mode + ": the class-load log was read: " + classes.size());
        return classes;
    }
}
