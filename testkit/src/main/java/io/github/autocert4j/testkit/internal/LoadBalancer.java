package io.github.autocert4j.testkit.internal;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real round-robin HTTP load balancer for tests: Debian's {@code nginx}, started as a child process with a
 * generated configuration, listening on one loopback port and spreading requests over backends on loopback
 * ports, the way a cluster's plain-HTTP port sits behind a load balancer in production. Nothing of the system's
 * nginx is used ({@code /etc/nginx} is never read; {@code scripts/get-lb.sh} installs the package without
 * starting its service).
 *
 * <p>nginx's defaults for an upstream apply: round-robin; a backend that refuses a connection or times out is
 * skipped for the request (the next one is tried) and for {@code failTimeout} afterwards; under
 * {@code /.well-known/acme-challenge/} a backend's 503 is skipped the same way ({@link #CHALLENGE_LOCATION}, the
 * configuration docs/cluster.md recommends). Every request is
 * recorded in an access log with the backend(s) that answered it ({@link #requests()}), so a test can prove which
 * node served what.
 *
 * <p>Binary: the system property {@code nginx.bin} or environment variable {@code NGINX_BIN}, else
 * {@code /usr/sbin/nginx}; a missing nginx is an error naming {@code scripts/get-lb.sh}, never a skip. When the
 * JVM is root (CI), nginx's workers run as {@code nobody}. Start-up is bounded and a failure carries nginx's
 * error log; {@link #close()} stops nginx and deletes its directory.
 *
 * <pre>{@code
 * try (LoadBalancer lb = LoadBalancer.builder()
 *         .listenPort(pebble.httpPort())          // where Pebble's validation authority dials
 *         .backends(List.of(node1Http, node2Http, node3Http))
 *         .start()) {
 *     ...
 *     long answeredByNode2 = lb.requests().stream()
 *             .filter(r -> r.path().startsWith("/.well-known/acme-challenge/") && r.answeredBy() == node2Http)
 *             .count();
 * }
 * }</pre>
 *
 * <p><strong>Not API</strong>: a helper for autocert4j's own tests (see the {@linkplain io.github.autocert4j.testkit.internal
 * package}); it may change without notice.
 */
public final class LoadBalancer implements AutoCloseable {

    /**
     * One request as the load balancer logged it.
     *
     * @param at              when nginx finished it
     * @param method          request method
     * @param path            request target as sent (path and query)
     * @param status          status nginx returned to the client (502 when no backend answered)
     * @param triedPorts      backend ports tried, in order (more than one when a backend refused and the next was
     *                        tried)
     * @param backendStatuses status from each tried backend ({@code 502} style codes from nginx for a failed try)
     */
    public record Request(Instant at, String method, String path, int status, List<Integer> triedPorts,
                          List<Integer> backendStatuses) {
        /** Creates a record; lists are copied. */
        public Request {
            triedPorts = List.copyOf(triedPorts);
            backendStatuses = List.copyOf(backendStatuses);
        }

        /** The backend port whose answer the client got, or -1 if none answered. */
        public int answeredBy() {
            return triedPorts.isEmpty() ? -1 : triedPorts.get(triedPorts.size() - 1);
        }
    }

    /** Starts a builder: listen port and at least one backend are required. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures and starts a {@link LoadBalancer}.
     *
     * <pre>{@code
     * LoadBalancer lb = LoadBalancer.builder().listenPort(5002).backends(List.of(8081, 8082, 8083))
     *         .failTimeout(Duration.ofSeconds(2)).start();
     * }</pre>
     */
    public static final class Builder {
        private int listenPort;
        private final List<Integer> backends = new ArrayList<>();
        private Duration startTimeout = Duration.ofSeconds(15);
        private Duration failTimeout = Duration.ofSeconds(5);
        private Path binary;

        private Builder() {
        }

        /** The loopback port clients (Pebble's validation authority) connect to. */
        public Builder listenPort(int port) {
            this.listenPort = checkPort("listenPort", port);
            return this;
        }

        /** Adds a backend on 127.0.0.1:{@code port}; requests go round-robin in the order added. */
        public Builder backend(int port) {
            backends.add(checkPort("backend", port));
            return this;
        }

        /** Adds several backends, see {@link #backend(int)}. */
        public Builder backends(List<Integer> ports) {
            ports.forEach(this::backend);
            return this;
        }

        /** How long a backend that failed a connection is skipped (nginx {@code fail_timeout}, default 5 s). */
        public Builder failTimeout(Duration d) {
            if (d == null || d.toSeconds() < 1) {
                throw new IllegalArgumentException("failTimeout must be at least 1 s, e.g. Duration.ofSeconds(5)");
            }
            this.failTimeout = d;
            return this;
        }

        /** Bound for start-up (default 15 s). */
        public Builder startTimeout(Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("startTimeout must be positive, e.g. Duration.ofSeconds(15)");
            }
            this.startTimeout = d;
            return this;
        }

        /** The nginx binary (default: {@code nginx.bin} / {@code NGINX_BIN}, else {@code /usr/sbin/nginx}). */
        public Builder binary(Path nginx) {
            this.binary = nginx;
            return this;
        }

        /** Writes the configuration, starts nginx and waits (bounded) until it accepts connections. */
        public LoadBalancer start() throws IOException {
            if (listenPort == 0) {
                throw new IllegalArgumentException("listenPort is not set: e.g. .listenPort(pebble.httpPort())");
            }
            if (backends.isEmpty()) {
                throw new IllegalArgumentException("no backend: add at least one with .backend(port)");
            }
            LoadBalancer lb = new LoadBalancer(this, findBinary(binary));
            try {
                lb.launch();
                return lb;
            } catch (IOException | RuntimeException e) {
                lb.close();
                throw e;
            }
        }

        private static int checkPort(String field, int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException(field + " must be a port 1-65535, was " + port);
            }
            return port;
        }
    }

    private static final String SEP = "|";
    private static final Pattern PORT = Pattern.compile(":(\\d{1,5})\\b");

    private final Path nginx;
    private final int listenPort;
    private final List<Integer> backends;
    private final Duration startTimeout;
    private final Duration failTimeout;
    private final Path dir;
    private final Path accessLog;
    private final Path errorLog;
    private final Thread shutdownHook;
    private Process process;
    private boolean closed;

    private LoadBalancer(Builder b, Path nginx) throws IOException {
        this.nginx = nginx;
        this.listenPort = b.listenPort;
        this.backends = List.copyOf(b.backends);
        this.startTimeout = b.startTimeout;
        this.failTimeout = b.failTimeout;
        this.dir = Files.createTempDirectory("autocert4j-lb-");
        // nginx's master (root in CI) opens the logs; its workers (nobody) need to traverse the directory
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        this.accessLog = dir.resolve("access.log");
        this.errorLog = dir.resolve("error.log");
        this.shutdownHook = new Thread(this::killQuietly, "load-balancer-shutdown");
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** The port clients connect to (on 127.0.0.1). */
    public int port() {
        return listenPort;
    }

    /** The backend ports, in round-robin order. */
    public List<Integer> backends() {
        return backends;
    }

    /** nginx's access log (one line per request, {@code |}-separated). */
    public Path accessLog() {
        return accessLog;
    }

    /** Every request logged so far, oldest first. nginx writes a line when a request is finished. */
    public List<Request> requests() {
        if (!Files.exists(accessLog)) {
            return List.of();
        }
        List<Request> out = new ArrayList<>();
        try {
            for (String line : Files.readAllLines(accessLog, StandardCharsets.UTF_8)) {
                parse(line).ifPresent(out::add);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + accessLog, e);
        }
        return out;
    }

    /** The last {@code lines} lines of nginx's error log, for assertion messages. */
    public String errorLogTail(int lines) {
        return tail(errorLog, lines);
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        stopProcess();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException shuttingDown) {
            // the hook runs anyway
        }
        Processes.deleteTree(dir);
    }

    @Override
    public String toString() {
        return "LoadBalancer[nginx 127.0.0.1:" + listenPort + " -> " + backends + "]";
    }

    // ------------------------------------------------------------------ internals

    private void launch() throws IOException {
        Path conf = Files.writeString(dir.resolve("nginx.conf"), config(), StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder(nginx.toString(), "-p", dir + "/", "-c", conf.toString(), "-e", errorLog.toString(),
                "-g", "daemon off; master_process on;")
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("stdout.log").toFile()));
        synchronized (this) {
            process = pb.start();
            process.getOutputStream().close();
        }
        long deadline = System.nanoTime() + startTimeout.toNanos();
        while (!accepts()) {
            if (!process.isAlive()) {
                throw new IOException("nginx exited during start-up (exit " + process.exitValue() + "); error log:\n"
                        + tail(errorLog, 30) + tail(dir.resolve("stdout.log"), 10) + "configuration:\n" + Files.readString(conf));
            }
            if (System.nanoTime() - deadline > 0) {
                stopProcess();
                throw new IOException("nginx did not accept connections on 127.0.0.1:" + listenPort + " within " + startTimeout
                        + "; error log:\n" + tail(errorLog, 30));
            }
            sleep(20);
        }
    }

    /**
     * The location that sends the CA's validation requests to the nodes, as docs/cluster.md shows it (a test checks
     * the quote): a node that answers 503 (it cannot reach the shared store to tell whether a peer published the
     * token) or refuses or times out is skipped for this request and the next node is tried, at most 3 tries within
     * 10 s.
     */
    public static final String CHALLENGE_LOCATION = String.join("\n",
            "location /.well-known/acme-challenge/ {",
            "    proxy_pass http://nodes;",
            "    proxy_set_header Host $http_host;",
            "    proxy_connect_timeout 2s;",
            "    proxy_next_upstream error timeout http_503;",
            "    proxy_next_upstream_tries 3;",
            "    proxy_next_upstream_timeout 10s;",
            "}");

    private String config() {
        StringBuilder c = new StringBuilder(1024);
        c.append("# generated by autocert4j testkit LoadBalancer\n");
        if (isRoot()) {
            c.append("user nobody ").append(nobodyGroup()).append(";\n");
        }
        c.append("worker_processes 1;\n");
        c.append("pid ").append(dir.resolve("nginx.pid")).append(";\n");
        c.append("error_log ").append(errorLog).append(" info;\n");
        c.append("events { worker_connections 512; }\n");
        c.append("http {\n");
        c.append("  log_format lb '$msec" + SEP + "$request_method" + SEP + "$request_uri" + SEP + "$status" + SEP
                + "$upstream_addr" + SEP + "$upstream_status';\n");
        c.append("  access_log ").append(accessLog).append(" lb;\n");
        for (String temp : List.of("client_body", "proxy", "fastcgi", "uwsgi", "scgi")) {
            c.append("  ").append(temp).append("_temp_path ").append(dir.resolve("tmp-" + temp)).append(";\n");
        }
        c.append("  upstream nodes {\n");
        for (int port : backends) {
            c.append("    server 127.0.0.1:").append(port).append(" max_fails=1 fail_timeout=").append(failTimeout.toSeconds())
                    .append("s;\n");
        }
        c.append("  }\n");
        c.append("  server {\n");
        c.append("    listen 127.0.0.1:").append(listenPort).append(";\n");
        for (String line : CHALLENGE_LOCATION.split("\n")) {
            c.append("    ").append(line).append("\n");
        }
        c.append("    location / {\n");
        c.append("      proxy_pass http://nodes;\n");
        c.append("      proxy_set_header Host $http_host;\n");
        c.append("      proxy_http_version 1.1;\n");
        c.append("      proxy_set_header Connection \"\";\n");
        c.append("      proxy_connect_timeout 2s;\n");
        c.append("      proxy_read_timeout 15s;\n");
        c.append("      proxy_next_upstream error timeout;\n");
        c.append("      proxy_buffering off;\n");
        c.append("    }\n");
        c.append("  }\n");
        c.append("}\n");
        return c.toString();
    }

    static Optional<Request> parse(String line) {
        String[] f = line.split("\\|", -1);
        if (f.length != 6) {
            return Optional.empty();
        }
        try {
            double msec = Double.parseDouble(f[0]);
            Instant at = Instant.ofEpochMilli((long) (msec * 1000));
            // "$upstream_addr" is "127.0.0.1:8081, 127.0.0.1:8082" (or "-"): keep the port numbers
            List<Integer> ports = new ArrayList<>();
            Matcher m = PORT.matcher(f[4]);
            while (m.find()) {
                ports.add(Integer.parseInt(m.group(1)));
            }
            List<Integer> statuses = Arrays.stream(f[5].split(",\\s*")).map(String::trim).filter(s -> s.matches("\\d{3}"))
                    .map(Integer::parseInt).toList();
            return Optional.of(new Request(at, f[1], f[2], Integer.parseInt(f[3]), ports, statuses));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    private boolean accepts() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", listenPort), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private synchronized void stopProcess() {
        if (process == null) {
            return;
        }
        Process p = process;
        process = null;
        if (!p.isAlive()) {
            return;
        }
        List<ProcessHandle> workers = p.toHandle().descendants().toList();
        Processes.stop(p, Duration.ofSeconds(5)); // SIGTERM: nginx's fast shutdown, which also stops its workers
        workers.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }

    private void killQuietly() {
        try {
            stopProcess();
        } catch (RuntimeException ignored) {
            // JVM exit: best effort
        }
    }

    static Path findBinary(Path given) throws IOException {
        String configured = Optional.ofNullable(System.getProperty("nginx.bin")).orElse(System.getenv("NGINX_BIN"));
        Path p = given != null ? given : configured != null && !configured.isBlank() ? Path.of(configured) : Path.of("/usr/sbin/nginx");
        if (!Files.isExecutable(p)) {
            throw new IOException("nginx not found at " + p + ": run scripts/get-lb.sh (as root: apt-get install -y nginx), "
                    + "or set -Dnginx.bin=/path/to/nginx");
        }
        return p;
    }

    private static boolean isRoot() {
        try {
            return Objects.equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"), 0);
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** The group of {@code nobody} ({@code nogroup} on Debian), by its gid in /etc/passwd and /etc/group. */
    private static String nobodyGroup() {
        try {
            String gid = null;
            for (String line : Files.readAllLines(Path.of("/etc/passwd"), StandardCharsets.UTF_8)) {
                String[] f = line.split(":");
                if (f.length >= 4 && f[0].equals("nobody")) {
                    gid = f[3];
                }
            }
            for (String line : Files.readAllLines(Path.of("/etc/group"), StandardCharsets.UTF_8)) {
                String[] f = line.split(":");
                if (f.length >= 3 && f[2].equals(gid)) {
                    return f[0];
                }
            }
        } catch (IOException ignored) {
            // fall through
        }
        return "nogroup";
    }

    private static String tail(Path file, int lines) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size())) + "\n";
        } catch (IOException e) {
            return "(no " + file.getFileName() + ")\n";
        }
    }

    private static void sleep(long millis) throws InterruptedIOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for nginx");
        }
    }

}
