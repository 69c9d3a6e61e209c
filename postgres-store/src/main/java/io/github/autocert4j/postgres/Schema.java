package io.github.autocert4j.postgres;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Creates and checks the store's tables. The SQL lives in {@code schema-v<N>.sql} next to this class (quoted
 * in docs/postgres.md); version N is recorded in {@code <prefix>schema_version}.
 *
 * <p>Concurrent first use by several nodes: {@code CREATE TABLE IF NOT EXISTS} alone is not safe when two
 * sessions run it at the same moment (both see no table, one fails on the catalog's unique index), so the
 * statements run in one transaction that first takes a transaction-level advisory lock keyed by the table
 * prefix: the second node waits for the first to commit and then finds everything in place. Nodes that find
 * the current version already recorded run no DDL at all, so a user with only SELECT/INSERT/UPDATE/DELETE
 * rights works once an administrator has created the tables.
 */
final class Schema {

    /** The newest schema version this code knows. */
    static final int LATEST = 1;

    /** First key of the two-int advisory lock; the second is the prefix's hash. ASCII "ac4j". */
    private static final int ADVISORY_LOCK_CLASS = 0x6163346a;

    private Schema() {
    }

    /** Who and where, for error messages about privileges. */
    record Identity(String user, String schema) {
    }

    /** The SQL statements of {@code schema-v<version>.sql} for {@code prefix}, comments removed. */
    static List<String> statements(int version, String prefix) {
        String text = resource(version).replace("${prefix}", prefix);
        StringBuilder withoutComments = new StringBuilder();
        for (String line : text.split("\n")) {
            if (!line.strip().startsWith("--")) {
                withoutComments.append(line).append('\n');
            }
        }
        List<String> statements = new ArrayList<>();
        for (String s : withoutComments.toString().split(";")) {
            if (!s.isBlank()) {
                statements.add(s.strip());
            }
        }
        return statements;
    }

    /** The text of {@code schema-v<version>.sql}, with the {@code ${prefix}} placeholder. */
    static String resource(int version) {
        String name = "schema-v" + version + ".sql";
        try (InputStream in = Schema.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " missing from the autocert4j-postgres jar");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Makes sure the tables of {@code prefix} exist at version {@link #LATEST}, creating them if needed.
     *
     * @throws IOException with a clear message if the recorded version is newer than this code, or on SQL errors
     */
    static void ensure(Connection c, String prefix) throws IOException {
        ensure(c, prefix, null);
    }

    /**
     * Makes sure the tables of {@code prefix} exist at version {@link #LATEST} in {@code schema} (null: the
     * search_path's), creating them if needed; a schema that does not exist fails with the fix.
     *
     * @throws IOException with a clear message if the schema is missing, the recorded version is newer than this
     *         code, or on SQL errors
     */
    static void ensure(Connection c, String bare, String schema) throws IOException {
        String prefix = schema == null ? bare : PostgresCertStore.quoteIdentifier(schema) + "." + bare;
        Identity who = null;
        try {
            boolean autoCommit = c.getAutoCommit();
            c.setAutoCommit(false);
            try {
                int version;
                if (schema != null) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT current_user, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)")) {
                        ps.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
                        ps.setString(1, schema);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            if (!rs.getBoolean(2)) {
                                throw new IOException("the schema " + PostgresCertStore.quoteIdentifier(schema) + " (PostgresCertStore.schema) "
                                        + "does not exist in this database. Fix: as an administrator, CREATE SCHEMA "
                                        + PostgresCertStore.quoteIdentifier(schema) + "; GRANT USAGE, CREATE ON SCHEMA "
                                        + PostgresCertStore.quoteIdentifier(schema) + " TO " + PostgresCertStore.quoteIdentifier(rs.getString(1))
                                        + "; or set no schema to use the search_path");
                            }
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT current_user, current_schema(), to_regclass(?) IS NOT NULL")) {
                    ps.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
                    ps.setString(1, prefix + "schema_version");
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        who = new Identity(rs.getString(1), rs.getString(2));
                        version = rs.getBoolean(3) ? recordedVersion(c, prefix) : 0;
                    }
                }
                if (version < LATEST) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_xact_lock(?, ?)")) {
                        ps.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
                        ps.setInt(1, ADVISORY_LOCK_CLASS);
                        ps.setInt(2, prefix.hashCode());
                        ps.execute();
                    }
                    for (int v = Math.max(version, 0) + 1; v <= LATEST; v++) {
                        for (String sql : statements(v, prefix)) {
                            try (Statement s = c.createStatement()) {
                                s.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
                                s.execute(sql);
                            }
                        }
                    }
                    version = recordedVersion(c, prefix);
                }
                c.commit();
                if (version > LATEST) {
                    throw new IOException("the tables with prefix '" + prefix + "' are at schema version " + version
                            + ", newer than this autocert4j-postgres supports (" + LATEST + "): upgrade autocert4j-postgres on this node, "
                            + "or give this node its own tablePrefix");
                }
            } catch (SQLException | IOException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException r) {
                    e.addSuppressed(r);
                }
                throw e;
            } finally {
                if (autoCommit) {
                    c.setAutoCommit(true);
                }
            }
        } catch (SQLException e) {
            throw SqlFailures.statement("create or check its tables (prefix '" + prefix + "')", e,
                    who == null ? null : who.user(), who == null ? null : who.schema());
        }
    }

    private static int recordedVersion(Connection c, String prefix) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
            try (ResultSet rs = s.executeQuery("SELECT coalesce(max(version), 0) FROM " + prefix + "schema_version")) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }
}
