package io.github.autocert4j.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The quickstart of docs/micronaut.md as pasted: its {@code ```properties} block runs a real
 * Micronaut server against Pebble (only the CA, its trust, the names, the store directory and the
 * ports swapped in; every {@code micronaut.server.*} line as written), which obtains a
 * certificate through its plain port and serves it, verified against Pebble's root, on HTTPS; its
 * {@code ```java} block compiles against this module's test class path.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
@WithPebble
class MicronautQuickstartDocTest {
    private static final Pattern JAVA = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern PROPERTIES = Pattern.compile("```properties\\n(.*?)```", Pattern.DOTALL);
    static final String NAME = "quickstart.micronaut.autocert4j.test";

    @TempDir
    Path work;

    static String doc() throws Exception {
        String root = System.getProperty("autocert4j.repoRoot");
        Path p = (root == null ? Path.of("..") : Path.of(root)).resolve("docs/micronaut.md").toAbsolutePath().normalize();
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    @Test
    void theJavaBlockCompilesAsPasted() throws Exception {
        Matcher m = JAVA.matcher(doc());
        assertTrue(m.find(), "docs/micronaut.md has a ```java quickstart");
        Path src = work.resolve("src/Application.java");
        Files.createDirectories(src.getParent());
        Files.writeString(src, m.group(1));
        Path classes = Files.createDirectories(work.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        java.io.ByteArrayOutputStream diagnostics = new java.io.ByteArrayOutputStream();
        int rc = javac.run(null, diagnostics, diagnostics, "-proc:none", "-classpath", System.getProperty("java.class.path"),
                "-d", classes.toString(), src.toString());
        assertEquals(0, rc, "docs/micronaut.md quickstart does not compile as pasted:\n" + diagnostics);
    }

    @Test
    void thePropertiesObtainAndServeACertificateFromPebble(PebbleServer pebble) throws Exception {
        Matcher m = PROPERTIES.matcher(doc());
        assertTrue(m.find(), "docs/micronaut.md has a ```properties quickstart");
        Properties pasted = new Properties();
        pasted.load(new StringReader(m.group(1)));
        Map<String, Object> props = new HashMap<>();
        pasted.forEach((k, v) -> props.put((String) k, v));
        for (String key : List.of("micronaut.server.port", "micronaut.server.ssl.port", "autocert4j.names", "autocert4j.directory",
                "autocert4j.store-directory")) {
            assertTrue(props.containsKey(key), "the quickstart sets " + key);
        }
        props.put("autocert4j.names", NAME + ",www." + NAME);
        props.put("autocert4j.directory", pebble.directoryUri().toString());
        props.put("autocert4j.trust", pebble.acmeServerCaPem().toString());
        props.put("autocert4j.store-directory", work.resolve("certs").toString());
        props.remove("micronaut.server.port");      // MicronautHost sets the ports (Pebble's plain port, a free HTTPS port)
        props.remove("micronaut.server.ssl.port");
        try (MicronautHost host = MicronautHost.start(pebble.httpPort(), props)) {
            AutoCert a = host.autoCert();
            CertificateStatus issued = MicronautPebbleTest.awaitSerial(a, NAME, null);
            assertEquals(List.of(NAME, "www." + NAME), issued.names());
            TlsProbe.HttpResult page = TlsProbe.httpsGet(host.httpsAddress(), "www." + NAME, "/hello", pebble.issuanceRoot(),
                    Duration.ofSeconds(30));
            assertEquals(200, page.status());
            assertEquals(issued.serial(), page.serial(), "the issued certificate is served");
        }
    }
}
