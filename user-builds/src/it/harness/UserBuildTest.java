import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import org.junit.jupiter.api.Test;

/**
 * One user build: runs the README quickstart of this project ({@code quickstart.main}, compiled from
 * the README's source) in its own JVM with exactly the project's runtime class path (the README's
 * dependencies, nothing of the test), lets it obtain a certificate from Pebble and checks the served
 * chain with a TLS client that trusts only Pebble's issuance root.
 *
 * <p>The quickstart gets only documented settings: the directory URL, ports and store through its
 * system properties (Spring Boot: its {@code autocert4j.*} and {@code server.port} properties), and
 * trust of Pebble's API through the JDK's {@code javax.net.ssl.trustStore}.
 */
class UserBuildTest {
    private static final Duration ISSUANCE_BOUND = Duration.ofSeconds(90);
    private static final String[] NAMES = {"example.com", "www.example.com"};

    @Test
    void quickstartAsPastedObtainsAndServesAPebbleCertificate() throws Exception {
        String main = System.getProperty("quickstart.main");
        boolean boot = Boolean.getBoolean("quickstart.springBoot");
        Path target = Path.of("target").toAbsolutePath();
        List<String> runtime = new ArrayList<>(List.of(target.resolve("classes").toString()));
        String cp = Files.readString(target.resolve("runtime.classpath")).trim();
        runtime.addAll(Arrays.asList(cp.split(File.pathSeparator)));
        assertTcnative(runtime);
        assertBootServer(runtime);
        // the test kit's optional PostgreSQL driver is absent here: PebbleServer and TlsProbe work without it
        assertThrows(ClassNotFoundException.class, () -> Class.forName("org.postgresql.Driver"));

        Path work = Files.createTempDirectory(target, "quickstart-");
        try (PebbleServer pebble = PebbleServer.builder().httpPort(FreePorts.loopback()).start()) {   // builds run in parallel
            Path trustStore = trustStoreOf(pebble.acmeServerCaPem(), work.resolve("pebble-api.p12"));
            int httpPort = pebble.httpPort();
            int httpsPort = FreePorts.loopback();
            Path store = work.resolve("certs");
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Djavax.net.ssl.trustStore=" + trustStore, "-Djavax.net.ssl.trustStorePassword=changeit",
                    "-Djavax.net.ssl.trustStoreType=PKCS12"));
            if (boot) {
                command.addAll(List.of("-Dautocert4j.directory=" + pebble.directoryUri(), "-Dautocert4j.http-port=" + httpPort,
                        "-Dserver.port=" + httpsPort, "-Dautocert4j.storage-directory=" + store));
            } else {
                command.addAll(List.of("-Dacme.directory=" + pebble.directoryUri(), "-Dhttp.port=" + httpPort,
                        "-Dhttps.port=" + httpsPort, "-Dcerts=" + store));
            }
            command.addAll(List.of("-cp", String.join(File.pathSeparator, runtime), main));
            Path log = target.resolve("quickstart.log");
            Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            try {
                X509Certificate root = pebble.issuanceRoot();
                InetSocketAddress https = new InetSocketAddress("127.0.0.1", httpsPort);
                TlsProbe.Result served = awaitIssued(server, https, root, log);
                for (String name : NAMES) {
                    TlsProbe.Result r = TlsProbe.handshake(https, name, root, Duration.ofSeconds(10));
                    assertEquals(served.serial(), r.serial(), "one certificate for " + Arrays.toString(NAMES));
                }
                X509Certificate leaf = served.leaf();
                List<String> sans = leaf.getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1))).toList();
                assertTrue(sans.containsAll(List.of(NAMES)), "the certificate names " + Arrays.toString(NAMES) + ": " + sans);
                assertTrue(served.chain().size() >= 2, "the server sends the chain, not only the leaf: " + served.chain().size());
                TlsProbe.HttpResult reply = TlsProbe.httpsGet(https, NAMES[0], "/", root, Duration.ofSeconds(10));
                assertEquals(200, reply.status(), "GET / over TLS: " + reply.body());
                assertEquals("hello over TLS", reply.body().trim());
                assertTrue(server.isAlive(), "the quickstart keeps running (see " + log + ")");
                assertTlsProvider(server, served);
            } finally {
                server.destroy();
                if (!server.waitFor(10, TimeUnit.SECONDS)) {
                    server.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    /** netty-tcnative is on the user's class path exactly when this build's README set declares it. */
    private static void assertTcnative(List<String> runtime) {
        boolean expected = Boolean.getBoolean("quickstart.tcnative");
        boolean present = runtime.stream().anyMatch(e -> Path.of(e).getFileName().toString().startsWith("netty-tcnative"));
        assertEquals(expected, present, "netty-tcnative on the quickstart's class path: " + runtime);
    }

    /**
     * The quickstart serves with OpenSSL exactly when this build expects it ({@code quickstart.openssl}:
     * netty-tcnative brought by the README's dependencies and a Netty server): BoringSSL is loaded
     * into its JVM then, and only then (the JDK provider never loads it). Read from
     * {@code /proc/<pid>/maps}, which only Linux has; the user builds run on Linux in CI.
     */
    private static void assertTlsProvider(Process server, TlsProbe.Result served) throws IOException {
        if (!Files.isDirectory(Path.of("/proc/self"))) {
            return; // not Linux: no /proc to read the quickstart's native libraries from
        }
        boolean expected = Boolean.getBoolean("quickstart.openssl");
        boolean loaded = Files.readAllLines(Path.of("/proc", Long.toString(server.pid()), "maps"), StandardCharsets.ISO_8859_1)
                .stream().anyMatch(l -> l.contains("netty_tcnative"));
        assertEquals(expected, loaded, "netty-tcnative's BoringSSL loaded in the quickstart's JVM (the OpenSSL provider; handshake: "
                + served.protocol() + " " + served.cipherSuite() + ")");
    }

    /**
     * Spring Boot: exactly the server of this build's starter is on the class path (the starter's other
     * {@code provided} servers absent), and no Actuator nor micrometer-core (the starter's health indicator and endpoint are
     * optional: the README's set does not list it).
     */
    private static void assertBootServer(List<String> runtime) {
        String server = System.getProperty("quickstart.bootServer");
        if (server == null || server.isEmpty()) {
            return;
        }
        for (String jar : List.of("tomcat-embed-core", "jetty-server", "reactor-netty-http", "spring-boot-actuator", "micrometer-core")) {
            boolean present = runtime.stream().anyMatch(e -> Path.of(e).getFileName().toString().startsWith(jar + "-"));
            assertEquals(jar.equals(server), present, jar + " on the Spring Boot quickstart's class path: " + runtime);
        }
    }

    private static TlsProbe.Result awaitIssued(Process server, InetSocketAddress https, X509Certificate root, Path log)
            throws Exception {
        long deadline = System.nanoTime() + ISSUANCE_BOUND.toNanos();
        Exception last = null;
        while (System.nanoTime() < deadline) {
            if (!server.isAlive()) {
                fail("the quickstart exited with " + server.exitValue() + " before serving a Pebble certificate:\n" + tail(log));
            }
            try {
                return TlsProbe.handshake(https, NAMES[0], root, Duration.ofSeconds(5));
            } catch (IOException e) {
                last = e;   // not listening yet, or still the self-signed fallback
            }
            Thread.sleep(250);
        }
        fail("no certificate from Pebble served within " + ISSUANCE_BOUND + " (last: " + last + "):\n" + tail(log));
        return null;
    }

    private static Path trustStoreOf(Path pem, Path file) throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        int i = 0;
        try (var in = Files.newInputStream(pem)) {
            for (var cert : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
                ks.setCertificateEntry("pebble-api-" + i++, cert);
            }
        }
        assertFalse(i == 0, "no certificate in " + pem);
        try (OutputStream out = Files.newOutputStream(file)) {
            ks.store(out, "changeit".toCharArray());
        }
        return file;
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
