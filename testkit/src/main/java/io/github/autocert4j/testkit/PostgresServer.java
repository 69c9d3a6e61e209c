package io.github.autocert4j.testkit;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.sql.DataSource;

import io.github.autocert4j.testkit.internal.Processes;

import org.postgresql.ds.PGSimpleDataSource;

/**
 * A real PostgreSQL server for tests: a throw-away cluster ({@code initdb}) in a temporary directory, one
 * {@code postgres} process listening on a free 127.0.0.1 port, a database and a login user with a random
 * password, and the fault controls that cluster tests need: {@link #stop()} (fast shutdown), {@link #kill()}
 * (SIGKILL of the server and all its backends, like a crashed machine), {@link #start()} again on the same
 * port and data, and {@link #restart()}.
 *
 * <p>Binaries: Debian's {@code postgresql} package ({@code /usr/lib/postgresql/<version>/bin}, newest
 * version first; {@code scripts/get-postgres.sh} installs it), or the directory named by the system property
 * {@code postgres.bin} / environment variable {@code POSTGRES_BIN}. A missing PostgreSQL is an error, never a
 * skip.
 *
 * <p>PostgreSQL refuses to run as root. When the JVM runs as root (as CI does), {@code initdb} and
 * {@code postgres} run as the unprivileged {@code postgres} system user (or {@code nobody} if there is none)
 * through {@code setpriv --reuid --regid --clear-groups}, in a directory that user owns; otherwise they run as
 * the current user. The server is tuned for tests ({@code fsync=off}: safe against a killed process, not
 * against a power cut; small shared buffers; no Unix socket) and every wait is bounded.
 *
 * <p>Part of the test kit's API, for your own tests of a fleet that shares its certificates through
 * autocert4j's {@code PostgresCertStore} (module {@code autocert4j-postgres}): several managers on one
 * database, and what they do when the database goes away and comes back.
 *
 * <pre>{@code
 * try (PostgresServer pg = PostgresServer.startNew()) {
 *     DataSource ds = pg.dataSource();            // the test database as the test user
 *     String url = pg.jdbcUrl();                  // jdbc:postgresql://127.0.0.1:PORT/autocert4j
 *     PostgresCertStore store = PostgresCertStore.builder(ds).build();
 *     store.checkAccess();                        // creates the tables
 *     // ... AutoCert.builder().store(store) on each node of the fleet ...
 *     pg.kill();                                  // SIGKILL: connections die, nothing answers
 *     pg.start();                                 // crash recovery, same port, committed data kept
 * }
 * }</pre>
 */
public final class PostgresServer implements AutoCloseable {

    private static final Pattern IDENTIFIER = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    private static final String ADMIN_USER = "postgres";

    private final Path bin;
    private final Path base;
    private final Path dataDir;
    private final Path logFile;
    private final int port;
    private final String database;
    private final String user;
    private final String password;
    private final String adminPassword;
    private final Duration startTimeout;
    private final Map<String, String> settings;
    private final RunAs runAs;
    private final Thread shutdownHook;
    private Process process;
    private boolean closed;

    /** The unprivileged account the server runs as when the JVM is root; null otherwise. */
    private record RunAs(String name, int uid, int gid) {
    }

    /** Creates and starts a new server with the defaults: database and user {@code autocert4j}, a free port. */
    public static PostgresServer startNew() throws IOException {
        return builder().start();
    }

    /** A builder for a server with other settings. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures and starts a {@link PostgresServer}.
     *
     * <pre>{@code
     * PostgresServer pg = PostgresServer.builder()
     *         .database("app").user("app")
     *         .setting("max_connections", "50")
     *         .start();
     * }</pre>
     */
    public static final class Builder {
        private String database = "autocert4j";
        private String user = "autocert4j";
        private int port;
        private Duration startTimeout = Duration.ofSeconds(60);
        private Path binDirectory;
        private final Map<String, String> settings = new LinkedHashMap<>();

        private Builder() {
        }

        /** Name of the database created for the tests (default {@code autocert4j}), owned by {@link #user}. */
        public Builder database(String name) {
            this.database = identifier("database", name);
            return this;
        }

        /** Name of the login user created for the tests (default {@code autocert4j}). */
        public Builder user(String name) {
            this.user = identifier("user", name);
            return this;
        }

        /** Loopback port to listen on (default: a free one). */
        public Builder port(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port must be 1-65535, was " + port);
            }
            this.port = port;
            return this;
        }

        /** How long {@code initdb} plus start-up may take before {@link #start()} fails (default 60 s). */
        public Builder startTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("startTimeout must be a positive duration, e.g. Duration.ofSeconds(60)");
            }
            this.startTimeout = timeout;
            return this;
        }

        /** Directory holding {@code initdb} and {@code postgres} (default: see the class comment). */
        public Builder binDirectory(Path dir) {
            this.binDirectory = dir;
            return this;
        }

        /** A server setting passed as {@code -c name=value}, e.g. {@code ("max_connections", "50")}. */
        public Builder setting(String name, String value) {
            if (name == null || !name.matches("[a-z_.]+") || value == null) {
                throw new IllegalArgumentException("setting needs a PostgreSQL parameter name and a value, e.g. (\"max_connections\", \"50\")");
            }
            settings.put(name, value);
            return this;
        }

        /** Creates the cluster, starts the server and creates the database and user; bounded by the start timeout. */
        public PostgresServer start() throws IOException {
            Path dir = binDirectory != null ? binDirectory : findBinDirectory();
            if (!Files.isExecutable(dir.resolve("initdb")) || !Files.isExecutable(dir.resolve("postgres"))) {
                throw new IOException("no initdb/postgres in " + dir + ": run scripts/get-postgres.sh (apt-get install -y postgresql)");
            }
            PostgresServer server = new PostgresServer(this, dir);
            try {
                server.initialize();
                return server;
            } catch (IOException | RuntimeException e) {
                server.close();
                throw e;
            }
        }

        private static String identifier(String field, String name) {
            if (name == null || !IDENTIFIER.matcher(name).matches()) {
                throw new IllegalArgumentException(field + " must be a lower-case SQL identifier ([a-z_][a-z0-9_]*), was '" + name + "'");
            }
            return name;
        }
    }

    private PostgresServer(Builder b, Path bin) throws IOException {
        this.bin = bin;
        this.port = b.port != 0 ? b.port : FreePorts.loopback();
        this.database = b.database;
        this.user = b.user;
        this.password = randomSecret();
        this.adminPassword = randomSecret();
        this.startTimeout = b.startTimeout;
        this.settings = Map.copyOf(b.settings);
        this.runAs = currentUid() == 0 ? unprivilegedAccount() : null;
        this.base = Files.createTempDirectory("autocert4j-pg-");
        this.dataDir = base.resolve("data");
        this.logFile = base.resolve("postgres.log");
        this.shutdownHook = new Thread(this::killQuietly, "postgres-server-shutdown-" + port);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    // ---------------------------------------------------------------- accessors

    /** The address the server listens on: always {@code 127.0.0.1}. */
    public String host() {
        return "127.0.0.1";
    }

    /** The TCP port on 127.0.0.1. */
    public int port() {
        return port;
    }

    /** The test database's name. */
    public String database() {
        return database;
    }

    /** The test user's name (owner of {@link #database()}, not a superuser). */
    public String user() {
        return user;
    }

    /** The test user's password (random per server). */
    public String password() {
        return password;
    }

    /** The superuser's name ({@code postgres}); for fault injection such as {@code pg_terminate_backend}. */
    public String adminUser() {
        return ADMIN_USER;
    }

    /** The superuser's password (random per server). */
    public String adminPassword() {
        return adminPassword;
    }

    /** {@code jdbc:postgresql://127.0.0.1:PORT/DATABASE}, without credentials. */
    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** An unpooled DataSource for the test database as the test user (5 s connect timeout, 60 s socket timeout). */
    public DataSource dataSource() {
        return dataSource(user, password);
    }

    /** An unpooled DataSource for the test database as {@code user}. */
    public DataSource dataSource(String user, String password) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setServerNames(new String[] {host()});
        ds.setPortNumbers(new int[] {port});
        ds.setDatabaseName(database);
        ds.setUser(user);
        ds.setPassword(password);
        ds.setConnectTimeout(5);
        ds.setLoginTimeout(10);
        ds.setSocketTimeout(60);
        ds.setTcpKeepAlive(true);
        ds.setApplicationName("autocert4j-test");
        return ds;
    }

    /** An unpooled DataSource for the test database as the superuser. */
    public DataSource adminDataSource() {
        return dataSource(ADMIN_USER, adminPassword);
    }

    /** The server's log (stdout and stderr of {@code postgres}), kept until {@link #close()}. */
    public Path logFile() {
        return logFile;
    }

    /** The server's data directory. */
    public Path dataDirectory() {
        return dataDir;
    }

    /** The directory holding {@code initdb} and {@code postgres}. */
    public Path binDirectory() {
        return bin;
    }

    /** The OS account the server runs as (the current one unless the JVM is root). */
    public String osUser() {
        return runAs != null ? runAs.name() : System.getProperty("user.name");
    }

    /** Whether the postmaster process is alive. */
    public synchronized boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The postmaster's process id. */
    public synchronized long pid() {
        if (process == null) {
            throw new IllegalStateException("PostgreSQL is not running");
        }
        return process.pid();
    }

    // ---------------------------------------------------------------- life cycle

    /** Starts the server again after {@link #stop()} or {@link #kill()}, on the same port and data. */
    public synchronized void start() throws IOException {
        if (closed) {
            throw new IllegalStateException("this PostgresServer is closed");
        }
        if (isRunning()) {
            return;
        }
        launch(System.nanoTime() + startTimeout.toNanos());
    }

    /**
     * Fast shutdown (SIGINT): open transactions roll back, clients are disconnected, committed data stays.
     * Waits at most 30 s, then kills.
     */
    public synchronized void stop() throws IOException {
        if (!isRunning()) {
            return;
        }
        signal(process.pid(), "INT");
        if (!waitFor(process.toHandle(), Duration.ofSeconds(30))) {
            kill();
            throw new IOException("PostgreSQL did not shut down within 30 s after SIGINT; killed it. Log: " + logTail());
        }
        process = null;
    }

    /**
     * SIGKILL of the postmaster and every backend, as if the machine died; the next {@link #start()} runs crash
     * recovery. Waits (bounded) until all of them are gone.
     */
    public synchronized void kill() throws IOException {
        if (process == null) {
            return;
        }
        ProcessHandle postmaster = process.toHandle();
        List<ProcessHandle> all = new ArrayList<>(postmaster.descendants().toList());
        postmaster.destroyForcibly();
        // children forked just before the postmaster died
        all.addAll(postmaster.descendants().toList());
        all.forEach(ProcessHandle::destroyForcibly);
        all.add(postmaster);
        for (ProcessHandle p : all) {
            if (!waitFor(p, Duration.ofSeconds(10))) {
                throw new IOException("PostgreSQL process " + p.pid() + " still alive 10 s after SIGKILL");
            }
        }
        process = null;
    }

    /** {@link #stop()} then {@link #start()}. */
    public synchronized void restart() throws IOException {
        stop();
        start();
    }

    /** Kills the server if it runs and deletes its directory (data and log). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (isRunning()) {
                try {
                    stop();
                } catch (IOException e) {
                    kill();
                }
            }
        } catch (IOException e) {
            // kill failed: nothing more we can do; the directory is still removed below
        }
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to
        }
        Processes.deleteTree(base);
    }

    @Override
    public String toString() {
        return "PostgresServer[" + host() + ":" + port + "/" + database + ", user " + user + ", " + bin + "]";
    }

    // ---------------------------------------------------------------- internals

    private void initialize() throws IOException {
        long deadline = System.nanoTime() + startTimeout.toNanos();
        if (runAs != null) {
            // the unprivileged account must own the cluster directory (initdb creates data/ inside it)
            Files.setAttribute(base, "unix:uid", runAs.uid());
            Files.setAttribute(base, "unix:gid", runAs.gid());
            Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwx------"));
        }
        Path pwFile = base.resolve("pwfile");
        Files.writeString(pwFile, adminPassword + "\n", StandardCharsets.US_ASCII);
        Files.setPosixFilePermissions(pwFile, PosixFilePermissions.fromString("rw-------"));
        if (runAs != null) {
            Files.setAttribute(pwFile, "unix:uid", runAs.uid());
        }
        List<String> initdb = command(bin.resolve("initdb").toString(), "-D", dataDir.toString(), "-U", ADMIN_USER,
                "--pwfile=" + pwFile, "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C", "--no-sync");
        Path initLog = base.resolve("initdb.log");
        Process p = new ProcessBuilder(initdb).redirectErrorStream(true).redirectOutput(initLog.toFile()).start();
        p.getOutputStream().close();
        try {
            if (!p.waitFor(remainingMillis(deadline), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IOException("initdb did not finish within " + startTimeout + ": " + tail(initLog));
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for initdb");
        } finally {
            Files.deleteIfExists(pwFile);
        }
        if (p.exitValue() != 0) {
            throw new IOException("initdb failed (exit " + p.exitValue() + ") as " + osUser() + ": " + tail(initLog));
        }
        synchronized (this) {
            launch(deadline);
        }
        try (Connection c = adminConnection("postgres", deadline); Statement s = c.createStatement()) {
            s.execute("CREATE ROLE " + user + " LOGIN PASSWORD '" + password + "'");
            s.execute("CREATE DATABASE " + database + " OWNER " + user);
        } catch (SQLException e) {
            throw new IOException("could not create database " + database + " and user " + user + ": " + e.getMessage(), e);
        }
    }

    private void launch(long deadline) throws IOException {
        List<String> args = new ArrayList<>(List.of(bin.resolve("postgres").toString(), "-D", dataDir.toString(),
                "-p", Integer.toString(port)));
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("listen_addresses", "127.0.0.1");
        conf.put("unix_socket_directories", "");
        conf.put("fsync", "off");
        conf.put("full_page_writes", "off");
        conf.put("shared_buffers", "16MB");
        conf.put("max_connections", "100");
        conf.put("huge_pages", "off");
        conf.put("logging_collector", "off");
        conf.put("log_line_prefix", "%m [%p] %q%u@%d ");
        conf.putAll(settings);
        conf.forEach((k, v) -> {
            args.add("-c");
            args.add(k + "=" + v);
        });
        ProcessBuilder pb = new ProcessBuilder(command(args.toArray(String[]::new)))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
        process = pb.start();
        process.getOutputStream().close();
        // ready = the superuser can run a query (a bare TCP connect succeeds before recovery is over)
        try (Connection c = adminConnection("postgres", deadline)) {
            c.isValid(5);
        } catch (SQLException e) {
            throw new IOException("PostgreSQL did not accept connections: " + e.getMessage() + "; log: " + logTail(), e);
        }
    }

    /** Connects as the superuser, retrying until {@code deadline} while the server starts. */
    private Connection adminConnection(String db, long deadline) throws IOException {
        Properties props = new Properties();
        props.setProperty("user", ADMIN_USER);
        props.setProperty("password", adminPassword);
        props.setProperty("connectTimeout", "5");
        props.setProperty("socketTimeout", "30");
        String url = "jdbc:postgresql://127.0.0.1:" + port + "/" + db;
        SQLException last = null;
        while (System.nanoTime() - deadline < 0) {
            if (process == null || !process.isAlive()) {
                throw new IOException("PostgreSQL exited during start-up (exit " + (process == null ? "?" : process.exitValue())
                        + ", running as " + osUser() + "); log: " + logTail());
            }
            if (portOpen()) {
                try {
                    return DriverManager.getConnection(url, props);
                } catch (SQLException e) {
                    last = e; // "the database system is starting up" and the like
                }
            }
            sleep(50);
        }
        throw new IOException("PostgreSQL did not accept connections within " + startTimeout
                + (last != null ? " (last error: " + last.getMessage() + ")" : "") + "; log: " + logTail());
    }

    private boolean portOpen() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private List<String> command(String... args) {
        List<String> cmd = new ArrayList<>();
        if (runAs != null) {
            cmd.addAll(List.of("setpriv", "--reuid=" + runAs.uid(), "--regid=" + runAs.gid(), "--clear-groups", "--"));
        }
        cmd.addAll(List.of(args));
        return cmd;
    }

    private void killQuietly() {
        try {
            kill();
        } catch (IOException | RuntimeException ignored) {
            // JVM exit: best effort
        }
    }

    /** Sends a signal by name through the shell's kill builtin (the procps kill binary is not essential). */
    static void signal(long pid, String name) throws IOException {
        Process p = new ProcessBuilder("sh", "-c", "kill -" + name + " " + pid).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("kill -" + name + " " + pid + " did not return within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while signalling " + pid);
        }
    }

    private static boolean waitFor(ProcessHandle p, Duration timeout) {
        try {
            p.onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (java.util.concurrent.TimeoutException e) {
            return !p.isAlive();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return !p.isAlive();
        } catch (java.util.concurrent.ExecutionException e) {
            return !p.isAlive();
        }
    }

    private String logTail() {
        return tail(logFile);
    }

    private static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static long remainingMillis(long deadline) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
    }

    private static void sleep(long millis) throws InterruptedIOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for PostgreSQL");
        }
    }

    private static String randomSecret() {
        byte[] b = new byte[18];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    private static int currentUid() {
        try {
            return (Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name")) ? 0 : 1000;
        }
    }

    /** {@code postgres} if the system has that account (Debian's package creates it), else {@code nobody}. */
    private static RunAs unprivilegedAccount() throws IOException {
        List<String> passwd = Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8);
        for (String wanted : List.of("postgres", "nobody")) {
            for (String line : passwd) {
                String[] f = line.split(":");
                if (f.length >= 4 && f[0].equals(wanted) && !f[2].equals("0")) {
                    return new RunAs(wanted, Integer.parseInt(f[2]), Integer.parseInt(f[3]));
                }
            }
        }
        return new RunAs("nobody", 65534, 65534);
    }

    /** Debian layout, newest version first, unless {@code postgres.bin} / {@code POSTGRES_BIN} names a directory. */
    static Path findBinDirectory() throws IOException {
        String configured = Optional.ofNullable(System.getProperty("postgres.bin")).orElse(System.getenv("POSTGRES_BIN"));
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured);
        }
        Path root = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(root)) {
            try (Stream<Path> versions = Files.list(root)) {
                Optional<Path> newest = versions
                        .filter(v -> v.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                        .map(v -> v.resolve("bin"))
                        .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("postgres")))
                        .max(Comparator.comparingDouble(b -> Double.parseDouble(b.getParent().getFileName().toString())));
                if (newest.isPresent()) {
                    return newest.get();
                }
            }
        }
        throw new IOException("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: run scripts/get-postgres.sh "
                + "(as root: apt-get install -y postgresql), or set -Dpostgres.bin=/path/to/bin");
    }

}
