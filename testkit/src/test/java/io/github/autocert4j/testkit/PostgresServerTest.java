package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

/** The harness itself: a real server as an unprivileged user, surviving stop, SIGKILL and restart with its data. */
@IntegrationTest
class PostgresServerTest {

    @Test
    void startsStopsKillsAndRestartsKeepingCommittedData() throws Exception {
        Path dir;
        try (PostgresServer pg = PostgresServer.startNew()) {
            dir = pg.dataDirectory().getParent();
            assertTrue(pg.isRunning());
            assertTrue(pg.jdbcUrl().startsWith("jdbc:postgresql://127.0.0.1:" + pg.port() + "/"));
            try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement()) {
                try (ResultSet rs = s.executeQuery("SELECT current_user, current_database(), (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")) {
                    rs.next();
                    assertEquals(pg.user(), rs.getString(1));
                    assertEquals(pg.database(), rs.getString(2));
                    assertFalse(rs.getBoolean(3), "the test user must not be a superuser");
                }
                s.execute("CREATE TABLE t (v int)");
                s.execute("INSERT INTO t VALUES (42)");
            }
            // PostgreSQL refuses root: when the JVM is root, the server runs as another account
            String owner = Files.getOwner(pg.dataDirectory()).getName();
            if ("root".equals(System.getProperty("user.name"))) {
                assertNotEquals("root", owner);
            }
            assertEquals(pg.osUser(), owner);

            long oldPid = pg.pid();
            pg.kill();
            assertFalse(pg.isRunning());
            assertFalse(ProcessHandle.of(oldPid).map(ProcessHandle::isAlive).orElse(false));
            assertThrows(SQLException.class, () -> pg.dataSource().getConnection().close());

            pg.start(); // crash recovery
            assertEquals(42, readValue(pg));
            pg.restart(); // fast shutdown + start
            assertEquals(42, readValue(pg));
            pg.stop();
            assertThrows(SQLException.class, () -> pg.dataSource().getConnection().close());
            pg.start();
            assertEquals(42, readValue(pg));
        }
        assertFalse(Files.exists(dir), "close() removes the cluster directory");
    }

    private static int readValue(PostgresServer pg) throws SQLException {
        try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT v FROM t")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
