package io.github.autocert4j.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.internal.LoadBalancer;
import io.github.autocert4j.testkit.internal.UnverifiedTls;

/**
 * A real fleet for the Cluster* tests: a real PostgreSQL (testkit {@link PostgresServer}), a real Pebble behind a
 * counting proxy on the CA side ({@link CaProxy}), real nginx ({@link LoadBalancer}) on Pebble's HTTP-01 port
 * spreading the CA's validation requests round-robin over the nodes' plain-HTTP ports, and up to three
 * {@link ClusterNode} JVMs started from the test class path. Each node slot keeps its ports, so the load
 * balancer's configuration holds for nodes that are stopped and started again. Each test uses its own table
 * prefix ({@link #freshStore()}), i.e. its own empty store.
 */
final class ClusterHarness implements AutoCloseable {
    static final String NAME = "app.cluster.test";
    /** Pebble profile of the tests' certificates (1 hour: nothing renews unless a test asks). */
    static final String PROFILE = "cluster";
    /** Pebble profile of short-lived certificates that renew by themselves. */
    static final String SHORT = "short";
    static final Pattern CERT_LINE = Pattern.compile("^node=(\\d+) certificate: serial=([0-9a-f]+) notAfter=(\\S+) \\((.*)\\)$");
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    final Path work;
    final PostgresServer pg;
    final PebbleServer pebble;
    final CaProxy ca;
    final LoadBalancer lb;
    final int[] httpPorts = new int[4];
    final int[] httpsPorts = new int[4];
    final int[] adminPorts = new int[4];
    final Node[] nodes = new Node[4];
    private final HttpClient admin = HttpClient.newBuilder().proxy(HttpClient.Builder.NO_PROXY).connectTimeout(Duration.ofSeconds(2)).build();
    private final List<Node> started = new CopyOnWriteArrayList<>();
    String prefix;

    ClusterHarness(Path work, Duration shortLifetime) throws Exception {
        this.work = work;
        PostgresServer p = null;
        PebbleServer b = null;
        CaProxy c = null;
        LoadBalancer l = null;
        try {
            p = PostgresServer.startNew();
            int validationPort = FreePorts.loopback();
            b = PebbleServer.builder().httpPort(validationPort).profile(PROFILE, Duration.ofHours(1)).profile(SHORT, shortLifetime).start();
            c = new CaProxy(b, work);
            for (int k = 1; k <= 3; k++) {
                httpPorts[k] = FreePorts.loopback();
                httpsPorts[k] = FreePorts.loopback();
                adminPorts[k] = FreePorts.loopback();
            }
            l = LoadBalancer.builder().listenPort(validationPort).backends(List.of(httpPorts[1], httpPorts[2], httpPorts[3]))
                    .failTimeout(Duration.ofSeconds(2)).start();
        } catch (Exception | Error e) {
            for (AutoCloseable a : new AutoCloseable[] {l, c, b, p}) {
                if (a != null) {
                    a.close();
                }
            }
            throw e;
        }
        this.pg = p;
        this.pebble = b;
        this.ca = c;
        this.lb = l;
        freshStore();
    }

    /** A new table prefix: the nodes started from now on share a new, empty store. */
    String freshStore() {
        prefix = "t" + PREFIXES.incrementAndGet() + "_" + Long.toHexString(System.nanoTime() & 0xffffff) + "_";
        return prefix;
    }

    /** Starts node {@code k} (1..3) with the defaults and {@code settings} on top; waits for its listening line. */
    Node start(int k, Map<String, String> settings) throws Exception {
        Node n = launch(k, settings);
        n.awaitListening();
        return n;
    }

    /** Starts several nodes at once (they start in parallel), waits for each to listen. */
    List<Node> startAll(Map<String, String> settings, int... ks) throws Exception {
        List<Node> out = new ArrayList<>();
        for (int k : ks) {
            out.add(launch(k, settings));
        }
        for (Node n : out) {
            n.awaitListening();
        }
        return out;
    }

    private Node launch(int k, Map<String, String> settings) throws IOException {
        if (nodes[k] != null && nodes[k].process.isAlive()) {
            throw new IllegalStateException("node " + k + " still runs");
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("NODE_ID", Integer.toString(k));
        env.put("JDBC_URL", pg.jdbcUrl());
        env.put("DB_USER", pg.user());
        env.put("DB_PASSWORD", pg.password());
        env.put("TABLE_PREFIX", prefix);
        env.put("ACME_DIRECTORY", ca.directoryUri().toString());
        env.put("ACME_TRUST", ca.trustPem().toString());
        env.put("NAMES", NAME);
        env.put("PROFILE", PROFILE);
        env.put("HTTP_PORT", Integer.toString(httpPorts[k]));
        env.put("HTTPS_PORT", Integer.toString(httpsPorts[k]));
        env.put("ADMIN_PORT", Integer.toString(adminPorts[k]));
        env.put("RETRY_SECONDS", "2,3");
        env.put("ARI", "false");
        env.put("POOL_SIZE", "5");
        env.put("POOL_TIMEOUT_MS", "2000");
        env.put("LEASE_SECONDS", "30");
        env.putAll(settings);
        Path err = work.resolve("node-" + k + "-" + System.nanoTime() + ".log");
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx192m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.logFile=System.err",
                "-Dorg.slf4j.simpleLogger.showDateTime=true", "-Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS",
                "-cp", System.getProperty("java.class.path"), ClusterNode.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().keySet().removeIf(key -> key.matches("(?i)(.*_proxy|ACME_.*|NAMES|PROFILE|STORE|BIND|EMAIL)"));
        pb.environment().putAll(env);
        Node n = new Node(k, pb.start(), err, this);
        nodes[k] = n;
        started.add(n);
        return n;
    }

    Node node(int k) {
        return nodes[k];
    }

    /** Certificates Pebble issued, from its log. */
    long issuedCertificates() throws IOException {
        return pebbleLog().filter(l -> l.contains("Issued certificate serial")).count();
    }

    /** Starts nodes 1..3 with {@code settings} and waits until all three serve the first certificate; returns its serial. */
    BigInteger startFleet(Map<String, String> settings) throws Exception {
        startAll(settings, 1, 2, 3);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            for (int k = 1; k <= 3; k++) {
                for (CertLine c : nodes[k].certificates()) {
                    if (c.orderedHere()) {
                        for (int j = 1; j <= 3; j++) {
                            if (awaitServed(j, c.serial(), Duration.ofSeconds(10)) == null) {
                                throw new AssertionError("node " + j + " does not serve the first certificate" + diagnostics());
                            }
                        }
                        return c.serial();
                    }
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no first certificate within 60 s" + diagnostics());
    }

    /** Orders the CA received (at the proxy in front of Pebble). */
    long orders() {
        return ca.orders();
    }

    /** Authorizations Pebble set invalid (a failed validation), from Pebble's own log. */
    long invalidAuthorizations() throws IOException {
        return pebbleLog().filter(l -> l.contains("set INVALID by completed challenge")).count();
    }

    /** Authorizations Pebble set valid, from its log. */
    long validAuthorizations() throws IOException {
        return pebbleLog().filter(l -> l.contains("set VALID by completed challenge")).count();
    }

    private Stream<String> pebbleLog() throws IOException {
        return Files.readAllLines(pebble.logFile(), StandardCharsets.UTF_8).stream();
    }

    /** The CA's validation requests as the load balancer logged them. */
    List<LoadBalancer.Request> challengeRequests() {
        return lb.requests().stream().filter(r -> r.path().startsWith("/.well-known/acme-challenge/")).toList();
    }

    /** Which node slot a load-balancer backend port belongs to (0 if none). */
    int slotOf(int httpPort) {
        for (int k = 1; k <= 3; k++) {
            if (httpPorts[k] == httpPort) {
                return k;
            }
        }
        return 0;
    }

    /** The serial node {@code k} serves right now to a client that trusts only Pebble's root. */
    BigInteger served(int k) throws IOException {
        return TlsProbe.handshake(new InetSocketAddress("127.0.0.1", httpsPorts[k]), NAME, pebble.issuanceRoot(), Duration.ofSeconds(5))
                .serial();
    }

    /** Waits until node {@code k} serves {@code serial}; returns when it first did, or null if it did not within {@code max}. */
    Instant awaitServed(int k, BigInteger serial, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        do {
            try {
                if (serial.equals(served(k))) {
                    return Instant.now();
                }
            } catch (IOException notYet) {
                // fallback certificate or restarting
            }
            Thread.sleep(25);
        } while (System.nanoTime() - deadline < 0);
        return null;
    }

    /** The leaf node {@code k} serves to a client that trusts anything (to see a self-signed fallback). */
    X509Certificate servedUnverified(int k) throws Exception {
        SSLContext ctx = UnverifiedTls.trustingAnything();
        try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket()) {
            s.connect(new InetSocketAddress("127.0.0.1", httpsPorts[k]), 3000);
            s.setSoTimeout(5000);
            javax.net.ssl.SSLParameters p = s.getSSLParameters();
            p.setServerNames(List.of(new javax.net.ssl.SNIHostName(NAME)));
            s.setSSLParameters(p);
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }

    /** An admin request to node {@code k}; returns "status body". */
    String admin(int k, String method, String path) throws IOException, InterruptedException {
        HttpResponse<String> r = admin.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPorts[k] + path))
                .timeout(Duration.ofSeconds(120)).method(method, HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
        return r.statusCode() + " " + r.body().trim();
    }

    /** The process id of the node holding the certificate's store lock now, if any. */
    Optional<Long> lockHolderPid() throws SQLException {
        try (Connection c = pg.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("SELECT holder FROM " + prefix + "locks WHERE name = ? AND expires_at > clock_timestamp()")) {
            ps.setString(1, "cert-" + NAME);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return Optional.empty();
                }
                Matcher m = Pattern.compile("/pid-(\\d+)$").matcher(rs.getString(1));
                return m.find() ? Optional.of(Long.parseLong(m.group(1))) : Optional.empty();
            }
        }
    }

    /** Node logs (stdout lines and the stderr log tail) for assertion messages. */
    String diagnostics() {
        StringBuilder sb = new StringBuilder("\n");
        for (Node n : started) {
            sb.append("--- node ").append(n.k).append(" (pid ").append(n.process.pid()).append(", ")
                    .append(n.process.isAlive() ? "alive" : "exited").append(") stdout:\n");
            n.lines.forEach(l -> sb.append("  ").append(l.at()).append(' ').append(l.text()).append('\n'));
            sb.append("--- node ").append(n.k).append(" log tail:\n").append(tail(n.log, 25));
        }
        sb.append("--- CA requests: ").append(ca.seen().size()).append(", orders ").append(ca.orders()).append('\n');
        sb.append(pebble.logTail(15));
        return sb.toString();
    }

    /** Stops (SIGTERM) every node still running. */
    void stopNodes() {
        for (Node n : started) {
            n.stop();
        }
        started.clear();
        for (int k = 1; k <= 3; k++) {
            nodes[k] = null;
        }
    }

    @Override
    public void close() {
        stopNodes();
        lb.close();
        ca.close();
        pebble.close();
        pg.close();
    }

    static String tail(Path file, int n) {
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            return String.join("\n", all.subList(Math.max(0, all.size() - n), all.size())) + "\n";
        } catch (IOException e) {
            return "(no log)\n";
        }
    }

    /** A line a node printed, with when the test read it. */
    record Line(Instant at, String text) {
    }

    /** A certificate line: {@code node=<k> certificate: serial=<hex> notAfter=<ISO> (<how>)}. */
    record CertLine(Instant at, int node, BigInteger serial, Instant notAfter, boolean orderedHere) {
        static Optional<CertLine> of(Line l) {
            Matcher m = CERT_LINE.matcher(l.text());
            if (!m.matches()) {
                return Optional.empty();
            }
            return Optional.of(new CertLine(l.at(), Integer.parseInt(m.group(1)), new BigInteger(m.group(2), 16),
                    Instant.parse(m.group(3)), m.group(4).equals("ordered by this node")));
        }
    }

    /** One node JVM. */
    static final class Node {
        final int k;
        final Process process;
        final Path log;
        final List<Line> lines = new CopyOnWriteArrayList<>();
        private final ClusterHarness cluster;

        Node(int k, Process process, Path log, ClusterHarness cluster) {
            this.k = k;
            this.process = process;
            this.log = log;
            this.cluster = cluster;
            Thread reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null; ) {
                        lines.add(new Line(Instant.now(), line));
                    }
                } catch (IOException ended) {
                    // process gone
                }
            }, "node-" + k + "-stdout");
            reader.setDaemon(true);
            reader.start();
        }

        void awaitListening() throws InterruptedException {
            if (awaitLine(l -> l.startsWith("node=" + k + " listening:"), Duration.ofSeconds(60)) == null) {
                throw new AssertionError("node " + k + " did not start within 60 s" + cluster.diagnostics());
            }
        }

        /** The first line matching, waiting at most {@code max}; null if none. */
        Line awaitLine(Predicate<String> match, Duration max) throws InterruptedException {
            long deadline = System.nanoTime() + max.toNanos();
            do {
                for (Line l : lines) {
                    if (match.test(l.text())) {
                        return l;
                    }
                }
                if (!process.isAlive()) {
                    Thread.sleep(50); // let the reader drain the last lines
                    return lines.stream().filter(l -> match.test(l.text())).findFirst().orElse(null);
                }
                Thread.sleep(10);
            } while (System.nanoTime() - deadline < 0);
            return null;
        }

        /** The certificate line for {@code serial}, waiting at most {@code max}; null if none. */
        CertLine awaitCertificate(BigInteger serial, Duration max) throws InterruptedException {
            Line l = awaitLine(t -> CERT_LINE.matcher(t).matches() && t.contains("serial=" + serial.toString(16) + " "), max);
            return l == null ? null : CertLine.of(l).orElseThrow();
        }

        List<CertLine> certificates() {
            return lines.stream().map(CertLine::of).flatMap(Optional::stream).toList();
        }

        /** Whether the node's log (stderr) has a line containing {@code text}. */
        boolean logged(String text) {
            try {
                return Files.readAllLines(log, StandardCharsets.UTF_8).stream().anyMatch(l -> l.contains(text));
            } catch (IOException e) {
                return false;
            }
        }

        long errorLines() {
            return lines.stream().filter(l -> l.text().startsWith("node=" + k + " certificate-error:")).count();
        }

        long pid() {
            return process.pid();
        }

        /** SIGKILL, as a crashed machine: no shutdown hook runs, no lock is released. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }

        /** SIGTERM: the node closes cleanly (bounded), else SIGKILL. */
        void stop() {
            if (!process.isAlive()) {
                return;
            }
            process.destroy();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
