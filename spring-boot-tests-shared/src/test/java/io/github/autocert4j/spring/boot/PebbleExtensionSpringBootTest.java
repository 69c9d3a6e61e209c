package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.core.env.Environment;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * How a Boot user tests their own application against a real CA: {@link WithPebble} next to
 * {@code @SpringBootTest}; the Pebble is running before the application context starts, so
 * {@code @DynamicPropertySource} can point the starter at it (as in docs/testing.md).
 */
@WithPebble
@SpringBootTest(classes = TestApplication.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "server.address=127.0.0.1", "autocert4j.domains=" + PebbleExtensionSpringBootTest.NAME,
        "autocert4j.agree-terms-of-service=true"})
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PebbleExtensionSpringBootTest {
    static final String NAME = "boot-test.autocert4j.test";

    private static PebbleServer pebble;
    @TempDir
    static Path store;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
    }

    @DynamicPropertySource
    static void pointTheStarterAtPebble(DynamicPropertyRegistry registry) {
        registry.add("autocert4j.directory", () -> pebble.directoryUri().toString());
        registry.add("autocert4j.acme-server-trust", () -> pebble.acmeServerCaPem().toString());
        registry.add("autocert4j.http-port", pebble::httpPort);
        registry.add("autocert4j.storage-directory", store::toString);
        Map<String, String> line = new HashMap<>(BootLine.properties(Server.TOMCAT));
        // no database here (spring-boot-starter-jdbc is on the class path for the PostgreSQL store tests): see BootApp
        line.merge("spring.autoconfigure.exclude", String.join(",", BootApp.DATA_SOURCE_AUTO_CONFIGURATIONS), (l, ds) -> l + "," + ds);
        line.forEach((k, v) -> registry.add(k, () -> v));
    }

    @Autowired
    AutoCert autoCert;
    @Autowired
    Environment environment;

    @Test
    void theApplicationServesACertificateFromPebble(X509Certificate issuanceRoot) throws Exception {
        Http.await("the certificate", Duration.ofSeconds(30),
                () -> autoCert.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
        int port = environment.getRequiredProperty("local.server.port", Integer.class);
        TlsProbe.HttpResult page = TlsProbe.httpsGet(new InetSocketAddress("127.0.0.1", port), NAME, "/", issuanceRoot,
                Duration.ofSeconds(5));
        assertEquals(200, page.status());
        assertEquals(autoCert.status(NAME).orElseThrow().serial(), page.serial());
    }
}
