package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jakarta.inject.Inject;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The quickstart of docs/quarkus.md as pasted: its {@code ```properties} block is the
 * application's configuration, with only the CA (directory, plus Pebble's trust), the names and
 * the store directory pointed at the test's; the application obtains a certificate from Pebble
 * and serves it, verified against Pebble's root.
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusQuickstartDocTest.AsPasted.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusQuickstartDocTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void theQuickstartConfigurationObtainsACertificateFromPebble() throws Exception {
        CertificateStatus issued = Awaits.issued(extension.autoCert(), PebbleResource.NAME, pebble, T);
        TlsProbe.HttpResult page = TlsProbe.httpsGet(new InetSocketAddress("127.0.0.1", httpsPort), PebbleResource.NAME, "/hello",
                pebble.issuanceRoot(), T);
        assertEquals(200, page.status());
        assertEquals(issued.serial(), page.serial());
    }

    /** Pebble, and the documented properties with the CA, names and store replaced. */
    public static class AsPasted extends PebbleResource {
        private static final Pattern BLOCK = Pattern.compile("```properties\\n(.*?)```", Pattern.DOTALL);
        /** The only documented keys the test points elsewhere (the base resource sets them for Pebble). */
        private static final List<String> REPLACED = List.of("quarkus.autocert4j.names", "quarkus.autocert4j.directory",
                "quarkus.autocert4j.store.directory");

        @Override
        protected Map<String, String> more(PebbleServer pebble, Path store) {
            String root = System.getProperty("autocert4j.repoRoot");
            Path doc = (root == null ? Path.of("../..") : Path.of(root)).resolve("docs/quarkus.md").toAbsolutePath().normalize();
            Properties documented = new Properties();
            try {
                Matcher m = BLOCK.matcher(Files.readString(doc, StandardCharsets.UTF_8));
                if (!m.find()) {
                    throw new IllegalStateException(doc + " has no ```properties quickstart block");
                }
                documented.load(new StringReader(m.group(1)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (String key : REPLACED) {
                if (!documented.containsKey(key)) {
                    throw new IllegalStateException(doc + ": the quickstart no longer sets " + key + "; update this test");
                }
            }
            Map<String, String> config = new HashMap<>();
            documented.stringPropertyNames().stream().filter(k -> !REPLACED.contains(k))
                    .forEach(k -> config.put(k, documented.getProperty(k)));
            return config;
        }
    }
}
