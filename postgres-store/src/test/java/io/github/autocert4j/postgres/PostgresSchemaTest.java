package io.github.autocert4j.postgres;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import io.github.autocert4j.testkit.IntegrationTest;

/**
 * {@code PostgresCertStore.builder(...).schema(...)} on a real PostgreSQL: the tables are created and used in that
 * schema, named as a quoted identifier (case, spaces and a double quote kept); two stores with the same prefix in
 * different schemas are independent, also for their watches; a schema that does not exist fails with the fix and
 * creates nothing; a name PostgreSQL cannot take is refused by {@code build()}.
 */
@IntegrationTest
class PostgresSchemaTest {

    @RegisterExtension
    static final PostgresExtension DB = new PostgresExtension(4);

    @Test
    void tablesLiveInTheSchemaAndStoresInTwoSchemasAreIndependent() throws Exception {
        String a = "Tenant A";
        String b = "tenant \"b\"";
        admin("CREATE SCHEMA " + PostgresCertStore.quoteIdentifier(a), "CREATE SCHEMA " + PostgresCertStore.quoteIdentifier(b),
                "GRANT USAGE, CREATE ON SCHEMA " + PostgresCertStore.quoteIdentifier(a) + " TO " + PostgresCertStore.quoteIdentifier(DB.pg().user()),
                "GRANT USAGE, CREATE ON SCHEMA " + PostgresCertStore.quoteIdentifier(b) + " TO " + PostgresCertStore.quoteIdentifier(DB.pg().user()));
        PostgresCertStore inA = PostgresCertStore.builder(DB.pool()).schema(a).build();
        PostgresCertStore inB = PostgresCertStore.builder(DB.pool()).schema(b).lockTimeout(Duration.ofSeconds(2)).build();
        PostgresCertStore searchPath = PostgresCertStore.builder(DB.pool()).build();
        try {
            assertEquals(Optional.of(a), inA.schema());
            assertEquals(Optional.empty(), searchPath.schema());
            BlockingQueue<String> heardInB = new LinkedBlockingQueue<>();
            try (AutoCloseable watchB = inB.watch("certs/", heardInB::add).orElseThrow()) {
                inA.store("certs/x", new byte[] {1});
                inB.store("certs/y", new byte[] {2});
                assertEquals("certs/y", heardInB.poll(5, TimeUnit.SECONDS), "B hears its own write");
                assertNull(heardInB.poll(300, TimeUnit.MILLISECONDS), "and not A's (one channel per schema)");
            }
            assertArrayEquals(new byte[] {1}, inA.load("certs/x").orElseThrow());
            assertEquals(Optional.empty(), inB.load("certs/x"));
            assertEquals(Optional.empty(), searchPath.load("certs/x"), "the search_path's (public) tables are others");
            inA.checkAccess();
            try (Connection c = DB.pg().dataSource().getConnection()) {
                assertEquals(1, count(c, "SELECT count(*) FROM " + PostgresCertStore.quoteIdentifier(a) + ".autocert4j_entries"));
                assertEquals(3, count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'Tenant A'"), "entries, locks, schema_version");
                assertEquals(3, count(c, "SELECT count(*) FROM pg_tables WHERE schemaname = 'tenant \"b\"'"));
            }
            // locks are per schema too: B takes the name A holds at once (a shared lock would time out after 2 s)
            try (var heldByA = inA.lock("cert-x"); var heldByB = inB.lock("cert-x")) {
                heldByB.ensureHeld();
            }
        } finally {
            inA.close();
            inB.close();
            searchPath.close();
        }
    }

    @Test
    void aMissingSchemaFailsWithTheFixAndCreatesNothing() throws Exception {
        PostgresCertStore store = PostgresCertStore.builder(DB.pool()).schema("nowhere").tablePrefix("missing_").build();
        try {
            IOException e = assertThrows(IOException.class, store::checkAccess);
            assertTrue(e.getMessage().contains("the schema \"nowhere\" (PostgresCertStore.schema) does not exist in this database. "
                    + "Fix: as an administrator, CREATE SCHEMA \"nowhere\"; GRANT USAGE, CREATE ON SCHEMA \"nowhere\" TO \"" + DB.pg().user()
                    + "\""), e.getMessage());
            try (Connection c = DB.pg().dataSource().getConnection()) {
                assertEquals(0, count(c, "SELECT count(*) FROM pg_tables WHERE tablename LIKE 'missing!_%' ESCAPE '!'"));
            }
        } finally {
            store.close();
        }
    }

    @Test
    void buildRefusesNamesPostgresCannotTake() {
        for (String bad : new String[] {"", "  ", "a\u0000b", "tab\there", "x".repeat(64), "é".repeat(32)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> PostgresCertStore.builder(DB.pool()).schema(bad).build(), bad);
            assertTrue(e.getMessage().startsWith("schema '") && e.getMessage().contains("Fix: the name of an existing schema"), e.getMessage());
        }
        assertNull(PostgresCertStore.schemaProblem("x".repeat(63)));
        assertNull(PostgresCertStore.schemaProblem("Mixed Case; \"quoted\""));
    }

    private static void admin(String... sql) throws SQLException {
        try (Connection c = DB.pg().adminDataSource().getConnection(); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    private static long count(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
