package io.github.autocert4j.testkit;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.net.InetSocketAddress;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;

import javax.net.ssl.SSLContext;

import io.github.autocert4j.testkit.internal.Processes;

/**
 * A real <a href="https://github.com/letsencrypt/pebble">Pebble</a> ACME test server plus
 * {@code pebble-challtestsrv} (mock DNS answering every name with 127.0.0.1), started as child processes
 * listening on loopback only.
 *
 * <p>Pebble's own HTTPS API (ACME and management) uses a certificate from a throw-away CA generated for this
 * instance: trust it with {@link #acmeServerCaPem()} or {@link #acmeServerSslContext()}. Certificates that Pebble
 * issues chain up to a different root, {@link #issuanceRoot()}, which Pebble regenerates on every start.
 *
 * <p>Pebble's validation authority resolves every identifier through the mock DNS (127.0.0.1 unless changed with
 * {@link #addARecord}) and dials port {@link #httpPort()} for http-01 and {@link #tlsPort()} for tls-alpn-01, so
 * the server under test must answer challenges on those loopback ports. With {@link Builder#dnsServer} it resolves
 * through a real DNS server instead (such as a {@link DnsServer}), which also serves the TXT records of dns-01.
 *
 * <p>Binaries are looked up, in this order: the system property {@code pebble.bin} or environment variable
 * {@code PEBBLE_BIN} (path of the {@code pebble} binary; {@code pebble-challtestsrv} must sit next to it); inside the
 * autocert4j repository {@code <repo>/.pebble/<suite>/usr/bin/} (populated by {@code scripts/get-pebble.sh}); then
 * {@code pebble} on the {@code PATH}, e.g. from Debian's package ({@code apt-get install pebble}: 2.4.0 in Debian 12,
 * 2.6.0 in 13, 2.10.0 in forky), if its version is at least the flavor's. Outside this repository, install the
 * package or set {@code PEBBLE_BIN}.
 *
 * <pre>{@code
 * try (PebbleServer pebble = PebbleServer.builder()
 *         .flavor(PebbleServer.Flavor.LATEST)
 *         .httpPort(5002)
 *         .profile("shortlived", Duration.ofDays(6))
 *         .start()) {
 *     URI directory = pebble.directoryUri();          // https://127.0.0.1:PORT/dir
 *     Path apiCa = pebble.acmeServerCaPem();          // trust this to talk to the ACME API
 *     // ... obtain a certificate for "app.test" with the code under test ...
 *     TlsProbe.Result served = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", 8443), "app.test",
 *             pebble.issuanceRoot(), Duration.ofSeconds(5));
 * }
 * }</pre>
 */
public final class PebbleServer implements AutoCloseable {

    /** Which Pebble build to run. */
    public enum Flavor {
        /** Pebble 2.10.0 from Debian forky: ARI ({@code renewalInfo}), Retry-After and certificate profiles. */
        LATEST("forky", "2.10.0", true, true),
        /** Pebble 2.6.0 from Debian trixie: ARI ({@code renewalInfo}) and Retry-After, no profiles. */
        ARI("trixie", "2.6.0", true, false),
        /** Pebble 2.4.0 as packaged in Debian 12 (bookworm): no ARI, no profiles. */
        DEBIAN_12("bookworm", "2.4.0", false, false);

        private final String suite;
        private final String nominalVersion;
        private final boolean ari;
        private final boolean profiles;

        Flavor(String suite, String nominalVersion, boolean ari, boolean profiles) {
            this.suite = suite;
            this.nominalVersion = nominalVersion;
            this.ari = ari;
            this.profiles = profiles;
        }

        /** Debian suite the binaries come from, also the directory name under {@code .pebble/}. */
        public String debianSuite() {
            return suite;
        }

        /** The Pebble version this flavor stands for, e.g. {@code "2.10.0"}. */
        public String nominalVersion() {
            return nominalVersion;
        }

        /** Whether the directory offers {@code renewalInfo} (ACME Renewal Information). */
        public boolean supportsAri() {
            return ari;
        }

        /** Whether certificate profiles ({@code meta.profiles}, order field {@code profile}) are supported. */
        public boolean supportsProfiles() {
            return profiles;
        }
    }

    /** Starts a new builder with defaults: {@link Flavor#LATEST}, httpPort 5002, tlsPort 5001. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Configures and starts a {@link PebbleServer}.
     *
     * <pre>{@code
     * PebbleServer pebble = PebbleServer.builder()
     *         .flavor(PebbleServer.Flavor.ARI)
     *         .httpPort(FreePorts.loopback())
     *         .retryAfter(1, 2)
     *         .env("PEBBLE_CHAIN_LENGTH", "2")
     *         .start();
     * }</pre>
     */
    public static final class Builder {
        private int httpPort = 5002;
        private int tlsPort = 5001;
        private Flavor flavor = Flavor.LATEST;
        private final Map<String, Duration> profiles = new LinkedHashMap<>();
        private Integer retryAfterAuthz;
        private Integer retryAfterOrder;
        private final Map<String, String> env = new LinkedHashMap<>();
        private InetSocketAddress dnsServer;
        private boolean eabRequired;
        private final Map<String, String> eabKeys = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Requires external account binding for new accounts ({@code externalAccountBindingRequired}) and
         * accepts the given key ids with their base64url (unpadded) HMAC keys ({@code externalAccountMACKeys}).
         * Without it Pebble requires no binding and knows no keys.
         *
         * @param macKeysById key id to base64url HMAC key, e.g. {@code Map.of("kid-1", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W")}
         */
        public Builder requireExternalAccountBinding(Map<String, String> macKeysById) {
            Objects.requireNonNull(macKeysById, "macKeysById");
            if (macKeysById.isEmpty()) {
                throw new IllegalArgumentException("at least one key id with its HMAC key is needed");
            }
            macKeysById.forEach((k, v) -> {
                if (k.isBlank() || !v.matches("[A-Za-z0-9_-]+")) {
                    throw new IllegalArgumentException("key ids must be non-blank and keys unpadded base64url: " + k);
                }
            });
            this.eabRequired = true;
            this.eabKeys.putAll(macKeysById);
            return this;
        }

        /** Port Pebble's validation authority dials for http-01 challenges (default 5002). */
        public Builder httpPort(int port) {
            this.httpPort = checkPort(port);
            return this;
        }

        /** Port Pebble's validation authority dials for tls-alpn-01 challenges (default 5001). */
        public Builder tlsPort(int port) {
            this.tlsPort = checkPort(port);
            return this;
        }

        /** Which Pebble build to run (default {@link Flavor#LATEST}). */
        public Builder flavor(Flavor flavor) {
            this.flavor = Objects.requireNonNull(flavor, "flavor");
            return this;
        }

        /**
         * Adds a certificate profile (Pebble 2.10, {@link Flavor#LATEST} only). If no profile is added the
         * configuration has {@code "default"} (90 days) and {@code "shortlived"} (6 days). If profiles are added
         * but none is named {@code "default"}, a 90-day {@code "default"} profile is added too, since Pebble uses
         * it for orders that name no profile.
         *
         * @param name     profile name as offered in the directory's {@code meta.profiles}
         * @param validity validity period of certificates issued under this profile (whole seconds, positive)
         */
        public Builder profile(String name, Duration validity) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(validity, "validity");
            if (name.isBlank()) {
                throw new IllegalArgumentException("profile name must not be blank");
            }
            if (validity.getSeconds() < 1) {
                throw new IllegalArgumentException("profile validity must be at least one second: " + validity);
            }
            profiles.put(name, validity);
            return this;
        }

        /**
         * Makes Pebble send {@code Retry-After} on pending authorizations and orders (not supported by
         * {@link Flavor#DEBIAN_12}). By default no {@code retryAfter} is configured at all.
         */
        public Builder retryAfter(int authzSeconds, int orderSeconds) {
            if (authzSeconds < 0 || orderSeconds < 0) {
                throw new IllegalArgumentException("retryAfter seconds must be >= 0");
            }
            this.retryAfterAuthz = authzSeconds;
            this.retryAfterOrder = orderSeconds;
            return this;
        }

        /**
         * Sets an environment variable for the Pebble process, typically a {@code PEBBLE_*} tuning knob such as
         * {@code PEBBLE_CHAIN_LENGTH} or {@code PEBBLE_VA_ALWAYS_VALID}. Overrides the defaults
         * {@code PEBBLE_VA_NOSLEEP=1}, {@code PEBBLE_WFE_NONCEREJECT=0}, {@code PEBBLE_AUTHZREUSE=0}.
         */
        public Builder env(String key, String value) {
            env.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
            return this;
        }

        /**
         * Makes Pebble's validation authority resolve every name (A and AAAA for http-01 and tls-alpn-01, TXT for
         * dns-01) through this DNS server instead of the mock DNS of pebble-challtestsrv, e.g. a
         * {@link DnsServer}: {@code .dnsServer(dns.address())}. The server must answer on UDP and TCP at a
         * loopback address. {@link PebbleServer#addARecord} is then not available: put records into that server.
         * By default Pebble resolves through challtestsrv (every name is 127.0.0.1).
         */
        public Builder dnsServer(InetSocketAddress server) {
            Objects.requireNonNull(server, "server");
            if (server.isUnresolved() || !server.getAddress().isLoopbackAddress() || server.getPort() < 1) {
                throw new IllegalArgumentException("dnsServer must be a loopback address with a port, e.g. "
                        + "dns.address() of a testkit DnsServer: " + server);
            }
            this.dnsServer = server;
            return this;
        }

        /**
         * Starts challtestsrv and Pebble and waits (at most about 15 s) until the ACME directory answers.
         *
         * @throws IllegalStateException if the binaries are missing (message says to run
         *                               {@code scripts/get-pebble.sh}), an option is not supported by the flavor,
         *                               or the servers do not come up (message includes the log tails)
         */
        public PebbleServer start() {
            if (!profiles.isEmpty() && !flavor.supportsProfiles()) {
                throw new IllegalStateException("certificate profiles need Pebble 2.10 (Flavor.LATEST); "
                        + flavor + " is Pebble " + flavor.nominalVersion());
            }
            return PebbleServer.start(this);
        }

        private static int checkPort(int port) {
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("port out of range: " + port);
            }
            return port;
        }
    }

    // ------------------------------------------------------------------------------------------------------------

    static final String GET_PEBBLE_HINT = "run `scripts/get-pebble.sh`";
    /** What a user outside this repository can do when no Pebble is found. */
    static final String OUTSIDE_HINT = "Fix: install Pebble (Debian/Ubuntu: `apt-get install pebble`, which puts pebble and"
            + " pebble-challtestsrv on the PATH; Debian 12 ships 2.4.0 = Flavor.DEBIAN_12, Debian 13 2.6.0 = Flavor.ARI,"
            + " forky 2.10.0 = Flavor.LATEST), or set PEBBLE_BIN (or -Dpebble.bin) to a pebble binary with"
            + " pebble-challtestsrv next to it (https://github.com/letsencrypt/pebble/releases); inside the autocert4j"
            + " repository " + GET_PEBBLE_HINT + " (as root)";
    private static final Duration START_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration STOP_GRACE = Duration.ofSeconds(3);

    private final Builder config;
    private final Binaries binaries;
    private final String version;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread shutdownHook = new Thread(this::destroyProcesses, "pebble-testkit-shutdown");

    private Path tempDir;
    private Path caPem;
    private Path pebbleLog;
    private Path challtestsrvLog;
    private SSLContext apiSslContext;
    private HttpClient http;
    private int acmePort;
    private int managementPort;
    private int dnsPort;
    private int challtestsrvManagementPort;
    private volatile Process challtestsrv;
    private volatile Process pebble;
    private X509Certificate issuanceRoot;
    private Path issuanceRootPem;

    private PebbleServer(Builder config, Binaries binaries, String version) {
        this.config = config;
        this.binaries = binaries;
        this.version = version;
    }

    private static PebbleServer start(Builder b) {
        Binaries bins = Binaries.locate(b.flavor, binOverride(), null);
        String version = detectVersion(bins.pebble(), b.flavor);
        RuntimeException last = null;
        for (int attempt = 1; attempt <= 3; attempt++) {
            PebbleServer server = new PebbleServer(b, bins, version);
            try {
                server.launch();
                return server;
            } catch (PortClash clash) {
                last = clash.failure;
                server.close();
            } catch (IOException e) {
                server.close();
                throw new UncheckedIOException("cannot start Pebble", e);
            } catch (RuntimeException | Error e) {
                server.close();
                throw e;
            } catch (InterruptedException e) {
                server.close();
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while starting Pebble", e);
            }
        }
        throw last;
    }

    /** Thrown internally when a picked port was taken in the meantime; start() retries with new ports. */
    private static final class PortClash extends Exception {
        private static final long serialVersionUID = 1L;
        final transient RuntimeException failure;

        PortClash(RuntimeException failure) {
            super(failure.getMessage(), null, false, false);
            this.failure = failure;
        }
    }

    private void launch() throws IOException, InterruptedException, PortClash {
        tempDir = Files.createTempDirectory("autocert4j-pebble-");
        pebbleLog = tempDir.resolve("pebble.log");
        challtestsrvLog = tempDir.resolve("challtestsrv.log");

        TestCerts.Issued ca = TestCerts.newRoot("autocert4j testkit Pebble API CA", Duration.ofDays(30));
        TestCerts.Issued api = TestCerts.newServerCert(ca, Duration.ofDays(30), "localhost", "127.0.0.1");
        caPem = TestCerts.writePem(tempDir.resolve("api-ca.pem"), ca.certificate());
        Path certPem = TestCerts.writePem(tempDir.resolve("api-cert.pem"), api.certificate());
        Path keyPem = TestCerts.writePem(tempDir.resolve("api-key.pem"), api.privateKey());
        apiSslContext = TestCerts.trustingOnly(ca.certificate());
        http = HttpClient.newBuilder()
                .sslContext(apiSslContext)
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2))
                .proxy(HttpClient.Builder.NO_PROXY)
                .build();

        acmePort = FreePorts.loopback();
        managementPort = FreePorts.loopback();
        dnsPort = FreePorts.loopbackTcpAndUdp();
        challtestsrvManagementPort = FreePorts.loopback();

        Runtime.getRuntime().addShutdownHook(shutdownHook);

        // --- challtestsrv: mock DNS only (HTTP/TLS responders disabled; the code under test answers challenges)
        String help = help(binaries.challtestsrv());
        List<String> cts = new ArrayList<>(List.of(binaries.challtestsrv().toString(),
                "-defaultIPv4", "127.0.0.1",
                "-defaultIPv6", "",
                "-http01", "",
                "-https01", "",
                "-tlsalpn01", "",
                "-management", "127.0.0.1:" + challtestsrvManagementPort));
        if (hasFlag(help, "dnsserver")) {
            cts.addAll(List.of("-dnsserver", "127.0.0.1:" + dnsPort));
        } else {
            cts.addAll(List.of("-dns01", "127.0.0.1:" + dnsPort));
        }
        if (hasFlag(help, "doh")) {
            cts.addAll(List.of("-doh", ""));
        }
        ProcessBuilder ctsPb = new ProcessBuilder(cts).directory(tempDir.toFile()).redirectErrorStream(true)
                .redirectOutput(challtestsrvLog.toFile());
        cleanEnv(ctsPb.environment());
        challtestsrv = ctsPb.start();
        long ctsDeadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (!tcpOpen(challtestsrvManagementPort)) {
            checkAlive(challtestsrv, "pebble-challtestsrv");
            if (System.nanoTime() > ctsDeadline) {
                throw failure("pebble-challtestsrv management port 127.0.0.1:" + challtestsrvManagementPort
                        + " not open within " + START_TIMEOUT.toSeconds() + " s", null);
            }
            Thread.sleep(50);
        }

        // --- pebble
        Path configFile = Files.writeString(tempDir.resolve("pebble-config.json"), configJson(certPem, keyPem),
                StandardCharsets.UTF_8);
        ProcessBuilder pb = new ProcessBuilder(binaries.pebble().toString(),
                "-config", configFile.toString(),
                "-dnsserver", config.dnsServer == null ? "127.0.0.1:" + dnsPort
                        : hostPort(config.dnsServer),
                "-strict=false")
                .directory(tempDir.toFile()).redirectErrorStream(true).redirectOutput(pebbleLog.toFile());
        Map<String, String> env = pb.environment();
        cleanEnv(env);
        env.put("PEBBLE_VA_NOSLEEP", "1");
        env.put("PEBBLE_WFE_NONCEREJECT", "0");
        env.put("PEBBLE_AUTHZREUSE", "0");
        env.putAll(config.env);
        pebble = pb.start();

        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        Exception lastError = null;
        while (true) {
            checkAlive(pebble, "pebble");
            checkAlive(challtestsrv, "pebble-challtestsrv");
            if (tcpOpen(acmePort)) {
                try {
                    HttpResponse<String> r = http.send(HttpRequest.newBuilder(directoryUri())
                            .timeout(Duration.ofSeconds(2)).GET().build(), HttpResponse.BodyHandlers.ofString());
                    if (r.statusCode() == 200 && r.body().contains("newOrder")) {
                        return;
                    }
                    lastError = new IOException("GET /dir answered " + r.statusCode() + ": " + r.body());
                } catch (IOException e) {
                    lastError = e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw failure("Pebble directory " + directoryUri() + " did not answer within "
                        + START_TIMEOUT.toSeconds() + " s", lastError);
            }
            Thread.sleep(50);
        }
    }

    private void checkAlive(Process p, String name) throws PortClash {
        if (!p.isAlive()) {
            String tails = logTail(40);
            IllegalStateException e = failure(name + " exited with status " + p.exitValue() + " during start-up", null);
            if (tails.toLowerCase(Locale.ROOT).contains("address already in use")) {
                throw new PortClash(e);
            }
            throw e;
        }
    }

    private IllegalStateException failure(String what, Exception cause) {
        return new IllegalStateException(what + " (Pebble " + version + ", flavor " + config.flavor + ", binary "
                + binaries.pebble() + ")\n" + logTail(40), cause);
    }

    private String configJson(Path certPem, Path keyPem) {
        StringBuilder j = new StringBuilder(512);
        j.append("{\n  \"pebble\": {\n");
        j.append("    \"listenAddress\": ").append(str("127.0.0.1:" + acmePort)).append(",\n");
        j.append("    \"managementListenAddress\": ").append(str("127.0.0.1:" + managementPort)).append(",\n");
        j.append("    \"certificate\": ").append(str(certPem.toString())).append(",\n");
        j.append("    \"privateKey\": ").append(str(keyPem.toString())).append(",\n");
        j.append("    \"httpPort\": ").append(config.httpPort).append(",\n");
        j.append("    \"tlsPort\": ").append(config.tlsPort).append(",\n");
        j.append("    \"ocspResponderURL\": \"\",\n");
        if (config.retryAfterAuthz != null) {
            j.append("    \"retryAfter\": { \"authz\": ").append(config.retryAfterAuthz)
                    .append(", \"order\": ").append(config.retryAfterOrder).append(" },\n");
        }
        if (config.flavor.supportsProfiles()) {
            Map<String, Duration> profiles = new LinkedHashMap<>();
            if (config.profiles.isEmpty()) {
                profiles.put("default", Duration.ofDays(90));
                profiles.put("shortlived", Duration.ofDays(6));
            } else {
                if (!config.profiles.containsKey("default")) {
                    profiles.put("default", Duration.ofDays(90));
                }
                profiles.putAll(config.profiles);
            }
            j.append("    \"profiles\": {\n");
            int i = 0;
            for (Map.Entry<String, Duration> p : profiles.entrySet()) {
                j.append("      ").append(str(p.getKey())).append(": { \"description\": ")
                        .append(str("autocert4j testkit profile, validity " + p.getValue()))
                        .append(", \"validityPeriod\": ").append(p.getValue().getSeconds()).append(" }")
                        .append(++i < profiles.size() ? ",\n" : "\n");
            }
            j.append("    },\n");
        }
        if (!config.eabKeys.isEmpty()) {
            j.append("    \"externalAccountMACKeys\": {\n");
            int k = 0;
            for (Map.Entry<String, String> e : config.eabKeys.entrySet()) {
                j.append("      ").append(str(e.getKey())).append(": ").append(str(e.getValue()))
                        .append(++k < config.eabKeys.size() ? ",\n" : "\n");
            }
            j.append("    },\n");
        }
        j.append("    \"externalAccountBindingRequired\": ").append(config.eabRequired).append("\n");
        j.append("  }\n}\n");
        return j.toString();
    }

    // ------------------------------------------------------------------------------------------------------------
    // public accessors

    /** The ACME directory URL, {@code https://127.0.0.1:PORT/dir}. */
    public URI directoryUri() {
        return URI.create("https://127.0.0.1:" + acmePort + "/dir");
    }

    /**
     * PEM file with the throw-away CA certificate that signed the HTTPS certificate of Pebble's ACME API (and
     * management API). Trust it in the ACME client under test. Not the root of issued certificates.
     */
    public Path acmeServerCaPem() {
        return caPem;
    }

    /** An {@link SSLContext} that trusts only {@link #acmeServerCaPem()}, for talking to the ACME API. */
    public SSLContext acmeServerSslContext() {
        return apiSslContext;
    }

    /**
     * The root certificate that Pebble's issued certificates chain up to ({@code GET /roots/0} on the management
     * API). Pebble generates a new one on every start; it is fetched once per instance and cached.
     */
    public synchronized X509Certificate issuanceRoot() {
        if (issuanceRoot == null) {
            byte[] pem = managementGet("/roots/0").getBytes(StandardCharsets.US_ASCII);
            List<X509Certificate> certs = TestCerts.parseCertificates(pem);
            if (certs.isEmpty()) {
                throw new IllegalStateException("Pebble /roots/0 returned no certificate");
            }
            issuanceRoot = certs.get(0);
            try {
                issuanceRootPem = TestCerts.writePem(tempDir.resolve("issuance-root.pem"), issuanceRoot);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return issuanceRoot;
    }

    /**
     * Root certificate {@code index} of Pebble's issuance hierarchies ({@code GET /roots/<index>} on the
     * management API): 0 is {@link #issuanceRoot()}, 1..n the alternate roots Pebble creates with
     * {@code env("PEBBLE_ALTERNATE_ROOTS", "n")}, whose chains it offers as alternates.
     */
    public X509Certificate issuanceRoot(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("root index must be >= 0: " + index);
        }
        List<X509Certificate> certs = TestCerts.parseCertificates(managementGet("/roots/" + index).getBytes(StandardCharsets.US_ASCII));
        if (certs.isEmpty()) {
            throw new IllegalStateException("Pebble /roots/" + index + " returned no certificate");
        }
        return certs.get(0);
    }

    /** {@link #issuanceRoot()} written as a PEM file in this instance's temporary directory. */
    public synchronized Path issuanceRootPem() {
        issuanceRoot();
        return issuanceRootPem;
    }

    /** Port Pebble's validation authority dials for http-01 challenges. */
    public int httpPort() {
        return config.httpPort;
    }

    /** Port Pebble's validation authority dials for tls-alpn-01 challenges. */
    public int tlsPort() {
        return config.tlsPort;
    }

    /** The flavor this server was started with. */
    public Flavor flavor() {
        return config.flavor;
    }

    /**
     * Pebble version, e.g. {@code "2.10.0"}: read from the Debian package's changelog next to the binary (Debian
     * builds report {@code "dev"} for {@code -version}), else the flavor's nominal version.
     */
    public String version() {
        return version;
    }

    /** Pebble's log file (stdout and stderr). Deleted by {@link #close()}. */
    public Path logFile() {
        return pebbleLog;
    }

    /** The last {@code lines} lines of the Pebble and challtestsrv logs, for assertion messages. */
    public String logTail(int lines) {
        return "--- pebble log (" + pebbleLog + ") ---\n" + tail(pebbleLog, lines)
                + "--- pebble-challtestsrv log (" + challtestsrvLog + ") ---\n" + tail(challtestsrvLog, lines);
    }

    /**
     * Makes the mock DNS answer A queries for {@code host} with {@code ip} instead of the default 127.0.0.1.
     * Only loopback addresses are accepted, so Pebble never dials out of the machine.
     *
     * @param host host name, e.g. {@code "app.test"}
     * @param ip   an IPv4 loopback address, e.g. {@code "127.0.0.2"}
     */
    public void addARecord(String host, String ip) {
        Objects.requireNonNull(host, "host");
        requireMockDns();
        if (ip == null || !ip.matches("127(\\.\\d{1,3}){3}")) {
            throw new IllegalArgumentException("only IPv4 loopback addresses (127.x.y.z) are allowed: " + ip);
        }
        challtestsrvPost("/add-a", "{\"host\":" + str(host) + ",\"addresses\":[" + str(ip) + "]}");
    }

    /** Removes the A records added with {@link #addARecord} for {@code host} (back to the 127.0.0.1 default). */
    public void clearARecord(String host) {
        requireMockDns();
        challtestsrvPost("/clear-a", "{\"host\":" + str(Objects.requireNonNull(host, "host")) + "}");
    }

    /**
     * Status Pebble records for an issued certificate ({@code GET /cert-status-by-serial/<hex>} on the management
     * API), e.g. {@code "Valid"} or {@code "Revoked"}; empty if Pebble does not know the serial.
     */
    public Optional<String> certificateStatus(BigInteger serial) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(managementUri("/cert-status-by-serial/"
                + serial.toString(16))).timeout(Duration.ofSeconds(5)).GET().build());
        if (r.statusCode() == 404) {
            return Optional.empty();
        }
        if (r.statusCode() != 200) {
            throw new IllegalStateException("cert-status-by-serial answered " + r.statusCode() + ": " + r.body());
        }
        Matcher m = Pattern.compile("\"Status\"\\s*:\\s*\"([^\"]*)\"").matcher(r.body());
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** Stops both processes (SIGTERM, then SIGKILL after 3 s) and deletes the temporary directory. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        destroyProcesses();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException | IllegalArgumentException shuttingDownOrNeverAdded) {
            // JVM already shutting down, or start-up failed before the hook was added
        }
        if (tempDir != null) {
            Processes.deleteTree(tempDir);
        }
    }

    @Override
    public String toString() {
        return "PebbleServer[" + config.flavor + " " + version + ", " + directoryUri() + "]";
    }

    // ------------------------------------------------------------------------------------------------------------
    // internals

    private void requireMockDns() {
        if (config.dnsServer != null) {
            throw new IllegalStateException("this Pebble resolves through the DNS server " + hostPort(config.dnsServer)
                    + " (Builder.dnsServer), not the mock DNS: add the record to that server's zone instead");
        }
    }

    private static String hostPort(InetSocketAddress a) {
        String host = a.getAddress().getHostAddress();
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
    }

    private void destroyProcesses() {
        Processes.stop(pebble, STOP_GRACE);
        Processes.stop(challtestsrv, STOP_GRACE);
    }

    private URI managementUri(String path) {
        return URI.create("https://127.0.0.1:" + managementPort + path);
    }

    private String managementGet(String path) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(managementUri(path))
                .timeout(Duration.ofSeconds(5)).GET().build());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("Pebble management " + path + " answered " + r.statusCode() + ": "
                    + r.body());
        }
        return r.body();
    }

    private void challtestsrvPost(String path, String json) {
        HttpResponse<String> r = send(HttpRequest.newBuilder(
                        URI.create("http://127.0.0.1:" + challtestsrvManagementPort + path))
                .timeout(Duration.ofSeconds(5))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("pebble-challtestsrv " + path + " answered " + r.statusCode() + ": "
                    + r.body());
        }
    }

    private HttpResponse<String> send(HttpRequest request) {
        if (closed.get()) {
            throw new IllegalStateException("PebbleServer is closed");
        }
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(request.method() + " " + request.uri() + " failed", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static boolean tcpOpen(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(FreePorts.loopbackV4(), port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private static void cleanEnv(Map<String, String> env) {
        env.keySet().removeIf(k -> k.startsWith("PEBBLE_") || k.equalsIgnoreCase("http_proxy")
                || k.equalsIgnoreCase("https_proxy") || k.equalsIgnoreCase("all_proxy"));
        env.put("NO_PROXY", "*");
    }

    private static boolean hasFlag(String help, String flag) {
        return Pattern.compile("(?m)^\\s*-" + Pattern.quote(flag) + "(\\s|$)").matcher(help).find();
    }

    /** The {@code -h} output of a Go binary (flag list); a few milliseconds, so not cached. */
    private static String help(Path binary) {
        return run(binary, "-h");
    }

    private static String run(Path binary, String arg) {
        try {
            Path out = Files.createTempFile("autocert4j-pebble-", ".out");
            try {
                Process p = new ProcessBuilder(binary.toString(), arg).redirectErrorStream(true)
                        .redirectOutput(out.toFile()).start();
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(binary + " " + arg + " did not exit within 5 s");
                }
                return Files.readString(out, StandardCharsets.UTF_8);
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot run " + binary + " " + arg, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    static String detectVersion(Path b, Flavor flavor) {
        Path binDir = b.toAbsolutePath().getParent();
        Path changelog = binDir == null || binDir.getParent() == null ? null
                : binDir.getParent().resolve("share/doc/pebble/changelog.Debian.gz");
        if (changelog != null && Files.isRegularFile(changelog)) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(changelog));
                    BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                Matcher m = Pattern.compile("^pebble \\((?:\\d+:)?(\\d+(?:\\.\\d+)+)").matcher(
                        Objects.toString(r.readLine(), ""));
                if (m.find()) {
                    return m.group(1);
                }
            } catch (IOException ignored) {
                // fall through
            }
        }
        try {
            Matcher m = Pattern.compile("version:?\\s*v?(\\d+(?:\\.\\d+)+)").matcher(run(b, "-version"));
            if (m.find()) {
                return m.group(1);
            }
        } catch (RuntimeException ignored) {
            // fall through
        }
        return flavor.nominalVersion();
    }

    private static String tail(Path file, int lines) {
        if (file == null || !Files.exists(file)) {
            return "(no log)\n";
        }
        try {
            List<String> all = Files.readAllLines(file, StandardCharsets.UTF_8);
            StringBuilder sb = new StringBuilder();
            for (String l : all.subList(Math.max(0, all.size() - lines), all.size())) {
                sb.append(l).append('\n');
            }
            return sb.toString();
        } catch (IOException | UncheckedIOException e) {
            return "(cannot read log: " + e + ")\n";
        }
    }

    static String str(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String binOverride() {
        String p = System.getProperty("pebble.bin");
        if (p == null || p.isBlank()) {
            p = System.getenv("PEBBLE_BIN");
        }
        return p == null || p.isBlank() ? null : p;
    }

    /** Located pebble and pebble-challtestsrv binaries. */
    record Binaries(Path pebble, Path challtestsrv) {

        /**
         * Finds the binaries for {@code flavor}.
         *
         * @param override path of the pebble binary ({@code pebble.bin} / {@code PEBBLE_BIN}), or null
         * @param repoRoot repository root, or null to use {@code autocert4j.repoRoot} or search upwards
         */
        static Binaries locate(Flavor flavor, String override, Path repoRoot) {
            return locate(flavor, override, repoRoot, pathDirs());
        }

        /** The directories of the {@code PATH} environment variable. */
        static List<Path> pathDirs() {
            String path = System.getenv("PATH");
            List<Path> dirs = new ArrayList<>();
            if (path != null) {
                for (String d : path.split(java.io.File.pathSeparator)) {
                    if (!d.isBlank()) {
                        try {
                            dirs.add(Paths.get(d));
                        } catch (RuntimeException ignored) {
                            // an unusable PATH entry is skipped, as a shell does
                        }
                    }
                }
            }
            return dirs;
        }

        /** As {@link #locate(Flavor, String, Path)}, searching {@code pathDirs} for {@code pebble} last. */
        static Binaries locate(Flavor flavor, String override, Path repoRoot, List<Path> pathDirs) {
            List<Path> tried = new ArrayList<>();
            if (override != null) {
                Path p = Paths.get(override).toAbsolutePath();
                Binaries b = at(p);
                if (b != null) {
                    return b;
                }
                throw new IllegalStateException("pebble.bin/PEBBLE_BIN points to " + p
                        + ", but that is not an executable pebble with an executable pebble-challtestsrv next to it. "
                        + "Fix: point it at the pebble binary (e.g. /usr/bin/pebble from `apt-get install pebble`), or "
                        + "unset it; inside the autocert4j repository " + GET_PEBBLE_HINT
                        + " and point it to <repo>/.pebble/<suite>/usr/bin/pebble");
            }
            Path root = repoRoot != null ? repoRoot : findRepoRoot();
            if (root != null) {
                Path p = root.resolve(".pebble").resolve(flavor.debianSuite()).resolve("usr/bin/pebble");
                tried.add(p);
                Binaries b = at(p);
                if (b != null) {
                    return b;
                }
            }
            List<String> tooOld = new ArrayList<>();
            for (Path dir : pathDirs) {
                Path p = dir.resolve("pebble").toAbsolutePath();
                Binaries b = at(p);
                if (b == null) {
                    continue;
                }
                tried.add(p);
                String version = packagedVersion(p);
                if (version == null || compareVersions(version, flavor.nominalVersion()) >= 0) {
                    return b; // unknown version (not a Debian package): taken as it is
                }
                tooOld.add(p + " is " + version);
            }
            String found = tooOld.isEmpty() ? "" : "; on the PATH " + String.join(", ", tooOld) + ", older than Flavor."
                    + flavor + " needs (" + flavor.nominalVersion() + (flavor.supportsProfiles() ? ", profiles"
                    : flavor.supportsAri() ? ", ARI" : "") + "): use .flavor(PebbleServer.Flavor." + olderFlavorFor(tooOld)
                    + ") with it, or install a newer one";
            throw new IllegalStateException("Pebble " + flavor.nominalVersion() + " (Flavor." + flavor + ") not found"
                    + (tried.isEmpty() ? "" : "; tried " + tried) + " (pebble.bin/PEBBLE_BIN not set"
                    + (root == null ? ", not inside the autocert4j repository" : ", nothing in " + root + "/.pebble")
                    + ", no suitable pebble on the PATH)" + found + ". " + OUTSIDE_HINT);
        }

        /** The Debian package version of a pebble binary (from its changelog), or null if it has none. */
        static String packagedVersion(Path pebble) {
            try {
                Path real = pebble.toRealPath();
                Path binDir = real.getParent();
                Path changelog = binDir == null || binDir.getParent() == null ? null
                        : binDir.getParent().resolve("share/doc/pebble/changelog.Debian.gz");
                if (changelog == null || !Files.isRegularFile(changelog)) {
                    return null;
                }
                try (InputStream in = new GZIPInputStream(Files.newInputStream(changelog));
                        BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    Matcher m = Pattern.compile("^pebble \\((?:\\d+:)?(\\d+(?:\\.\\d+)+)").matcher(
                            Objects.toString(r.readLine(), ""));
                    return m.find() ? m.group(1) : null;
                }
            } catch (IOException e) {
                return null;
            }
        }

        /** The newest flavor whose version {@code tooOld}'s first entry ("path is x.y.z") satisfies. */
        private static String olderFlavorFor(List<String> tooOld) {
            String v = tooOld.get(0).substring(tooOld.get(0).lastIndexOf(' ') + 1);
            for (Flavor f : Flavor.values()) {
                if (compareVersions(v, f.nominalVersion()) >= 0) {
                    return f.name();
                }
            }
            return Flavor.DEBIAN_12.name();
        }

        /** Compares dotted version numbers ("2.10.0" > "2.6.0"). */
        static int compareVersions(String a, String b) {
            String[] x = a.split("\\.");
            String[] y = b.split("\\.");
            for (int i = 0; i < Math.max(x.length, y.length); i++) {
                int c = Integer.compare(i < x.length ? Integer.parseInt(x[i]) : 0, i < y.length ? Integer.parseInt(y[i]) : 0);
                if (c != 0) {
                    return c;
                }
            }
            return 0;
        }

        private static Binaries at(Path pebble) {
            Path cts = pebble.resolveSibling("pebble-challtestsrv");
            if (Files.isRegularFile(pebble) && Files.isExecutable(pebble) && Files.isRegularFile(cts)
                    && Files.isExecutable(cts)) {
                return new Binaries(pebble, cts);
            }
            return null;
        }

        static Path findRepoRoot() {
            String prop = System.getProperty("autocert4j.repoRoot");
            if (prop != null && !prop.isBlank()) {
                return Paths.get(prop).toAbsolutePath().normalize();
            }
            Path dir = Paths.get("").toAbsolutePath();
            for (int i = 0; dir != null && i < 64; i++, dir = dir.getParent()) {
                if (Files.isDirectory(dir.resolve(".pebble")) || Files.isRegularFile(dir.resolve("scripts/get-pebble.sh"))) {
                    return dir;
                }
            }
            return null;
        }
    }
}
