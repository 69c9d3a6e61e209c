package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

import org.junit.jupiter.api.Test;

/** The IDE completion metadata the build generates (spring-boot-configuration-processor) covers every property. */
class ConfigurationMetadataTest {

    private static String resource(String name) throws IOException {
        try (InputStream in = ConfigurationMetadataTest.class.getClassLoader().getResourceAsStream(name)) {
            assertNotNull(in, name + " is not on the class path: the annotation processor did not run");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void everyPropertyIsDescribed() throws IOException {
        String json = resource("META-INF/spring-configuration-metadata.json");
        for (String property : List.of("enabled", "domains", "certificates", "directory", "acme-server-trust", "email",
                "agree-terms-of-service", "storage-directory", "http-port", "redirect-to-https", "profile", "require-profile",
                "key-type", "renewal.check-interval", "renewal.renewal-ratio", "renewal.backoff", "renewal.expiry-warning",
                "renewal.use-ari", "renewal.order-timeout", "renewal.http-timeout", "health.renewal-failing-status",
                "health.fallback-status", "challenge-types", "store.type", "store.postgres.table-prefix", "store.postgres.lease",
                "store.postgres.lock-timeout", "store.postgres.schema")) {
            String entry = "\"name\": \"autocert4j." + property + "\"";
            int at = json.indexOf(entry);
            assertTrue(at >= 0, "no metadata for autocert4j." + property);
            int end = json.indexOf('}', at);
            assertTrue(json.substring(at, end).contains("\"description\""), "autocert4j." + property + " has no description");
        }
        assertTrue(json.contains("\"value\": \"letsencrypt-staging\""), "the directory shorthands are offered as hints");
    }

    @Test
    void theAutoConfigurationIsRegisteredForBothBootLines() throws IOException {
        assertTrue(resource("META-INF/spring/org.springframework.boot.autoconfigure.AutoConfiguration.imports")
                .contains(AutoCertAutoConfiguration.class.getName()));
        assertTrue(resource("META-INF/spring.factories").contains(AutoCertFailureAnalyzer.class.getName()));
    }
}
