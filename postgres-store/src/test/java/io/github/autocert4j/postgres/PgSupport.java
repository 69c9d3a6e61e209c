package io.github.autocert4j.postgres;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.ThreadLocalRandom;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.testkit.PostgresServer;

/** Helpers shared by the Postgres* tests: pools, fresh table prefixes, superuser SQL, child JVMs. */
final class PgSupport {

    private PgSupport() {
    }

    /** A prefix no other test in this JVM uses, so tests on one server do not see each other's rows. */
    static String freshPrefix(String what) {
        return "t" + Integer.toHexString(ThreadLocalRandom.current().nextInt() & 0x7fffffff) + "_" + what + "_";
    }

    /** A HikariCP pool for the test database as the test user. */
    static HikariDataSource pool(PostgresServer pg, int maxSize, Duration connectionTimeout) {
        return pool(pg.jdbcUrl(), pg.user(), pg.password(), maxSize, connectionTimeout);
    }

    static HikariDataSource pool(String jdbcUrl, String user, String password, int maxSize, Duration connectionTimeout) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(maxSize);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(connectionTimeout.toMillis());
        config.addDataSourceProperty("connectTimeout", "5");
        config.addDataSourceProperty("socketTimeout", "60");
        return new HikariDataSource(config);
    }

    /** Runs SQL as the superuser in the test database. */
    static void admin(PostgresServer pg, String... sql) throws SQLException {
        try (Connection c = pg.adminDataSource().getConnection(); Statement s = c.createStatement()) {
            for (String q : sql) {
                s.execute(q);
            }
        }
    }

    /** Reads one long as the superuser. */
    static long adminLong(PostgresServer pg, String sql, Object... params) throws SQLException {
        try (Connection c = pg.adminDataSource().getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new SQLException("no row for " + sql);
                }
                return rs.getLong(1);
            }
        }
    }

    /** Terminates every backend of the test user (connections of pools, heartbeats, LISTENs); returns how many. */
    static long terminateBackendsOf(PostgresServer pg, String user) throws SQLException {
        return adminLong(pg, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = ? AND pid <> pg_backend_pid()", user);
    }

    static DataSource unpooled(PostgresServer pg) {
        return pg.dataSource();
    }

    /** Sends a signal to a process through the shell's kill builtin. */
    static void signal(long pid, String signal) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("sh", "-c", "kill -" + signal + " " + pid).redirectErrorStream(true).start();
        if (!p.waitFor(10, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("kill -" + signal + " " + pid + " failed");
        }
    }

    /**
     * A child JVM running {@link LockNode}, its stdout lines queued for {@link #awaitLine}, its stderr in a file
     * under target/, commands sent on its stdin.
     */
    static final class Child implements AutoCloseable {
        final Process process;
        final Path errLog;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> all = new ArrayList<>();
        private final Writer stdin;

        Child(String name, List<String> args) throws IOException {
            Path logs = Path.of("target", "child-logs");
            Files.createDirectories(logs);
            this.errLog = logs.resolve(name + ".err");
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx96m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", System.getProperty("java.class.path"), LockNode.class.getName()));
            cmd.addAll(args);
            this.process = new ProcessBuilder(cmd).redirectError(errLog.toFile()).start();
            this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        synchronized (all) {
                            all.add(line);
                        }
                        lines.add(line);
                    }
                } catch (IOException e) {
                    // process gone
                }
            }, "child-reader-" + name);
            reader.setDaemon(true);
            reader.start();
        }

        /** The next stdout line starting with {@code prefix}, skipping others; fails after {@code timeout}. */
        String awaitLine(String prefix, Duration timeout) throws InterruptedException, IOException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                String line = left > 0 ? lines.poll(left, TimeUnit.NANOSECONDS) : null;
                if (line == null) {
                    throw new IOException("child printed no line starting with '" + prefix + "' within " + timeout
                            + "; alive=" + process.isAlive() + "; stdout=" + output() + "; stderr: " + errTail());
                }
                if (line.startsWith(prefix)) {
                    return line;
                }
            }
        }

        void send(String line) throws IOException {
            stdin.write(line + "\n");
            stdin.flush();
        }

        int awaitExit(Duration timeout) throws InterruptedException, IOException {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IOException("child did not exit within " + timeout + "; stdout=" + output() + "; stderr: " + errTail());
            }
            return process.exitValue();
        }

        List<String> output() {
            synchronized (all) {
                return List.copyOf(all);
            }
        }

        String errTail() {
            try {
                List<String> l = Files.readAllLines(errLog);
                return String.join("\n", l.subList(Math.max(0, l.size() - 20), l.size()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        @Override
        public void close() {
            process.destroyForcibly();
            try {
                process.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
