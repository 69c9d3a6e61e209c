package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;

import javax.sql.DataSource;

import jakarta.enterprise.inject.Instance;
import jakarta.inject.Inject;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.ConfigProvider;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * The store on the application's default datasource: with autocert4j-postgres and a configured
 * PostgreSQL datasource ({@code store.type=auto}), the account, key and certificate go to
 * PostgreSQL (rows in {@code autocert4j_entries}), none to the file store directory, and the
 * issued certificate is served. (The other test classes run with Agroal present but no
 * datasource configured, and keep files: {@code auto} falls back.)
 */
@QuarkusTest
@QuarkusTestResource(value = QuarkusPostgresTest.WithPostgres.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusPostgresTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @Inject
    Instance<DataSource> dataSource; // an Instance: in the other test classes' applications it is inactive

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void keepsKeysAndCertificatesInPostgres() throws Exception {
        CertificateStatus issued = Awaits.issued(extension.autoCert(), PebbleResource.NAME, pebble, T);
        assertEquals(issued.serial(), TlsProbe.handshake(new InetSocketAddress("127.0.0.1", httpsPort), PebbleResource.NAME,
                pebble.issuanceRoot(), T).serial());
        try (Connection c = dataSource.get().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT count(*) FROM autocert4j_entries")) {
            rs.next();
            assertTrue(rs.getLong(1) >= 3, "account, key and certificate rows: " + rs.getLong(1));
        }
        Path dir = Path.of(ConfigProvider.getConfig().getValue("quarkus.autocert4j.store.directory", String.class));
        try (Stream<Path> files = Files.exists(dir) ? Files.list(dir) : Stream.empty()) {
            assertEquals(0, files.count(), "nothing in the file store " + dir);
        }
    }

    /** Pebble plus a testkit PostgreSQL as the application's default datasource. */
    public static class WithPostgres extends PebbleResource {
        private PostgresServer postgres;

        @Override
        protected Map<String, String> more(PebbleServer pebble, Path store) {
            try {
                postgres = PostgresServer.startNew();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("quarkus.datasource.db-kind", "postgresql",
                    "quarkus.datasource.jdbc.url", postgres.jdbcUrl(),
                    "quarkus.datasource.username", postgres.user(),
                    "quarkus.datasource.password", postgres.password());
        }

        @Override
        public void stop() {
            super.stop();
            if (postgres != null) {
                postgres.close();
            }
        }
    }
}
