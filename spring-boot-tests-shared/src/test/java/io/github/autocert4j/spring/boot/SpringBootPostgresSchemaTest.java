package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code autocert4j.store.postgres.schema} (issue 18): against a real PostgreSQL, the store's tables are created and
 * used in that schema, named as a quoted identifier (a mixed-case name with a space works, and nothing lands in
 * {@code public}); the certificate Pebble issued is stored there and served. A value PostgreSQL cannot take stops
 * start-up naming the property and the fix.
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpringBootPostgresSchemaTest {
    private static final String NAME = "pgschema.autocert4j.test";
    private static final String SCHEMA = "Certs App";

    @Test
    void theTablesLiveInTheConfiguredSchema(PebbleServer pebble, X509Certificate root, @TempDir Path files) throws Exception {
        try (PostgresServer pg = PostgresServer.startNew()) {
            try (Connection c = pg.adminDataSource().getConnection(); Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA \"" + SCHEMA + "\"");
                s.execute("GRANT USAGE, CREATE ON SCHEMA \"" + SCHEMA + "\" TO \"" + pg.user() + "\"");
            }
            Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, files));
            props.put("autocert4j.store.type", "postgres");
            props.put("autocert4j.store.postgres.schema", SCHEMA);
            props.put("spring.datasource.url", pg.jdbcUrl());
            props.put("spring.datasource.username", pg.user());
            props.put("spring.datasource.password", pg.password());
            try (BootApp app = BootApp.start(Server.TOMCAT, props)) {
                Http.await("the first certificate", Duration.ofSeconds(60),
                        () -> app.autoCert().status(NAME).map(st -> st.state() == CertificateStatus.State.VALID).orElse(false));
                assertEquals(app.autoCert().status(NAME).orElseThrow().serial(),
                        TlsProbe.handshake(app.https(), NAME, root, Duration.ofSeconds(5)).serial());
            }
            try (Connection c = pg.dataSource().getConnection()) {
                assertTrue(count(c, "SELECT count(*) FROM \"" + SCHEMA + "\".autocert4j_entries WHERE key LIKE 'certs/" + NAME + "/%'") > 0,
                        "the certificate is stored in the schema's table");
                assertEquals(0, count(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'autocert4j!_%' ESCAPE '!'"
                        + " AND schemaname <> '" + SCHEMA + "'"), "no table elsewhere (public)");
                assertEquals(3, count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = '" + SCHEMA + "'"),
                        "entries, locks and schema_version in the schema");
            }
        }
    }

    @Test
    void aSchemaPostgresCannotNameStopsStartUpNamingTheProperty(PebbleServer pebble, @TempDir Path files) {
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, files));
        props.put("autocert4j.store.type", "postgres");
        props.put("autocert4j.store.postgres.schema", "x".repeat(64));
        // the DataSource is not contacted: the store's settings are checked when its bean is made
        props.put("spring.datasource.url", "jdbc:postgresql://127.0.0.1:1/none");
        RuntimeException e = assertThrows(RuntimeException.class, () -> BootApp.start(Server.TOMCAT, props).close());
        AutoCertConfigurationException c = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof AutoCertConfigurationException found) {
                c = found;
            }
        }
        assertTrue(c != null, "start-up fails with the property named: " + e);
        String problem = c.problems().get(0);
        assertTrue(problem.startsWith("autocert4j.store.postgres.schema: schema '" + "x".repeat(64) + "' is longer than PostgreSQL's 63-byte"),
                problem);
        assertTrue(problem.contains("Fix: the name of an existing schema") && problem.contains("or remove autocert4j.store.postgres.schema"),
                problem);
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
