package io.github.autocert4j.testkit;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetSocketAddress;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

import io.github.autocert4j.testkit.internal.Processes;
import java.util.stream.Stream;

/**
 * A real authoritative DNS server (<a href="https://www.knot-dns.cz/">Knot DNS</a> {@code knotd}, Debian package
 * {@code knot}) started as a child process on a free loopback port, serving one zone that accepts RFC 2136 dynamic
 * updates signed with a TSIG key generated for this instance.
 *
 * <p>The zone (default {@value #DEFAULT_ZONE}) holds an SOA, an NS record {@code ns.<zone>}, and A records
 * {@code 127.0.0.1} for {@code ns.<zone>}, the apex and the wildcard {@code *.<zone>}, so every name in it
 * resolves to loopback. Only the generated key ({@link #tsigKeyName()}, {@link #tsigAlgorithm()}, base64
 * {@link #tsigSecret()}) may update it, and only TXT records. Point Pebble at it with
 * {@code PebbleServer.builder().dnsServer(dns.address())}.
 *
 * <p>{@code knotd} runs in the foreground as the current user (no privilege drop, so it works as root and as an
 * unprivileged user alike) with all of its files in a temporary directory this process owns. It is found at
 * the system property {@code knotd.bin}, the environment variable {@code KNOTD_BIN}, {@code /usr/sbin/knotd} or on
 * the {@code PATH}; {@code scripts/get-dns.sh} installs it. A missing {@code knotd} is an error, never a skip.
 *
 * <p>Part of the test kit's API, for your own tests of DNS-01 (wildcard certificates, a server without a
 * reachable plain-HTTP port): start it before Pebble, point Pebble's validation authority at it, and let
 * autocert4j's {@code Rfc2136Provider} (module {@code autocert4j-dns}) publish the TXT records in it. The names
 * you order must lie in its zone.
 *
 * <pre>{@code
 * try (DnsServer dns = DnsServer.start();                  // zone "autocert4j.test", 127.0.0.1:PORT (UDP and TCP)
 *      PebbleServer pebble = PebbleServer.builder().httpPort(FreePorts.loopback())
 *              .dnsServer(dns.address())                   // Pebble resolves and checks TXT records here
 *              .start()) {
 *     Dns01Solver dns01 = Dns01Solver.builder()
 *             .provider(Rfc2136Provider.builder()
 *                     .server(dns.address())
 *                     .tsigKey(dns.tsigKeyName(), dns.tsigSecret())
 *                     .build())
 *             .checkServers(dns.address())                 // propagation check against this server
 *             .build();
 *     try (AutoCert autoCert = AutoCert.builder()
 *             .directory(pebble.directoryUri())
 *             .acmeServerTrust(pebble.acmeServerCaPem())
 *             .agreeToTermsOfService(true)
 *             .certificate("*.autocert4j.test")           // a wildcard: DNS-01 only
 *             .challengeSolver(dns01)
 *             .storageDirectory(Files.createTempDirectory("certs"))
 *             .build()) {
 *         autoCert.start();
 *         // ... wait for the certificate, then check it with TlsProbe.handshake(..., pebble.issuanceRoot(), ...)
 *     }
 * }
 * }</pre>
 */
public final class DnsServer implements AutoCloseable {

    /** The zone served when none is given: {@code autocert4j.test}. */
    public static final String DEFAULT_ZONE = "autocert4j.test";

    static final String GET_DNS_HINT = "run `scripts/get-dns.sh` (as root) in the repository root, "
            + "or `apt-get install -y knot`";
    private static final String KEY_NAME = "autocert4j-test-key";
    private static final String ALGORITHM = "hmac-sha256";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration STOP_GRACE = Duration.ofSeconds(3);
    private static final Pattern ZONE = Pattern.compile(
            "(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+");

    private final Path knotd;
    private final String zone;
    private final String secret;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook = new Thread(this::stopProcess, "dns-testkit-shutdown");
    private Path tempDir;
    private Path log;
    private int port;
    private volatile Process process;

    private DnsServer(Path knotd, String zone, String secret) {
        this.knotd = knotd;
        this.zone = zone;
        this.secret = secret;
    }

    /** Starts a server for {@value #DEFAULT_ZONE}; see {@link #start(String)}. */
    public static DnsServer start() {
        return start(DEFAULT_ZONE);
    }

    /**
     * Starts {@code knotd} for {@code zone} on a free loopback port and waits (at most 10 s) until it answers
     * the zone's SOA authoritatively.
     *
     * @param zone the zone to serve, e.g. {@code "autocert4j.test"} (lower case, no trailing dot)
     * @throws IllegalArgumentException if {@code zone} is not a DNS name
     * @throws IllegalStateException    if {@code knotd} is missing (the message says how to install it) or does not
     *                                  come up (the message includes its log tail)
     */
    public static DnsServer start(String zone) {
        Objects.requireNonNull(zone, "zone");
        if (!ZONE.matcher(zone).matches()) {
            throw new IllegalArgumentException("zone '" + zone + "' is not a DNS name with at least two labels, "
                    + "lower case, without trailing dot; e.g. \"" + DEFAULT_ZONE + "\"");
        }
        Path bin = locateKnotd();
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        String secret = Base64.getEncoder().encodeToString(key);
        IllegalStateException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            DnsServer server = new DnsServer(bin, zone, secret);
            try {
                server.launch();
                return server;
            } catch (PortClash clash) {
                last = clash.failure;
                server.close();
            } catch (IOException e) {
                server.close();
                throw new UncheckedIOException("cannot start knotd", e);
            } catch (InterruptedException e) {
                server.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting knotd", e);
            } catch (RuntimeException | Error e) {
                server.close();
                throw e;
            }
        }
        throw last;
    }

    /** Thrown internally when the picked port was taken in the meantime; start() retries with another one. */
    private static final class PortClash extends Exception {
        private static final long serialVersionUID = 1L;
        final transient IllegalStateException failure;

        PortClash(IllegalStateException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    private void launch() throws IOException, InterruptedException, PortClash {
        tempDir = Files.createTempDirectory("autocert4j-knot-");
        Path run = Files.createDirectory(tempDir.resolve("run"));
        Path db = Files.createDirectory(tempDir.resolve("db"));
        Path zones = Files.createDirectory(tempDir.resolve("zones"));
        log = tempDir.resolve("knotd.log");
        port = FreePorts.loopbackTcpAndUdp();
        Files.writeString(zones.resolve(zone + ".zone"), zoneFile(), StandardCharsets.UTF_8);
        Path conf = tempDir.resolve("knot.conf");
        Files.writeString(conf, config(run, db, zones), StandardCharsets.UTF_8);
        // the config holds the TSIG secret: owner-only, like any key file
        if (conf.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Files.setPosixFilePermissions(conf, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        }
        Runtime.getRuntime().addShutdownHook(shutdownHook);
        ProcessBuilder pb = new ProcessBuilder(knotd.toString(), "-c", conf.toString())
                .directory(tempDir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        process = pb.start();

        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        String lastProblem = "no answer yet";
        while (true) {
            Process p = process;
            if (!p.isAlive()) {
                IllegalStateException e = failure("knotd exited with status " + p.exitValue() + " during start-up");
                if (logTail(40).toLowerCase(Locale.ROOT).contains("address already in use")) {
                    throw new PortClash(e);
                }
                throw e;
            }
            lastProblem = soaProblem(port, zone);
            if (lastProblem == null) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw failure("knotd did not answer the SOA of " + zone + " on 127.0.0.1:" + port + " within "
                        + START_TIMEOUT.toSeconds() + " s (last: " + lastProblem + ")");
            }
            Thread.sleep(25);
        }
    }

    private IllegalStateException failure(String what) {
        return new IllegalStateException(what + " (binary " + knotd + ")\n" + logTail(40));
    }

    private String zoneFile() {
        return "$ORIGIN " + zone + ".\n"
                + "$TTL 60\n"
                // negative-caching TTL 1 s: a TXT record that was just added is not hidden by an earlier NXDOMAIN
                + "@ IN SOA ns." + zone + ". hostmaster." + zone + ". 1 3600 600 86400 1\n"
                + "@ IN NS ns." + zone + ".\n"
                + "ns IN A 127.0.0.1\n"
                + "@ IN A 127.0.0.1\n"
                + "* IN A 127.0.0.1\n";
    }

    private String config(Path run, Path db, Path zones) {
        // No server.user: knotd keeps the identity of this process (root in CI, a developer's user otherwise),
        // which owns every file it needs. One worker of each kind: this is a test server on a shared machine.
        return "server:\n"
                + "    rundir: " + quote(run) + "\n"
                + "    listen: 127.0.0.1@" + port + "\n"
                + "    udp-workers: 1\n"
                + "    tcp-workers: 1\n"
                + "    background-workers: 1\n"
                + "log:\n"
                + "  - target: stderr\n"
                + "    any: info\n"
                + "database:\n"
                + "    storage: " + quote(db) + "\n"
                + "    journal-db-max-size: 16M\n"
                + "    kasp-db-max-size: 16M\n"
                + "    timer-db-max-size: 16M\n"
                + "    catalog-db-max-size: 16M\n"
                + "key:\n"
                + "  - id: " + KEY_NAME + ".\n"
                + "    algorithm: " + ALGORITHM + "\n"
                + "    secret: " + secret + "\n"
                + "acl:\n"
                + "  - id: tsig-update\n"
                + "    key: " + KEY_NAME + ".\n"
                + "    action: update\n"
                + "    update-type: [TXT]\n"
                + "template:\n"
                + "  - id: default\n"
                + "    storage: " + quote(zones) + "\n"
                + "    zonefile-sync: -1\n"
                + "    journal-content: changes\n"
                + "zone:\n"
                + "  - domain: " + zone + ".\n"
                + "    file: " + zone + ".zone\n"
                + "    acl: tsig-update\n";
    }

    private static String quote(Path p) {
        return "\"" + p.toAbsolutePath().toString().replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    /**
     * Sends one non-recursive SOA query over UDP and checks for an authoritative NOERROR answer; returns null if
     * the zone is served, else what was wrong. Hand-built so that the testkit needs no DNS library.
     */
    static String soaProblem(int port, String zone) {
        byte[] query = soaQuery(zone);
        try (DatagramSocket socket = new DatagramSocket(new InetSocketAddress(FreePorts.loopbackV4(), 0))) {
            socket.setSoTimeout(300);
            socket.send(new DatagramPacket(query, query.length, new InetSocketAddress(FreePorts.loopbackV4(), port)));
            byte[] buf = new byte[1500];
            DatagramPacket answer = new DatagramPacket(buf, buf.length);
            socket.receive(answer);
            if (answer.getLength() < 12 || buf[0] != query[0] || buf[1] != query[1]) {
                return "a reply that does not match the query";
            }
            int rcode = buf[3] & 0x0F;
            boolean authoritative = (buf[2] & 0x04) != 0;
            int answers = ((buf[6] & 0xFF) << 8) | (buf[7] & 0xFF);
            if (rcode != 0 || !authoritative || answers < 1) {
                return "rcode " + rcode + ", authoritative " + authoritative + ", answers " + answers;
            }
            return null;
        } catch (SocketTimeoutException e) {
            return "no reply within 300 ms";
        } catch (IOException e) {
            return e.toString();
        }
    }

    private static byte[] soaQuery(String zone) {
        byte[] q = new byte[12 + zone.length() + 2 + 4];
        new SecureRandom().nextBytes(q); // random id in bytes 0..1; the rest is overwritten
        q[2] = 0; // QR=0, opcode QUERY, RD=0
        q[3] = 0;
        q[4] = 0;
        q[5] = 1; // QDCOUNT
        for (int i = 6; i < 12; i++) {
            q[i] = 0;
        }
        int at = 12;
        for (String label : zone.split("\\.")) {
            q[at++] = (byte) label.length();
            for (char c : label.toCharArray()) {
                q[at++] = (byte) c;
            }
        }
        q[at++] = 0;
        q[at++] = 0;
        q[at++] = 6; // QTYPE SOA
        q[at++] = 0;
        q[at] = 1; // QCLASS IN
        return q;
    }

    // ------------------------------------------------------------------------------------------------------------

    /** Where the server listens, UDP and TCP: {@code 127.0.0.1:PORT}. */
    public InetSocketAddress address() {
        return new InetSocketAddress(FreePorts.loopbackV4(), port);
    }

    /** The zone it serves, e.g. {@code "autocert4j.test"} (no trailing dot). */
    public String zone() {
        return zone;
    }

    /** Name of the TSIG key that may update the zone: {@code "autocert4j-test-key"} (no trailing dot). */
    public String tsigKeyName() {
        return KEY_NAME;
    }

    /** The TSIG algorithm of the key: {@code "hmac-sha256"}. */
    public String tsigAlgorithm() {
        return ALGORITHM;
    }

    /** The TSIG key's secret, base64; 32 random bytes generated for this instance. Never in {@link #toString()}. */
    public String tsigSecret() {
        return secret;
    }

    /** The last {@code lines} lines of knotd's log, for assertion messages. */
    public String logTail(int lines) {
        if (log == null || !Files.exists(log)) {
            return "--- knotd log: (none) ---\n";
        }
        try {
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder("--- knotd log (" + log + ") ---\n");
            for (String l : all.subList(Math.max(0, all.size() - lines), all.size())) {
                sb.append(l).append('\n');
            }
            return sb.toString();
        } catch (IOException | UncheckedIOException e) {
            return "--- knotd log: cannot read (" + e + ") ---\n";
        }
    }

    /** Stops knotd (SIGTERM, then SIGKILL after 3 s) and deletes its temporary directory. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        stopProcess();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | IllegalArgumentException shuttingDownOrNeverAdded) {
            // JVM already shutting down, or start-up failed before the hook was added
        }
        if (tempDir != null) {
            try (Stream<Path> walk = Files.walk(tempDir)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException ignored) {
                // best effort
            }
        }
    }

    @Override
    public String toString() {
        return "DnsServer[knotd, zone " + zone + ", 127.0.0.1:" + port + ", key " + KEY_NAME + "]";
    }

    static Path locateKnotd() {
        List<Path> tried = new ArrayList<>();
        String override = System.getProperty("knotd.bin");
        if (override == null || override.isBlank()) {
            override = System.getenv("KNOTD_BIN");
        }
        if (override != null && !override.isBlank()) {
            Path p = Paths.get(override).toAbsolutePath();
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
            throw new IllegalStateException("knotd.bin/KNOTD_BIN points to " + p + ", which is not an executable "
                    + "knotd; unset it, or " + GET_DNS_HINT);
        }
        List<Path> candidates = new ArrayList<>(List.of(Paths.get("/usr/sbin/knotd")));
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(Pattern.quote(File.pathSeparator))) {
                if (!dir.isBlank()) {
                    candidates.add(Paths.get(dir, "knotd"));
                }
            }
        }
        for (Path p : candidates) {
            tried.add(p);
            if (Files.isRegularFile(p) && Files.isExecutable(p)) {
                return p;
            }
        }
        throw new IllegalStateException("Knot DNS (knotd) not found at " + tried + ": " + GET_DNS_HINT);
    }

    private void stopProcess() {
        Processes.stop(process, STOP_GRACE);
    }
}
