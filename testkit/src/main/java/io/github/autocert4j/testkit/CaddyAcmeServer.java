package io.github.autocert4j.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.net.ssl.SSLContext;

import io.github.autocert4j.testkit.internal.Processes;

/**
 * A second ACME server besides Pebble: <a href="https://caddyserver.com/docs/caddyfile/directives/acme_server">Caddy's
 * built-in ACME server</a> ({@code acme_server}, smallstep's ACME code, Debian package {@code caddy} 2.6), started as a
 * child process on loopback with a throw-away configuration, data directory and CA.
 *
 * <p>The ACME API is served over HTTPS at {@link #directoryUri()} with a certificate from Caddy's own internal CA;
 * certificates it issues chain up to the same root, so one {@link #rootCaPem()} / {@link #rootCa()} is trusted for
 * both: pass it to {@code acmeServerTrust(...)} and to the TLS client that verifies the served chain.
 *
 * <p><b>Validation.</b> Caddy's validator cannot be pointed at other ports: it dials port <b>80</b> for http-01 and
 * <b>443</b> for tls-alpn-01, at whatever the identifier resolves to through the system resolver ({@code /etc/hosts},
 * then DNS). So that tests need no DNS and do not clash with each other on 127.0.0.1:80/443, every instance picks
 * its own loopback address, {@link #validationAddress()} (127.x.y.z, ports 80 and 443 free there when started),
 * and runs Caddy in a private mount namespace ({@code unshare --mount}) where {@code /etc/hosts} maps the names
 * given to {@link Builder#name} to that address. The server under test binds
 * {@code validationAddress():80} and/or {@code :443}. IP identifiers need no mapping: an order for
 * {@code validationAddress().getHostAddress()} is validated at that address. Binding port 80/443 and the mount
 * namespace need root (CAP_NET_BIND_SERVICE, CAP_SYS_ADMIN); without them {@link Builder#start()} fails and says so.
 *
 * <p><b>Validity.</b> Caddy 2.6 issues 12-hour certificates and has no setting for it ({@code lifetime} came in
 * 2.7; 2.6 rejects it); renewals in tests are forced ({@code renewNow}).
 *
 * <p><b>Restarts.</b> {@link #restart(boolean)} stops and starts Caddy on the same port with the same CA (the root
 * stays trusted); with {@code forgetAccounts} its ACME database (accounts, orders) is wiped first, so the CA no longer
 * knows any account, as after a CA-side data loss.
 *
 * <p>Binary: system property {@code caddy.bin} or environment variable {@code CADDY_BIN}, else {@code /usr/bin/caddy},
 * else {@code caddy} on the PATH ({@code scripts/get-caddy.sh} installs it).
 *
 * <pre>{@code
 * try (CaddyAcmeServer caddy = CaddyAcmeServer.builder().name("app.caddy.test").start()) {
 *     InetAddress at = caddy.validationAddress();           // bind the host's port 80 (http-01) / 443 (tls-alpn-01) here
 *     AutoCert autoCert = AutoCert.builder()
 *             .directory(caddy.directoryUri())              // https://127.0.0.1:PORT/acme/local/directory
 *             .acmeServerTrust(caddy.rootCaPem())
 *             .agreeToTermsOfService(true)
 *             .certificate("app.caddy.test")
 *             .storageDirectory(store).build();
 *     // ... start the host, autoCert.start(), then verify with TlsProbe.handshake(addr, "app.caddy.test", caddy.rootCa(), T)
 *     caddy.restart(true);                                  // the CA forgets every account
 * }
 * }</pre>
 */
public final class CaddyAcmeServer implements AutoCloseable {

    /** Port Caddy's validator dials for http-01 (fixed in Caddy 2.6). */
    public static final int HTTP_PORT = 80;
    /** Port Caddy's validator dials for tls-alpn-01 (fixed in Caddy 2.6). */
    public static final int TLS_PORT = 443;

    /** Starts a new builder: no names mapped, a random free loopback validation address. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures and starts a {@link CaddyAcmeServer}.
     *
     * <pre>{@code
     * CaddyAcmeServer caddy = CaddyAcmeServer.builder().name("app.caddy.test").name("www.caddy.test").start();
     * }</pre>
     */
    public static final class Builder {
        private final Set<String> names = new LinkedHashSet<>();

        private Builder() {
        }

        /**
         * Maps {@code name} to {@link #validationAddress()} in Caddy's private {@code /etc/hosts}, so that Caddy
         * validates it there. Only exact names (no wildcards, which {@code /etc/hosts} cannot express).
         */
        public Builder name(String name) {
            Objects.requireNonNull(name, "name");
            String n = name.toLowerCase(Locale.ROOT);
            if (!n.matches("[a-z0-9]([a-z0-9.-]*[a-z0-9])?") || n.contains("..")) {
                throw new IllegalArgumentException("name must be a plain DNS name (no wildcard, no IP): " + name);
            }
            names.add(n);
            return this;
        }

        /**
         * Starts Caddy and waits (at most about 15 s) until its ACME directory answers over HTTPS.
         *
         * @throws IllegalStateException if Caddy is missing (message says to run {@code scripts/get-caddy.sh}), no
         *                               mount namespace can be made, or Caddy does not come up (with its log tail)
         */
        public CaddyAcmeServer start() {
            CaddyAcmeServer server = new CaddyAcmeServer(List.copyOf(names), locateBinary());
            try {
                server.prepare();
                server.launch();
                return server;
            } catch (IOException e) {
                server.close();
                throw new UncheckedIOException("cannot start Caddy", e);
            } catch (RuntimeException | Error e) {
                server.close();
                throw e;
            } catch (InterruptedException e) {
                server.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting Caddy", e);
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    static final String GET_CADDY_HINT = "Fix: run `scripts/get-caddy.sh` (Debian package `caddy`) or set CADDY_BIN"
            + " (or -Dcaddy.bin) to a caddy 2.6+ binary";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration STOP_GRACE = Duration.ofSeconds(3);
    private static final String CA_ID = "local";

    private final List<String> names;
    private final Path binary;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook = new Thread(this::destroyProcess, "caddy-testkit-shutdown");

    private Path tempDir;
    private Path log;
    private Path configFile;
    private Path hostsFile;
    private int acmePort;
    private InetAddress validationAddress;
    private X509Certificate root;
    private volatile Process caddy;

    private CaddyAcmeServer(List<String> names, Path binary) {
        this.names = names;
        this.binary = binary;
    }

    private static Path locateBinary() {
        String override = System.getProperty("caddy.bin");
        if (override == null || override.isBlank()) {
            override = System.getenv("CADDY_BIN");
        }
        if (override != null && !override.isBlank()) {
            Path p = Paths.get(override);
            if (!Files.isExecutable(p)) {
                throw new IllegalStateException("Caddy not found: " + p + " (from caddy.bin/CADDY_BIN) is not an executable. "
                        + GET_CADDY_HINT);
            }
            return p;
        }
        Path system = Paths.get("/usr/bin/caddy");
        if (Files.isExecutable(system)) {
            return system;
        }
        String path = System.getenv("PATH");
        if (path != null) {
            for (String dir : path.split(java.io.File.pathSeparator)) {
                if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, "caddy"))) {
                    return Paths.get(dir, "caddy");
                }
            }
        }
        throw new IllegalStateException("Caddy not found (no caddy.bin/CADDY_BIN, no /usr/bin/caddy, none on the PATH). "
                + GET_CADDY_HINT);
    }

    private void prepare() throws IOException {
        tempDir = Files.createTempDirectory("autocert4j-caddy-");
        log = tempDir.resolve("caddy.log");
        Files.createDirectories(tempDir.resolve("home"));
        acmePort = FreePorts.loopback();
        validationAddress = freeValidationAddress();
        StringBuilder hosts = new StringBuilder("127.0.0.1 localhost\n");
        for (String n : names) {
            hosts.append(validationAddress.getHostAddress()).append(' ').append(n).append('\n');
        }
        hostsFile = Files.writeString(tempDir.resolve("hosts"), hosts, StandardCharsets.UTF_8);
        configFile = Files.writeString(tempDir.resolve("caddy.json"), configJson(), StandardCharsets.UTF_8);
        Runtime.getRuntime().addShutdownHook(shutdownHook);
    }

    /** A random 127.x.y.z (not 127.0.0.0/16, where system services such as a DNS stub live) with 80 and 443 free. */
    private static InetAddress freeValidationAddress() throws IOException {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        IOException last = null;
        for (int attempt = 0; attempt < 20; attempt++) {
            InetAddress a = Inet4Address.getByAddress(new byte[] {127, (byte) r.nextInt(100, 250), (byte) r.nextInt(1, 255),
                    (byte) r.nextInt(1, 255)});
            try (ServerSocket s80 = new ServerSocket(); ServerSocket s443 = new ServerSocket()) {
                s80.setReuseAddress(true);
                s443.setReuseAddress(true);
                s80.bind(new InetSocketAddress(a, HTTP_PORT), 1);
                s443.bind(new InetSocketAddress(a, TLS_PORT), 1);
                return a;
            } catch (IOException busyOrDenied) {
                last = busyOrDenied;
            }
        }
        throw new IllegalStateException("no loopback address 127.x.y.z with ports 80 and 443 bindable after 20 attempts ("
                + last + "). Caddy's validator only dials ports 80/443. Fix: run the tests as root (or grant the JVM "
                + "CAP_NET_BIND_SERVICE)", last);
    }

    private void launch() throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c",
                "mount --bind \"$0\" /etc/hosts || { echo 'autocert4j-testkit: cannot bind-mount a private /etc/hosts "
                        + "(needs CAP_SYS_ADMIN)' >&2; exit 97; }; exec \"$1\" run --config \"$2\"",
                hostsFile.toString(), binary.toString(), configFile.toString()));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(tempDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.equalsIgnoreCase("http_proxy") || k.equalsIgnoreCase("https_proxy")
                || k.equalsIgnoreCase("all_proxy") || k.startsWith("CADDY") || k.startsWith("XDG_") || k.startsWith("STEP"));
        env.put("NO_PROXY", "*");
        env.put("HOME", tempDir.resolve("home").toString());
        env.put("XDG_DATA_HOME", tempDir.resolve("xdg-data").toString());
        env.put("XDG_CONFIG_HOME", tempDir.resolve("xdg-config").toString());
        try {
            caddy = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run `unshare` (util-linux) to start Caddy in a private mount namespace: "
                    + e.getMessage() + ". Fix: install util-linux and run the tests as root", e);
        }
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Exception lastError = null;
        Path rootPem = rootCaPem();
        while (true) {
            Process p = caddy;
            if (!p.isAlive()) {
                String tail = logTail(40);
                String fix = p.exitValue() == 97 || tail.contains("unshare:")
                        ? " Fix: run the tests as root: Caddy's validator resolves names through /etc/hosts, which the test kit "
                        + "replaces in a private mount namespace (unshare --mount needs CAP_SYS_ADMIN)"
                        : tail.toLowerCase(Locale.ROOT).contains("address already in use")
                        ? " Fix: the ACME port 127.0.0.1:" + acmePort + " was taken by another process; start a new server"
                        : "";
                throw failure("caddy exited with status " + p.exitValue() + " during start-up." + fix, null);
            }
            if (Files.isRegularFile(rootPem) && tcpOpen(acmePort)) {
                try {
                    List<X509Certificate> certs = TestCerts.parseCertificates(Files.readAllBytes(rootPem));
                    if (!certs.isEmpty()) {
                        HttpClient http = HttpClient.newBuilder().sslContext(TestCerts.trustingOnly(certs.get(0)))
                                .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2))
                                .proxy(HttpClient.Builder.NO_PROXY).build();
                        HttpResponse<String> r = http.send(HttpRequest.newBuilder(directoryUri()).timeout(Duration.ofSeconds(2))
                                .GET().build(), HttpResponse.BodyHandlers.ofString());
                        if (r.statusCode() == 200 && r.body().contains("newOrder")) {
                            root = certs.get(0);
                            return;
                        }
                        lastError = new IOException("GET " + directoryUri() + " answered " + r.statusCode() + ": " + r.body());
                    }
                } catch (IOException | RuntimeException e) {
                    lastError = e; // the API certificate may not be issued yet
                }
            }
            if (System.nanoTime() > deadline) {
                throw failure("Caddy ACME directory " + directoryUri() + " did not answer within " + START_TIMEOUT.toSeconds()
                        + " s", lastError);
            }
            Thread.sleep(50);
        }
    }

    private String configJson() {
        String port = String.valueOf(acmePort);
        // automatic_https off: no HTTP redirect server, no certificates for anything but the API's own 127.0.0.1;
        // h1/h2 only: no HTTP/3 UDP listener
        return "{\n"
                + "  \"admin\": {\"disabled\": true},\n"
                + "  \"storage\": {\"module\": \"file_system\", \"root\": " + str(tempDir.resolve("data").toString()) + "},\n"
                + "  \"apps\": {\n"
                + "    \"http\": {\"http_port\": " + FreePorts.loopback() + ", \"https_port\": " + port + ",\n"
                + "      \"servers\": {\"acme\": {\"listen\": [\"127.0.0.1:" + port + "\"], \"protocols\": [\"h1\", \"h2\"],\n"
                + "        \"automatic_https\": {\"disable\": true}, \"tls_connection_policies\": [{}], \"logs\": {},\n"
                + "        \"routes\": [{\"handle\": [{\"handler\": \"acme_server\", \"ca\": \"" + CA_ID + "\"}]}]}}},\n"
                + "    \"pki\": {\"certificate_authorities\": {\"" + CA_ID + "\": {\"name\": \"autocert4j testkit Caddy CA\","
                + " \"install_trust\": false}}},\n"
                + "    \"tls\": {\"certificates\": {\"automate\": [\"127.0.0.1\"]},\n"
                + "      \"automation\": {\"policies\": [{\"subjects\": [\"127.0.0.1\"], \"issuers\": [{\"module\": \"internal\", \"ca\": \""
                + CA_ID + "\"}]}]}}\n"
                + "  }\n"
                + "}\n";
    }

    private static String str(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static boolean tcpOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(FreePorts.loopbackV4(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private IllegalStateException failure(String what, Exception cause) {
        return new IllegalStateException(what + " (binary " + binary + ", directory " + tempDir + ")\n" + logTail(40), cause);
    }

    /** The last {@code lines} lines of Caddy's log (JSON lines, stdout and stderr), for failure messages. */
    public String logTail(int lines) {
        try {
            if (log == null || !Files.exists(log)) {
                return "(no caddy log)";
            }
            List<String> all = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "--- caddy log (last " + lines + " lines) ---\n"
                    + String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException | UncheckedIOException e) {
            return "(caddy log unreadable: " + e + ")";
        }
    }

    /**
     * One request Caddy's ACME API answered, from its access log.
     *
     * @param method HTTP method, e.g. {@code "POST"}
     * @param path   request path, e.g. {@code "/acme/local/new-account"}
     * @param status HTTP status Caddy answered with
     */
    public record Request(String method, String path, int status) {
    }

    private static final Pattern ACCESS = Pattern.compile("\"logger\":\"http\\.log\\.access");
    private static final Pattern METHOD = Pattern.compile("\"method\":\"([A-Z]+)\"");
    private static final Pattern URI_FIELD = Pattern.compile("\"uri\":\"([^\"]*)\"");
    private static final Pattern STATUS = Pattern.compile("\"status\":(\\d{3})");

    /**
     * Every request Caddy's ACME API answered since the first start (restarts included), oldest first, read from its
     * access log: lets a test count what a client sent to the CA, e.g. orders ({@code new-order}) or registrations
     * ({@code new-account}). Caddy writes each entry once the response is sent.
     */
    public List<Request> requests() {
        List<Request> out = new ArrayList<>();
        List<String> lines;
        try {
            lines = log == null || !Files.exists(log) ? List.of() : Files.readAllLines(log, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read Caddy's log " + log, e);
        }
        for (String line : lines) {
            if (!ACCESS.matcher(line).find()) {
                continue;
            }
            Matcher m = METHOD.matcher(line);
            Matcher u = URI_FIELD.matcher(line);
            Matcher st = STATUS.matcher(line);
            int status = -1;
            while (st.find()) {
                status = Integer.parseInt(st.group(1)); // the last "status" is the top-level one
            }
            if (m.find() && u.find()) {
                out.add(new Request(m.group(1), u.group(1), status));
            }
        }
        return out;
    }

    /** How many {@link #requests()} had this method and a path ending in {@code pathSuffix}, e.g. {@code ("POST", "/new-order")}. */
    public long requestCount(String method, String pathSuffix) {
        return requests().stream().filter(r -> r.method().equals(method) && r.path().endsWith(pathSuffix)).count();
    }

    /** The ACME directory, {@code https://127.0.0.1:PORT/acme/local/directory}; the same across {@link #restart}. */
    public URI directoryUri() {
        return URI.create("https://127.0.0.1:" + acmePort + "/acme/" + CA_ID + "/directory");
    }

    /** PEM file of Caddy's root CA: trust it for the ACME API's HTTPS and for chains Caddy issues. */
    public Path rootCaPem() {
        return tempDir.resolve("data/pki/authorities/" + CA_ID + "/root.crt");
    }

    /** Caddy's root CA certificate (the same across {@link #restart}). */
    public X509Certificate rootCa() {
        return root;
    }

    /** An SSL context trusting only {@link #rootCa()}, e.g. for an HTTP client talking to the ACME API. */
    public SSLContext rootSslContext() {
        return TestCerts.trustingOnly(root);
    }

    /**
     * The loopback address (127.x.y.z, unique to this instance) where Caddy validates the names given to
     * {@link Builder#name}: bind the host under test's port {@link #HTTP_PORT} and/or {@link #TLS_PORT} here. Its
     * textual form is also a valid IP identifier validated at the same place.
     */
    public InetAddress validationAddress() {
        return validationAddress;
    }

    /** The names mapped to {@link #validationAddress()}. */
    public List<String> names() {
        return names;
    }

    /** Whether the Caddy process is running. */
    public boolean isRunning() {
        Process p = caddy;
        return p != null && p.isAlive();
    }

    /** Stops Caddy (SIGTERM, then SIGKILL after 3 s); {@link #restart} starts it again. */
    public void stop() {
        Processes.stop(caddy, STOP_GRACE);
    }

    /**
     * Stops Caddy and starts it again on the same port with the same CA, waiting until the directory answers.
     *
     * @param forgetAccounts wipe the ACME database first (accounts, orders, authorizations): the CA then answers
     *                       every request signed by a previously registered account key as for an unknown account
     */
    public void restart(boolean forgetAccounts) {
        if (closed.get()) {
            throw new IllegalStateException("Caddy test server is closed");
        }
        stop();
        if (forgetAccounts) {
            Path db = tempDir.resolve("xdg-data/caddy/acme_server");
            Processes.deleteTree(db);
            if (Files.exists(db)) {
                throw new IllegalStateException("could not delete Caddy's ACME database " + db);
            }
        }
        try {
            launch();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restart Caddy", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while restarting Caddy", e);
        }
    }

    private void destroyProcess() {
        Process p = caddy;
        if (p != null) {
            p.destroyForcibly();
        }
    }

    /** Stops Caddy and deletes its configuration, data and CA. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        stop();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | IllegalArgumentException ignored) {
            // JVM shutting down, or the hook was never added
        }
        Processes.deleteTree(tempDir);
    }

    @Override
    public String toString() {
        return "CaddyAcmeServer[" + directoryUri() + ", validation at " + validationAddress.getHostAddress() + ", names=" + names + "]";
    }
}
