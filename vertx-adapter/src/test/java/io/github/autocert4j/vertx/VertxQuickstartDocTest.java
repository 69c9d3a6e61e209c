package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart of docs/vertx.md, as pasted: its {@code ```java} block is compiled against this
 * module's test class path and its {@code start(vertx, autoCert, httpPort, httpsPort)} run with an
 * AutoCert on Pebble; the certificate is obtained through the quickstart's own plain port and
 * served, verified against Pebble's root, on its HTTPS port.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
@WithPebble
class VertxQuickstartDocTest {
    private static final Pattern BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    static final String NAME = "quickstart.autocert4j.test";

    @TempDir
    Path work;

    static Path doc() {
        String root = System.getProperty("autocert4j.repoRoot");
        return (root == null ? Path.of("..") : Path.of(root)).resolve("docs/vertx.md").toAbsolutePath().normalize();
    }

    @Test
    void theQuickstartCompilesAsPastedAndObtainsACertificateFromPebble(PebbleServer pebble) throws Exception {
        String text = Files.readString(doc(), StandardCharsets.UTF_8);
        Matcher m = BLOCK.matcher(text);
        assertTrue(m.find(), "docs/vertx.md has a ```java quickstart");
        String code = m.group(1);
        Path src = work.resolve("src/VertxQuickstart.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, code);
        Path classes = Files.createDirectories(work.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        java.io.ByteArrayOutputStream diagnostics = new java.io.ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-proc:none", "-classpath", System.getProperty("java.class.path"),
                "-d", classes.toString(), src.toString());
        assertEquals(0, rc, "docs/vertx.md quickstart does not compile as pasted:\n" + diagnostics);

        AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(work.resolve("store")).certificate(NAME).build();
        Vertx vertx = Vertx.vertx();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()}, getClass().getClassLoader())) {
            Method start = loader.loadClass("VertxQuickstart").getMethod("start", Vertx.class, AutoCert.class, int.class, int.class);
            @SuppressWarnings("unchecked")
            Future<HttpServer> https = (Future<HttpServer>) start.invoke(null, vertx, autoCert, pebble.httpPort(), 0);
            HttpServer server = VertxHost.await(https);
            autoCert.start();
            VertxPebbleTest.awaitIssued(autoCert, NAME, pebble);
            InetSocketAddress addr = new InetSocketAddress("127.0.0.1", server.actualPort());
            TlsProbe.HttpResult page = TlsProbe.httpsGet(addr, NAME, "/", pebble.issuanceRoot(), Duration.ofSeconds(30));
            assertEquals(200, page.status());
            assertEquals("hello over TLS\n", page.body());
            assertEquals(autoCert.status(NAME).orElseThrow().serial(), page.serial(), "the issued certificate is served");
        } finally {
            autoCert.close();
            VertxHost.await(vertx.close());
        }
    }
}
