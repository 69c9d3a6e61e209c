package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
 * read from the child's {@code -Xlog:class+load} ({@link FirstHttpsRequestChild}). (That Netty class
 * itself is loaded, not initialised, by the verification of Netty's {@code SslContext}, so only the
 * provider tells.) The control child sets Vert.x's plain {@code JdkSSLEngineOptions} afterwards and
 * must load the provider, so the check sees what it looks for. A process of its own, hence
 * integration. {@code -Dfirstrequest.rounds=n} also measures n interleaved pairs of children
 * without the class-load log and prints their first-request times (figures of docs/vertx.md) to
 * {@code target/first-request/figures.txt}.
 */
@IntegrationTest
@Timeout(value = 10, unit = TimeUnit.MINUTES)
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

        List<String> adapter = classes(run("adapter", true));
        assertTrue(adapter.contains("io.netty.handler.ssl.JdkSslContext"), "the child served TLS through Netty's JdkSslContext");
        assertFalse(adapter.contains(PROVIDER), "BouncyCastle's JCA provider loaded on the first HTTPS request");

        List<String> control = classes(run("vertx-jdk-engine", true));
        assertTrue(control.contains(PROVIDER), "control: Vert.x's own factory (Netty's JdkSslServerContext) loads BouncyCastle's JCA provider");

        int rounds = Integer.getInteger("firstrequest.rounds", 0);
        if (rounds > 0) {
            measure(rounds);
        }
    }

    /** {@code rounds} interleaved pairs (adapter first in odd rounds), first-request ms and load average. */
    private void measure(int rounds) throws Exception {
        Map<String, List<Long>> ms = new TreeMap<>();
        List<String> lines = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            for (String mode : r % 2 == 1 ? List.of("adapter", "vertx-jdk-engine") : List.of("vertx-jdk-engine", "adapter")) {
                String out = run(mode, false);
                long t = Long.parseLong(out.lines().filter(l -> l.startsWith("FIRST_REQUEST_MS ")).findFirst().orElseThrow().substring(17));
                ms.computeIfAbsent(mode, k -> new ArrayList<>()).add(t);
                lines.add("round " + r + " " + mode + " first_request_ms=" + t + " loadavg=" + Files.readString(Path.of("/proc/loadavg")).trim());
            }
        }
        ms.forEach((mode, v) -> {
            List<Long> s = v.stream().sorted().toList();
            lines.add(mode + ": median " + s.get(s.size() / 2) + " ms [" + s.get(0) + ".." + s.get(s.size() - 1) + "], n=" + s.size());
        });
        Path figures = Path.of("target", "first-request", "figures.txt");
        Files.createDirectories(figures.getParent());
        Files.write(figures, lines);
        lines.forEach(System.out::println);
    }

    /** The child's standard output, after checking it ended well and its first request was answered. */
    private String run(String mode, boolean logClasses) throws Exception {
        Path run = Files.createTempDirectory(dir, mode);
        Path err = run.resolve("stderr.log");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java));
        if (logClasses) {
            cmd.add("-Xlog:class+load=info:file=" + dir.resolve(mode + "-classes.log"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), FirstHttpsRequestChild.class.getName(),
                run.resolve("store").toString(), mode));
        Path stdout = run.resolve("stdout.log");
        // Output to a file and waitFor first: a read of the pipe would block past any bound if the child hung.
        Process p = new ProcessBuilder(cmd).redirectError(err.toFile()).redirectOutput(stdout.toFile()).start();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            throw new AssertionError("the " + mode + " child did not end within 60 s: " + Files.readString(stdout));
        }
        String out = Files.readString(stdout);
        assertEquals(0, p.exitValue(), mode + " child: " + out + Files.readString(err));
        assertTrue(out.contains("STATUS HTTP/1.1 200 OK"), mode + " child's first request: " + out + Files.readString(err));
        return out;
    }

    /** The classes the last logged child of {@code out}'s mode loaded, by name. */
    private List<String> classes(String out) throws Exception {
        String mode = out.contains("MODE adapter") ? "adapter" : "vertx-jdk-engine";
        List<String> classes = new ArrayList<>();
        for (String line : Files.readAllLines(dir.resolve(mode + "-classes.log"))) {
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
