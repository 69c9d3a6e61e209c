package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.FilteredClassLoader;

/**
 * autocert4j-postgres is an optional dependency of the starter: with its classes hidden from the application
 * (as when it is not declared), the starter works as before, and {@code autocert4j.store.type=postgres}
 * stops start-up naming the dependency to add.
 */
@WithPebble
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class SpringBootWithoutPostgresTest {
    private static final String NAME = "nopg.autocert4j.test";

    private static FilteredClassLoader withoutPostgresStore() {
        return new FilteredClassLoader("io.github.autocert4j.postgres");
    }

    @Test
    void theStarterWorksWithoutThePostgresModule(PebbleServer pebble, X509Certificate root, @TempDir Path store) throws Exception {
        try (BootApp app = BootApp.start(Server.TOMCAT, BootApp.pebbleProperties(pebble, NAME, store), withoutPostgresStore())) {
            assertThrows(ClassNotFoundException.class,
                    () -> app.context.getClassLoader().loadClass(PostgresStoreConfiguration.STORE_CLASS), "hidden from the application");
            assertEquals(List.of(), List.of(app.context.getBeanNamesForType(CertStore.class)), "no store bean: the file store is used");
            Http.await("the first certificate", Duration.ofSeconds(30),
                    () -> app.autoCert().status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
            assertEquals(app.autoCert().status(NAME).orElseThrow().serial(),
                    TlsProbe.handshake(app.https(), NAME, root, Duration.ofSeconds(5)).serial());
        }
    }

    @Test
    void thePostgresStoreTypeWithoutTheModuleNamesTheDependency(PebbleServer pebble, @TempDir Path store) {
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, store));
        props.put("autocert4j.store.type", "postgres");
        RuntimeException e = assertThrows(RuntimeException.class, () -> BootApp.start(Server.TOMCAT, props, withoutPostgresStore()).close());
        AutoCertConfigurationException c = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AutoCertConfigurationException found) {
                c = found;
            }
        }
        assertTrue(c != null, "start-up fails with the property named: " + e);
        assertEquals(1, c.problems().size(), c.problems().toString());
        assertTrue(c.problems().get(0).startsWith("autocert4j.store.type: postgres, but autocert4j-postgres is not on the class path. "
                + "Fix: add the dependency io.github.autocert4j:autocert4j-postgres"), c.problems().get(0));
    }
}
