package io.github.autocert4j.postgres;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.postgresql.PGConnection;
import org.postgresql.PGNotification;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code LISTEN} on the store's channel over a connection of its own, taken from the DataSource for as
 * long as the watch is open. Every write of the store sends {@code pg_notify(channel, key)} in its own
 * transaction, so a notification arrives only for a committed change, within milliseconds.
 *
 * <p>When the connection breaks (server restarted, backend terminated, network cut, or a liveness check every
 * 15 s of silence fails), the watcher tries to listen again every {@value #RETRY_MILLIS} ms (after the first
 * retry at 250 ms; one connection attempt each, bounded by the DataSource's own timeouts) and, once it listens
 * again, calls {@code onChange(prefix)}: notifications sent meanwhile are lost, so the consumer re-reads
 * everything under the prefix. A fixed short retry rather than a growing backoff: one node's attempts are one
 * connection a second, and a node must catch up within about a second of the database answering again, not
 * at the next step of a backoff that grew during a long outage (it reached 30 s).
 */
final class ChangeWatcher implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(ChangeWatcher.class);
    private static final int POLL_MILLIS = 500;
    private static final long LIVENESS_CHECK_NANOS = TimeUnit.SECONDS.toNanos(15);
    /** Retry interval while the database cannot be reached: LISTEN is back within about this long after it answers. */
    static final long RETRY_MILLIS = 1_000;
    private static final long FIRST_RETRY_MILLIS = 250;
    private static final int WARN_EVERY_FAILURES = 60;

    private final DataSource dataSource;
    private final String channel;
    private final String prefix;
    private final Consumer<String> onChange;
    private final Thread thread;
    private volatile boolean closed;
    private final Runnable onClosed;

    /** Listens once synchronously (so errors surface to the caller), then keeps listening on a daemon thread. */
    ChangeWatcher(DataSource dataSource, String channel, String prefix, Consumer<String> onChange, Runnable onClosed)
            throws IOException {
        this.dataSource = dataSource;
        this.channel = channel;
        this.prefix = prefix;
        this.onChange = onChange;
        this.onClosed = onClosed;
        Connection first = listen();
        this.thread = new Thread(() -> run(first), "autocert4j-pg-watch-" + channel);
        thread.setDaemon(true);
        thread.start();
    }

    /** A connection of its own that LISTENs on the channel; failures as IOExceptions that say what to do. */
    private Connection listen() throws IOException {
        String what = "listen for changes on channel '" + channel + "'";
        Connection c;
        try {
            c = dataSource.getConnection();
        } catch (SQLException e) {
            throw SqlFailures.connect(what, e);
        }
        try {
            if (!c.isWrapperFor(PGConnection.class)) {
                throw new IOException("PostgresCertStore cannot " + what + ": the DataSource's connections are not PostgreSQL "
                        + "JDBC driver (pgjdbc) connections (" + c.getClass().getName() + "); give the store a DataSource of "
                        + "org.postgresql:postgresql, directly or through a pool");
            }
            // notifications are delivered only between transactions: never leave this connection inside one
            c.setAutoCommit(true);
            try (Statement s = c.createStatement()) {
                s.setQueryTimeout(SqlFailures.QUERY_TIMEOUT_SECONDS);
                s.execute("LISTEN " + channel);
            }
            return c;
        } catch (SQLException e) {
            closeQuietly(c);
            throw SqlFailures.statement(what, e);
        } catch (IOException | RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    private void run(Connection initial) {
        Connection c = initial;
        long backoff = FIRST_RETRY_MILLIS;
        long lastTraffic = System.nanoTime();
        int failures = 0;
        try {
            while (!closed) {
                if (c == null) {
                    try {
                        c = listen();
                        backoff = FIRST_RETRY_MILLIS;
                        failures = 0;
                        lastTraffic = System.nanoTime();
                        LOG.info("listening again on '{}'; asking for a re-read of '{}'", channel, prefix);
                        deliver(prefix);
                    } catch (IOException | RuntimeException e) {
                        if (closed) {
                            break;
                        }
                        failures++;
                        if (failures <= 2 || failures % WARN_EVERY_FAILURES == 0) { // not a WARN a second through a long outage
                            LOG.warn("cannot listen on '{}' yet (attempt {}, retrying every {} ms): {}", channel, failures, RETRY_MILLIS,
                                    e.getMessage());
                        }
                        pause(backoff);
                        backoff = RETRY_MILLIS;
                        continue;
                    }
                }
                try {
                    PGNotification[] notes = c.unwrap(PGConnection.class).getNotifications(POLL_MILLIS);
                    if (notes != null && notes.length > 0) {
                        lastTraffic = System.nanoTime();
                        for (PGNotification n : notes) {
                            String key = n.getParameter();
                            if (key != null && key.startsWith(prefix)) {
                                deliver(key);
                            }
                        }
                    } else if (System.nanoTime() - lastTraffic > LIVENESS_CHECK_NANOS) {
                        // a silently dead peer (no RST) would otherwise leave us listening to nothing
                        if (!c.isValid(5)) {
                            throw new SQLException("the LISTEN connection no longer answers", "08006");
                        }
                        lastTraffic = System.nanoTime();
                    }
                } catch (SQLException | RuntimeException e) {
                    if (closed) {
                        break;
                    }
                    LOG.warn("lost the LISTEN connection on '{}', reconnecting: {}", channel, SqlFailures.mask(e.getMessage()));
                    closeQuietly(c);
                    c = null;
                }
            }
        } finally {
            closeQuietly(c);
        }
    }

    private void deliver(String key) {
        try {
            onChange.accept(key);
        } catch (RuntimeException e) {
            LOG.warn("watch callback for '{}' threw; notifications continue", key, e);
        }
    }

    private void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            // close() interrupts to end the wait; the loop checks `closed`
        }
    }

    private static void closeQuietly(Connection c) {
        if (c != null) {
            try {
                c.close();
            } catch (SQLException | RuntimeException ignored) {
                // broken connection: nothing to give back
            }
        }
    }

    /** Stops listening and gives the connection back; waits at most 5 s for the thread. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // a getNotifications() call returns within POLL_MILLIS; only a backoff pause needs the interrupt
        if (Thread.currentThread() != thread) { // close() from inside onChange must not wait for itself
            thread.interrupt();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        onClosed.run();
    }

    @Override
    public String toString() {
        return "PostgresCertStore.watch[" + prefix + " on " + channel + (closed ? ", closed" : "") + "]";
    }
}
