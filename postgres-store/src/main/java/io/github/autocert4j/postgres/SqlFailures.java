package io.github.autocert4j.postgres;

import java.io.IOException;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLTransientConnectionException;
import java.util.regex.Pattern;

import io.github.autocert4j.CertStore;

/**
 * Turns SQLExceptions into IOExceptions that say what failed and what to do, without credentials: the
 * driver's or pool's message is kept (it names the host, port and state) but anything that looks like a
 * password is masked, and the original exception is replaced by a masked copy so a logged stack trace
 * cannot leak one either.
 */
final class SqlFailures {

    static final int QUERY_TIMEOUT_SECONDS = 30;

    private static final Pattern PASSWORD_PARAM = Pattern.compile("(?i)(password|passwd|pwd)(\\s*[=:]\\s*)[^\\s&;,)'\"]+");
    private static final Pattern URL_USERINFO = Pattern.compile("(//[^/:@\\s]+):[^@\\s/]+@");

    private static final String REACH_ADVICE = "Check that PostgreSQL is running and reachable at the DataSource's host and port "
            + "and that the DataSource's database, user and password are right; if a connection pool timed out, it is exhausted: "
            + "give it more connections (the store uses one per operation, one per lock heartbeat and one per watch) or "
            + "return them sooner";

    private SqlFailures() {
    }

    /**
     * Getting a connection from the DataSource failed. Unreachable (refused, timed out, pool exhausted, server
     * starting or stopping) is a {@link CertStore.UnavailableException}, so a node still starts while the database
     * is down; rejected credentials, a missing database and the like stay plain IOExceptions.
     */
    static IOException connect(String what, SQLException e) {
        String advice = specificAdvice(e, null, null);
        String message = "PostgresCertStore could not get a connection from the DataSource to " + what + ": "
                + describe(e) + ". " + (advice != null ? advice : REACH_ADVICE);
        return advice == null || isServerStartingOrStopping(e) ? new CertStore.UnavailableException(message, masked(e))
                : new IOException(message, masked(e));
    }

    /** A statement failed (connection already obtained). */
    static IOException statement(String what, SQLException e) {
        return statement(what, e, null, null);
    }

    /** A statement failed; {@code user} and {@code schema} (may be null) make privilege advice concrete. */
    static IOException statement(String what, SQLException e, String user, String schema) {
        String advice = specificAdvice(e, user, schema);
        boolean lost = advice == null && isConnectionLoss(e) || isServerStartingOrStopping(e);
        if (advice == null) {
            advice = lost ? "The connection to PostgreSQL broke; nothing of this operation was committed. " + REACH_ADVICE
                    : "See the PostgreSQL server log for details";
        }
        String message = "PostgresCertStore failed to " + what + ": " + describe(e) + ". " + advice;
        return lost ? new CertStore.UnavailableException(message, masked(e)) : new IOException(message, masked(e));
    }

    static boolean isConnectionLoss(SQLException e) {
        String state = e.getSQLState();
        return e instanceof SQLTransientConnectionException || e instanceof SQLNonTransientConnectionException
                || (state != null && (state.startsWith("08") || state.startsWith("57P")));
    }

    /** 57P01..57P03: the server is shutting down or starting up; 53300: no free connection slot right now. */
    private static boolean isServerStartingOrStopping(SQLException e) {
        String state = e.getSQLState();
        return state != null && (state.startsWith("57P") && !"57P04".equals(state) || "53300".equals(state));
    }

    /** Serialization failure or deadlock: the transaction may simply be run again. */
    static boolean isRetryable(SQLException e) {
        String state = e.getSQLState();
        return "40001".equals(state) || "40P01".equals(state);
    }

    private static String specificAdvice(SQLException e, String user, String schema) {
        String state = e.getSQLState() == null ? "" : e.getSQLState();
        if (state.startsWith("28")) {
            return "PostgreSQL rejected the DataSource's user or password: fix the credentials the DataSource uses";
        }
        switch (state) {
            case "3D000":
                return "The database named by the DataSource does not exist: create it (CREATE DATABASE ...) or fix the database name";
            case "42501":
                String who = user != null ? "user '" + user + "'" : "the DataSource's user";
                String where = schema != null ? "schema '" + schema + "'" : "its schema";
                return who + " lacks a privilege on " + where + " or the store's tables. Either GRANT CREATE ON SCHEMA "
                        + (schema != null ? schema : "<schema>") + " TO " + (user != null ? user : "<user>")
                        + " so the store can create its tables on first use, or have an administrator create them with the SQL "
                        + "in schema-v1.sql (quoted in docs/postgres.md) and GRANT SELECT, INSERT, UPDATE, DELETE ON them";
            case "42P01":
                return "A table of the store is missing (dropped after start-up?): restart the application so the store creates it, "
                        + "or create it with schema-v1.sql";
            case "53300":
                return "PostgreSQL has no free connection slots: lower the pools' sizes or raise max_connections";
            case "57014":
                return "The statement ran past its " + QUERY_TIMEOUT_SECONDS + " s timeout: the database is overloaded or a row is "
                        + "locked by a stuck transaction";
            case "57P01":
            case "57P02":
            case "57P03":
                return "PostgreSQL is shutting down or starting up: this operation was not committed; it succeeds again once the server is up";
            default:
                return null;
        }
    }

    private static String describe(SQLException e) {
        String state = e.getSQLState();
        return (state != null ? "[SQLState " + state + "] " : "") + mask(e.getMessage());
    }

    /** A copy of {@code e} with its message masked and no cause chain (a cause's message could carry a URL). */
    private static SQLException masked(SQLException e) {
        SQLException copy = new SQLException(e.getClass().getName() + ": " + mask(e.getMessage()), e.getSQLState(), e.getErrorCode());
        copy.setStackTrace(e.getStackTrace());
        return copy;
    }

    static String mask(String message) {
        if (message == null) {
            return "(no message)";
        }
        String m = PASSWORD_PARAM.matcher(message).replaceAll("$1$2***");
        return URL_USERINFO.matcher(m).replaceAll("$1:***@");
    }
}
