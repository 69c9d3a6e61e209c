package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;

/**
 * Section 5: cold start beside a peer. A fresh JVM ({@link ColdStartChild}) with an empty store,
 * from process spawn until its first certificate is live, and uacme's whole process (account
 * {@code new} + {@code issue}, empty config directory) against the same Pebble 2.6, in
 * interleaved rounds (ABBA). A TCP pass-through ({@link TimingProxy}) in front of Pebble stamps
 * each client's first request, and the child stamps its own steps, so the report says where the
 * time goes.
 *
 * <p>uacme validates http-01 through a hook script that writes the token file, served by a small
 * static server on Pebble's http port (started before and stopped after each uacme round, outside
 * uacme's timing). uacme (libcurl) has no option for a private CA, so it runs in a private mount
 * namespace ({@code unshare -m}) in which the system CA bundle is Pebble's API CA; the namespace
 * setup is outside its timing too.
 *
 * <pre>{@code
 * ColdStartBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class ColdStartBench {
    static final String NAME = "cold.autocert4j.test";

    private ColdStartBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int rounds = quick ? 5 : 7;
        int httpPort = FreePorts.loopback();
        Path work = Files.createTempDirectory("bench-cold");
        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## 5. Cold start beside a peer (uacme)\n\n");
        String uacmeVersion = uacmeVersion();
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.ARI).start();
             TimingProxy proxy = new TimingProxy(pebble.directoryUri().getPort())) {
            String directory = "https://127.0.0.1:" + proxy.port() + "/dir";
            Bench.log("coldstart: Pebble " + pebble.version() + ", uacme " + uacmeVersion);
            Path hook = writeHook(work);
            List<Double> auto = new ArrayList<>(), uacme = new ArrayList<>(), ratios = new ArrayList<>();
            Map<String, List<Double>> phases = new LinkedHashMap<>();
            Map<String, List<Double>> uacmePhases = new LinkedHashMap<>();
            List<String> errors = new ArrayList<>();
            for (int i = 0; i < rounds; i++) {
                double a = Double.NaN, u = Double.NaN;
                for (String who : i % 2 == 0 ? List.of("autocert4j", "uacme") : List.of("uacme", "autocert4j")) {
                    proxy.clear();
                    try {
                        if (who.equals("autocert4j")) {
                            a = runChild(pebble, directory, httpPort, work.resolve("store-" + i), proxy, phases);
                        } else if (uacmeVersion != null) {
                            u = runUacme(pebble, directory, httpPort, work.resolve("uacme-" + i), hook, proxy, uacmePhases);
                        }
                    } catch (Exception e) {
                        errors.add(who + " round " + (i + 1) + ": " + e.getMessage());
                        Bench.log("coldstart: " + who + " failed: " + e);
                    }
                }
                Bench.log(f("coldstart round %d: autocert4j %.3f s, uacme %.3f s", i + 1, a, u));
                if (!Double.isNaN(a)) {
                    auto.add(a);
                }
                if (!Double.isNaN(u)) {
                    uacme.add(u);
                }
                if (!Double.isNaN(a) && !Double.isNaN(u)) {
                    ratios.add(a / u);
                }
            }
            List<Double> breakdown = breakdown(work.resolve("breakdown"));
            md.append(f("Pebble %s (`PebbleServer.Flavor.ARI`: Debian's uacme 1.7.4 cannot parse Pebble 2.10's `dns-persist-01` "
                    + "challenge), `PEBBLE_VA_NOSLEEP=1`, every order validated (http-01). **autocert4j**: a fresh JVM (`java -cp ... "
                    + "ColdStartChild`, no JVM flags, as a new user would start it) builds an `AutoCert` on an empty store, binds "
                    + "`AcmeHttpListener` on Pebble's http port, calls `start()` and waits for the `Issued` event (the certificate is "
                    + "live in the key manager); measured from process spawn to that moment. **uacme %s**: `uacme -y -t EC new` then "
                    + "`uacme -y -t EC issue %s` on an empty config directory (account key, account, certificate key, order, http-01 "
                    + "through a hook script, download), measured over both processes. %d rounds, order alternating "
                    + "(autocert4j first in odd rounds). Ratio = median of the per-round ratios autocert4j / uacme.\n\n",
                    pebble.version(), uacmeVersion == null ? "(not installed)" : uacmeVersion, NAME, rounds));
            md.append("| client | median (s) | min–max (s) | rounds |\n|---|---:|---|---:|\n");
            md.append(f("| autocert4j (fresh JVM to first certificate live) | **%.3f** | %.3f–%.3f | %d |\n", Bench.median(auto),
                    HandshakeBench.min(auto), HandshakeBench.max(auto), auto.size()));
            md.append(f("| uacme (new + issue, whole processes) | **%.3f** | %.3f–%.3f | %d |\n", Bench.median(uacme),
                    HandshakeBench.min(uacme), HandshakeBench.max(uacme), uacme.size()));
            md.append(f("| ratio autocert4j / uacme (per round) | **%.2f** | %.2f–%.2f | %d |\n\n", Bench.median(ratios),
                    HandshakeBench.min(ratios), HandshakeBench.max(ratios), ratios.size()));
            md.append("**Where the time goes** (median over the rounds; each phase ends where the next begins):\n\n| autocert4j phase | median (s) |\n|---|---:|\n");
            phases.forEach((k, v) -> md.append(f("| %s | %.3f |\n", k, Bench.median(v))));
            md.append("\n| uacme phase | median (s) |\n|---|---:|\n");
            uacmePhases.forEach((k, v) -> md.append(f("| %s | %.3f |\n", k, Bench.median(v))));
            md.append("\nFirst-touch cost of the steps before the first ACME request, each timed alone in one more fresh JVM "
                    + "(`ColdStartChild breakdown`, in the order the library meets them; a later step profits from classes an earlier "
                    + "one loaded):\n\n| step | seconds |\n|---|---:|\n");
            String[] steps = {"JVM start to main()", "first EC P-256 key pair", "JSSE SSLContext init",
                "AutoCert.builder()...build() (validation, store probe, issuer, executor)", "AcmeHttpListener.bind (Netty)",
                "self-signed fallback certificate: now made on first need, off this path", "registering BouncyCastle's JCA provider: "
                    + "what build() did before this change, not done any more"};
            for (int k = 0; k < breakdown.size() && k < steps.length; k++) {
                md.append(f("| %s | %.3f |\n", steps[k], breakdown.get(k)));
            }
            md.append('\n');
            if (!errors.isEmpty()) {
                md.append("Errors: ").append(errors).append("\n\n");
            }
            rows.add("cold_first_certificate_s", auto.isEmpty() ? Double.NaN : Bench.median(auto), "s", "info", Rows.Spread.of(auto),
                    f("fresh JVM, empty store, spawn to first certificate live, Pebble %s, %d interleaved rounds", pebble.version(), auto.size()));
            rows.add("uacme_first_certificate_s", uacme.isEmpty() ? Double.NaN : Bench.median(uacme), "s", "info", Rows.Spread.of(uacme),
                    uacmeVersion == null ? "uacme is not installed (apt-get install -y uacme)"
                            : f("uacme %s new + issue, whole processes, same Pebble, %d interleaved rounds", uacmeVersion, uacme.size()));
            rows.add("cold_start_ratio_vs_uacme", ratios.isEmpty() ? Double.NaN : Bench.median(ratios), "ratio", "<= 1.5", Rows.Spread.of(ratios),
                    "median of per-round ratios autocert4j / uacme");
        }
        Bench.write(out, "coldstart", md.toString(), rows);
    }

    /** Spawns {@link ColdStartChild}; returns seconds from spawn to "live" and adds the phases. */
    private static double runChild(PebbleServer pebble, String directory, int httpPort, Path store, TimingProxy proxy,
                                   Map<String, List<Double>> phases) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ColdStartChild.class.getName(),
                directory, pebble.acmeServerCaPem().toString(), Integer.toString(httpPort), store.toString(), NAME)
                .redirectError(store.resolveSibling(store.getFileName() + ".log").toFile());
        long spawn = System.currentTimeMillis();
        Process p = pb.start();
        Map<String, Long> t = readMarks(p);
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("cold-start child hung");
        }
        if (!t.containsKey("live")) {
            throw new IllegalStateException("the child exited (" + p.exitValue() + ") without a live certificate: " + t + "; see "
                    + store.getFileName() + ".log");
        }
        List<Long> conns = proxy.connections();
        long firstCa = conns.isEmpty() ? t.get("started") : conns.get(0);
        add(phases, "spawn to main() (JVM start, class loading)", t.get("main") - spawn);
        add(phases, "main() to build() done (validation, ACME server trust, store probe, issuer, executor)", t.get("built") - t.get("main"));
        add(phases, "AcmeHttpListener.bind (Netty)", t.get("listening") - t.get("built"));
        add(phases, "start() (store read, scheduling)", t.get("started") - t.get("listening"));
        add(phases, "start() to first ACME request (key pairs, acme4j session, TLS client)", firstCa - t.get("started"));
        add(phases, "first ACME request to live (account, order, http-01, finalize, download, swap)", t.get("live") - firstCa);
        return (t.get("live") - spawn) / 1000.0;
    }

    private static double runUacme(PebbleServer pebble, String directory, int httpPort, Path conf, Path hook, TimingProxy proxy,
                                   Map<String, List<Double>> phases) throws Exception {
        Path tokens = Files.createDirectories(conf.resolveSibling(conf.getFileName() + "-tokens"));
        HttpServer http = HttpServer.create(new InetSocketAddress("127.0.0.1", httpPort), 64);
        http.createContext("/.well-known/acme-challenge/", ex -> {
            try (ex) {
                String token = ex.getRequestURI().getPath().substring("/.well-known/acme-challenge/".length());
                Path file = token.matches("[A-Za-z0-9_-]+") ? tokens.resolve(token) : null;
                byte[] body = file != null && Files.exists(file) ? Files.readAllBytes(file) : null;
                ex.sendResponseHeaders(body == null ? 404 : 200, body == null ? -1 : body.length);
                if (body != null) {
                    ex.getResponseBody().write(body);
                }
            }
        });
        http.start();
        try {
            Path script = conf.resolveSibling(conf.getFileName() + ".sh");
            Files.writeString(script, String.join("\n",
                    "set -e",
                    "mount --bind '" + pebble.acmeServerCaPem() + "' /etc/ssl/certs/ca-certificates.crt",
                    "export TOKENS='" + tokens + "'",
                    "t0=$(date +%s%N)",
                    "uacme -y -t EC -b 256 -c '" + conf + "' -a '" + directory + "' -h '" + hook + "' new ops@autocert4j.test",
                    "t1=$(date +%s%N)",
                    "uacme -y -t EC -b 256 -c '" + conf + "' -a '" + directory + "' -h '" + hook + "' issue " + NAME,
                    "t2=$(date +%s%N)",
                    "test -s '" + conf + "/" + NAME + "/cert.pem'",
                    "echo \"T $t0 $t1 $t2\"", ""));
            Path log = conf.resolveSibling(conf.getFileName() + ".log");
            Process p = new ProcessBuilder("unshare", "-m", "sh", script.toString()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(90, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException("uacme hung");
            }
            String text = Files.readString(log);
            String line = text.lines().filter(l -> l.startsWith("T ")).reduce((a, b) -> b).orElse(null);
            if (p.exitValue() != 0 || line == null) {
                throw new IllegalStateException("uacme failed (exit " + p.exitValue() + "): " + text.lines().limit(20).toList());
            }
            String[] f = line.split(" ");
            long t0 = Long.parseLong(f[1]) / 1_000_000, t1 = Long.parseLong(f[2]) / 1_000_000, t2 = Long.parseLong(f[3]) / 1_000_000;
            List<Long> conns = proxy.connections();
            long firstCa = conns.isEmpty() ? t0 : conns.get(0);
            long firstIssueCa = conns.stream().filter(c -> c >= t1).findFirst().orElse(t1);
            add(phases, "`new`: spawn to first ACME request (account key)", firstCa - t0);
            add(phases, "`new`: first request to exit (account)", t1 - firstCa);
            add(phases, "`issue`: spawn to first ACME request (certificate key)", firstIssueCa - t1);
            add(phases, "`issue`: first request to exit (order, http-01, finalize, download)", t2 - firstIssueCa);
            return (t2 - t0) / 1000.0;
        } finally {
            http.stop(0);
        }
    }

    private static Path writeHook(Path work) throws IOException {
        Path hook = work.resolve("uacme-hook.sh");
        Files.writeString(hook, String.join("\n",
                "#!/bin/sh",
                "# uacme hook: method type ident token key-authorization; answer http-01 only (non-zero declines the others)",
                "[ \"$2\" = http-01 ] || exit 1",
                "case \"$1\" in",
                "  begin) printf '%s' \"$5\" > \"$TOKENS/$4\" ;;",
                "  done|failed) rm -f \"$TOKENS/$4\" ;;",
                "esac", ""));
        Files.setPosixFilePermissions(hook, PosixFilePermissions.fromString("rwx------"));
        return hook;
    }

    /** Seconds of each breakdown step (median of 3 fresh JVMs). */
    private static List<Double> breakdown(Path dir) throws Exception {
        String[] labels = {"main", "ec-keygen-done", "jsse-init-done", "autocert-built", "listener-bound", "fallback-made", "bc-provider-done"};
        List<List<Double>> runs = new ArrayList<>();
        for (int r = 0; r < 3; r++) {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            long spawn = System.currentTimeMillis();
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), ColdStartChild.class.getName(), "breakdown",
                    Files.createDirectories(dir.resolve("r" + r)).toString()).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            Map<String, Long> t = readMarks(p);
            p.waitFor(60, TimeUnit.SECONDS);
            List<Double> steps = new ArrayList<>();
            long prev = spawn;
            for (String l : labels) {
                Long v = t.get(l);
                if (v == null) {
                    break;
                }
                steps.add((v - prev) / 1000.0);
                prev = v;
            }
            runs.add(steps);
        }
        List<Double> med = new ArrayList<>();
        for (int k = 0; k < labels.length; k++) {
            List<Double> v = new ArrayList<>();
            for (List<Double> run : runs) {
                if (k < run.size()) {
                    v.add(run.get(k));
                }
            }
            if (!v.isEmpty()) {
                med.add(Bench.median(v));
            }
        }
        return med;
    }

    private static Map<String, Long> readMarks(Process p) throws IOException {
        Map<String, Long> t = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String[] f = line.split(" ");
                if (f.length == 3 && f[0].equals("T")) {
                    t.put(f[1], Long.parseLong(f[2]));
                }
            }
        }
        return t;
    }

    private static void add(Map<String, List<Double>> phases, String phase, long millis) {
        phases.computeIfAbsent(phase, k -> new ArrayList<>()).add(millis / 1000.0);
    }

    private static String uacmeVersion() {
        try {
            Process p = new ProcessBuilder("uacme", "-V").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return v.isEmpty() ? null : v.replaceAll("^uacme:?\\s*(version\\s*)?", "").lines().findFirst().orElse(v);
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }
}
