package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;

/**
 * Section 5: cold start beside a peer, <b>no proxy in between</b>. Whole-process wall clock from spawn to a verified
 * certificate: a fresh JVM ({@link ColdStartChild}) with an empty store, from spawn until the moment its "live" line (printed
 * right after its first certificate is live) reaches this process (spawn to exit is listed too, see {@link #runChild}),
 * and uacme's whole processes ({@code new} + {@code issue}, empty config directory),
 * both talking straight to the same Pebble; every certificate is checked afterwards (chain signatures up to Pebble's
 * issuance root, name), outside the timing. The JVM runs in three variants, interleaved with uacme in rotating order:
 * Java 17 without flags (a new user's first start), Java 17 with an AppCDS archive, Java 25 with an AOT cache (the
 * start-up recipe of docs/startup.md; each archive is written by one training run against the same Pebble first).
 *
 * <p>uacme validates http-01 through a hook script that writes the token file, served by a small static server on
 * Pebble's http port (started before and stopped after each uacme round, outside uacme's timing). uacme (libcurl) has
 * no option for a private CA, so it runs in a private mount namespace ({@code unshare -m}) in which the system CA
 * bundle is Pebble's API CA; the namespace setup is outside its timing too.
 *
 * <pre>{@code
 * ColdStartBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class ColdStartBench {
    static final String NAME = "cold.autocert4j.test";
    static final String UACME = "uacme";
    static final String PLAIN = "java17";
    static final String CDS = "java17-appcds";
    static final String AOT = "java25-aot-cache";
    static final String JDK_PROVIDER = "java17-jdk-provider";
    /**
     * The start-up recipe's one flag beyond the archive (docs/startup.md): Netty's allocator JFR events off, which a
     * Netty host otherwise registers at its first pooled allocation (OpenSSL's start-up in the quickstart).
     */
    static final String NETTY_JFR_OFF = "-Dio.netty.jfr.enabled=false";

    private ColdStartBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int rounds = quick ? 5 : 7;
        int httpPort = FreePorts.loopback();
        Path work = Files.createTempDirectory("bench-cold");
        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## 5. Cold start beside a peer (uacme), no proxy\n\n");
        String uacmeVersion = uacmeVersion();
        String java17 = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String java25 = System.getProperty("bench.java25", "/usr/lib/jvm/temurin-25-jdk-amd64/bin/java");
        String cp = childClassPath();
        boolean jarsOnly = java.util.Arrays.stream(cp.split(java.io.File.pathSeparator)).allMatch(e -> e.endsWith(".jar"));
        List<String> notes = new ArrayList<>();
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.ARI).start()) {
            String directory = pebble.directoryUri().toString();
            X509Certificate root = pebble.issuanceRoot();
            Bench.log("coldstart: Pebble " + pebble.version() + ", uacme " + uacmeVersion + ", no proxy: " + directory);
            Path hook = writeHook(work);
            // The JVM variants: command prefix (java + flags) per label; the archives come from one training run each.
            Map<String, List<String>> jvms = new LinkedHashMap<>();
            jvms.put(PLAIN, List.of(java17, "-cp", cp));
            String withoutTcnative = withoutTcnative(cp);
            if (withoutTcnative.equals(cp)) {
                notes.add("the JDK-provider variant was not measured: no netty-tcnative jar on the quickstart's class path");
            } else {
                // A user who opts out of netty-tcnative: AutoCertSsl.serverContext then builds a JDK context (issue 23).
                jvms.put(JDK_PROVIDER, List.of(java17, "-cp", withoutTcnative));
            }
            if (!jarsOnly) {
                notes.add("AppCDS and the AOT cache were not measured: the class path has a directory (bench.sh passes jars only)");
            } else {
                Path jsa = work.resolve("app.jsa");
                String err = train(List.of(java17, "-XX:ArchiveClassesAtExit=" + jsa, NETTY_JFR_OFF, "-cp", cp), pebble, directory, httpPort, work.resolve("train-cds"));
                if (err == null && Files.size(jsa) > 0) {
                    jvms.put(CDS, List.of(java17, "-XX:SharedArchiveFile=" + jsa, "-Xshare:auto", NETTY_JFR_OFF, "-cp", cp));
                    notes.add(f("AppCDS archive (Java 17, dynamic): %.1f MB", Files.size(jsa) / 1048576.0));
                } else {
                    notes.add("AppCDS training run failed: " + err);
                }
                if (Files.isExecutable(Path.of(java25))) {
                    Path aot = work.resolve("app.aot");
                    String err25 = train(List.of(java25, "-XX:AOTCacheOutput=" + aot, NETTY_JFR_OFF, "-cp", cp), pebble, directory, httpPort, work.resolve("train-aot"));
                    if (err25 == null && Files.exists(aot) && Files.size(aot) > 0) {
                        jvms.put(AOT, List.of(java25, "-XX:AOTCache=" + aot, NETTY_JFR_OFF, "-cp", cp));
                        notes.add(f("AOT cache (Java 25, `%s`): %.1f MB", javaVersion(java25), Files.size(aot) / 1048576.0));
                    } else {
                        notes.add("Java 25 AOT-cache training run failed: " + err25);
                    }
                } else {
                    notes.add("no Java 25 at " + java25 + " (BENCH_JAVA25): the AOT cache was not measured");
                }
            }
            List<String> variants = new ArrayList<>(jvms.keySet());
            if (uacmeVersion != null) {
                variants.add(UACME);
            }
            Map<String, List<Double>> seconds = new LinkedHashMap<>();
            Map<String, List<Double>> ratios = new LinkedHashMap<>();
            Map<String, Map<String, List<Double>>> phases = new LinkedHashMap<>();
            Map<String, Map<String, List<Double>>> cpu = new LinkedHashMap<>(); // per variant: ms by thread group
            Map<String, List<Double>> uacmePhases = new LinkedHashMap<>();
            List<String> errors = new ArrayList<>();
            if (uacmeVersion != null) {
                // Not counted: uacme's first run of every section took ~5.3 s, all of it in `issue` (the others 0.27-0.28 s;
                // runs of 0910047 and before). Suspected, not verified: in the first run this JVM's token server (the JDK
                // HttpServer that answers Pebble's validation for uacme) runs cold code, the validation is not done at
                // uacme's first status poll, and uacme 1.7's polling backoff then waits. One run warms the harness's
                // server; each measured uacme is still a new process. The next full run shows whether the outlier is gone.
                try {
                    double warm = runUacme(pebble, directory, httpPort, work.resolve("uacme-warm-up"), hook, root, new LinkedHashMap<>());
                    Bench.log(f("coldstart: uacme warm-up run (not counted): %.3f s", warm));
                } catch (Exception e) {
                    Bench.log("coldstart: uacme warm-up run failed (the rounds will say why): " + e);
                }
            }
            for (int i = 0; i < rounds; i++) {
                List<String> order = new ArrayList<>(variants);
                java.util.Collections.rotate(order, i); // each variant goes first, second, ... in turn
                Map<String, Double> got = new LinkedHashMap<>();
                for (String v : order) {
                    Path dir = work.resolve(v + "-" + i);
                    try {
                        double s = v.equals(UACME) ? runUacme(pebble, directory, httpPort, dir, hook, root, uacmePhases)
                                : runChild(jvms.get(v), directory, pebble, httpPort, dir, root, phases.computeIfAbsent(v, k -> new LinkedHashMap<>()),
                                        cpu.computeIfAbsent(v, k -> new TreeMap<>()));
                        got.put(v, s);
                        seconds.computeIfAbsent(v, k -> new ArrayList<>()).add(s);
                    } catch (Exception e) {
                        errors.add(v + " round " + (i + 1) + ": " + e.getMessage());
                        Bench.log("coldstart: " + v + " failed: " + e);
                    }
                }
                Double u = got.get(UACME);
                for (String v : jvms.keySet()) {
                    if (u != null && got.containsKey(v)) {
                        ratios.computeIfAbsent(v, k -> new ArrayList<>()).add(got.get(v) / u);
                    }
                }
                Bench.log(f("coldstart round %d (%s): %s", i + 1, String.join(",", order), got));
            }
            List<Double> breakdown = breakdown(work.resolve("breakdown"));

            md.append(f("Pebble %s (`PebbleServer.Flavor.ARI`: Debian's uacme 1.7.4 cannot parse Pebble 2.10's `dns-persist-01` "
                    + "challenge), `PEBBLE_VA_NOSLEEP=1`, every order validated (http-01). **Both clients talk straight to Pebble** "
                    + "(no pass-through in between). **autocert4j**: a fresh JVM (`ColdStartChild`) builds an `AutoCert` on an empty "
                    + "store and does what the README's Netty quickstart does (port 80 with `AcmeChallengeHandler` on Pebble's http port, "
                    + "`start()`, then `AutoCertTls.forServer` and port 443 while the order runs; class path: the quickstart's jars in Maven's order, "
                    + "autocert4j-netty first, as `dependency:build-classpath` lists them), waits for the `Issued` event (the "
                    + "certificate is live in the key manager) and halts; measured from process spawn to the moment its `live` line "
                    + "(printed right after the event) reaches the parent. Spawn to process exit is listed as well but not compared: "
                    + "after `live` every JVM spends about 0.3 s in HotSpot's exit, which waits up to 30 x 10 ms for threads in native "
                    + "code (here the selector threads of Netty and of the JDK HTTP client, in `epoll_wait`) to block "
                    + "(`VM_Exit::wait_for_threads_in_native_to_block`, src/hotspot/share/runtime/vmOperations.cpp; "
                    + "`UserThreadWaitAttemptsAtExit` on Java 25), and a server keeps running after its certificate is live anyway. "
                    + "**uacme %s**: "
                    + "`uacme -y -t EC new` then `uacme -y -t EC issue %s` on an empty config directory (account key, account, "
                    + "certificate key, order, http-01 through a hook script, download), from the first spawn to the second exit. "
                    + "Every certificate is verified afterwards, outside the timing (chain signatures up to Pebble's issuance root, "
                    + "name); uacme's figure ends when its `issue` process exits, right after writing the certificate. %d rounds; the "
                    + "order rotates every round (each variant first in turn). Ratio = median of the per-round "
                    + "ratios JVM variant / uacme. JVM variants: **%s** = Java 17, no flags (a new user's first start); **%s** = Java 17 "
                    + "with a dynamic AppCDS archive (`-XX:ArchiveClassesAtExit` on one training run against the same Pebble, then "
                    + "`-XX:SharedArchiveFile`); **%s** = Java 25 with an AOT cache (`-XX:AOTCacheOutput` on one training run, then "
                    + "`-XX:AOTCache`); both recipes with `" + NETTY_JFR_OFF + "` at training and use (docs/startup.md: Netty's allocator JFR "
                    + "events off); **%s** = Java 17, no flags, the quickstart's class path without the netty-tcnative jars (a user "
                    + "who opts out of OpenSSL: `AutoCertSsl.serverContext` builds a JDK context). %s.\n\n", pebble.version(),
                    uacmeVersion == null ? "(not installed)" : uacmeVersion, NAME, rounds, PLAIN, CDS, AOT, JDK_PROVIDER, String.join("; ", notes)));
            md.append("| client | median (s) | min–max (s) | rounds | ratio to uacme (median of rounds) | min–max |\n|---|---:|---|---:|---:|---|\n");
            for (String v : variants) {
                List<Double> s = seconds.getOrDefault(v, List.of()), r = ratios.getOrDefault(v, List.of());
                md.append(f("| %s | **%.3f** | %.3f–%.3f | %d | %s | %s |\n", v, Bench.median(s), HandshakeBench.min(s), HandshakeBench.max(s),
                        s.size(), v.equals(UACME) ? "—" : f("**%.2f**", Bench.median(r)), v.equals(UACME) ? "" : f("%.2f–%.2f",
                                HandshakeBench.min(r), HandshakeBench.max(r))));
            }
            md.append("\n**Where the time goes** (median over the rounds, from the child's own timestamps; each phase ends where the next begins):\n\n");
            variantTable(md, "phase", phases, v -> f("%.3f", Bench.median(v)));
            cpuTable(md, cpu);
            md.append("\n| uacme phase | median (s) |\n|---|---:|\n");
            uacmePhases.forEach((k, v) -> md.append(f("| %s | %.3f |\n", k, Bench.median(v))));
            md.append("\nFirst-touch cost of the steps before the first ACME request, each timed alone in one more fresh Java 17 JVM "
                    + "(`ColdStartBreakdown`, median of 3, in the order the library meets them; a later step profits from classes an "
                    + "earlier one loaded):\n\n| step | seconds |\n|---|---:|\n");
            String[] steps = {"JVM start to main()", "first EC P-256 key pair", "JSSE SSLContext init",
                "AutoCert.builder()...build() (validation, store probe, issuer, executor)", "AcmeHttpListener.bind (Netty)",
                "self-signed fallback certificate (made on first need, off this path)", "registering BouncyCastle's JCA provider "
                    + "(not done by the library; for comparison)"};
            for (int k = 0; k < breakdown.size() && k < steps.length; k++) {
                md.append(f("| %s | %.3f |\n", steps[k], breakdown.get(k)));
            }
            md.append('\n');
            if (!errors.isEmpty()) {
                md.append("Errors: ").append(errors).append("\n\n");
            }
            List<Double> plain = seconds.getOrDefault(PLAIN, List.of()), uacme = seconds.getOrDefault(UACME, List.of());
            String why = uacmeVersion == null ? "uacme is not installed (Fix: scripts/get-uacme.sh)" : errors.isEmpty() ? "" : "errors: " + errors;
            rows.add("cold_first_certificate_s", plain.isEmpty() ? Double.NaN : Bench.median(plain), "s", "info", Rows.Spread.of(plain),
                    f("Java 17, no flags: fresh JVM, empty store, spawn to the first certificate being live, Pebble %s, no proxy, "
                            + "median of %d rotating rounds", pebble.version(), plain.size()));
            rows.add("uacme_first_certificate_s", uacme.isEmpty() ? Double.NaN : Bench.median(uacme), "s", "info", Rows.Spread.of(uacme),
                    uacmeVersion == null ? why : f("uacme %s new + issue, whole processes, same Pebble, no proxy, %d rounds", uacmeVersion,
                            uacme.size()));
            List<Double> plainExit = phases.getOrDefault(PLAIN, Map.of()).getOrDefault("= spawn to process exit (not counted)", List.of());
            rows.add("cold_first_certificate_exit_s", plainExit.isEmpty() ? Double.NaN : Bench.median(plainExit), "s", "info",
                    Rows.Spread.of(plainExit), "Java 17, no flags: spawn to process exit (halt right after live; includes HotSpot's "
                            + "~0.3 s exit wait for threads in native code, not compared with uacme)");
            List<Double> rp = ratios.getOrDefault(PLAIN, List.of());
            rows.add("cold_start_ratio_vs_uacme", rp.isEmpty() ? Double.NaN : Bench.median(rp), "ratio", "<= 2.5", Rows.Spread.of(rp),
                    "Java 17 without flags: median of the per-round ratios autocert4j / uacme, whole processes, no proxy" + (why.isEmpty() ? "" : "; " + why));
            List<Double> jdkSeconds = seconds.getOrDefault(JDK_PROVIDER, List.of()), jdkRatios = ratios.getOrDefault(JDK_PROVIDER, List.of());
            if (jvms.containsKey(JDK_PROVIDER)) {
                rows.add("cold_first_certificate_jdk_provider_s", jdkSeconds.isEmpty() ? Double.NaN : Bench.median(jdkSeconds), "s", "info",
                        Rows.Spread.of(jdkSeconds), "Java 17, no flags, without netty-tcnative (JDK provider): spawn to the first "
                                + "certificate being live, as cold_first_certificate_s");
                rows.add("cold_start_jdk_provider_ratio_vs_uacme", jdkRatios.isEmpty() ? Double.NaN : Bench.median(jdkRatios), "ratio", "info",
                        Rows.Spread.of(jdkRatios), JDK_PROVIDER + ": median of the per-round ratios to uacme");
            }
            String better = null;
            for (String v : List.of(CDS, AOT)) {
                List<Double> r = ratios.getOrDefault(v, List.of());
                if (!r.isEmpty()) {
                    rows.add("cold_start_" + (v.equals(CDS) ? "appcds17" : "aot25") + "_ratio_vs_uacme", Bench.median(r), "ratio", "info",
                            Rows.Spread.of(r), v + ": median of the per-round ratios to uacme");
                    if (better == null || Bench.median(r) < Bench.median(ratios.get(better))) {
                        better = v;
                    }
                }
            }
            String recipe = better == null ? "none measured: " + String.join("; ", notes)
                    : better.equals(CDS) ? "Java 17 AppCDS (-XX:ArchiveClassesAtExit on a training run, then -XX:SharedArchiveFile; " + NETTY_JFR_OFF + ")"
                    : "Java 25 AOT cache (-XX:AOTCacheOutput on a training run, then -XX:AOTCache; " + NETTY_JFR_OFF + ")";
            List<Double> bs = better == null ? List.of() : seconds.get(better), br = better == null ? List.of() : ratios.get(better);
            rows.add("cold_first_certificate_aot_s", bs.isEmpty() ? Double.NaN : Bench.median(bs), "s", "info", Rows.Spread.of(bs),
                    "the better start-up recipe: " + recipe + "; spawn to live as above");
            rows.add("cold_start_aot_ratio_vs_uacme", br.isEmpty() ? Double.NaN : Bench.median(br), "ratio", "<= 1.5", Rows.Spread.of(br),
                    "the better of AppCDS on 17 and the AOT cache on 25 (docs/startup.md), median of the per-round ratios to uacme: " + recipe);
        }
        Bench.write(out, "coldstart", md.toString(), rows);
    }

    /** {@code cp} without the netty-tcnative jars: the quickstart of a user who opts out of OpenSSL (the JDK provider then). */
    static String withoutTcnative(String cp) {
        return java.util.Arrays.stream(cp.split(java.io.File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().startsWith("netty-tcnative"))
                .collect(java.util.stream.Collectors.joining(java.io.File.pathSeparator));
    }

    /**
     * The fresh JVM's class path: the README's Netty quickstart dependencies as a user adds them (bench.sh's
     * {@code bench.quickstartCp}: autocert4j-netty and what it brings, optional jars left out, in Maven's order, then
     * slf4j-simple and this module's classes), not the benchmark module's whole class path (PostgreSQL driver, pool, testkit), whose extra
     * jars a new user's server would not open. Outside bench.sh: this JVM's class path.
     */
    private static String childClassPath() {
        return System.getProperty("bench.quickstartCp", System.getProperty("java.class.path"));
    }

    /** One training run (a full cold start to a certificate, orderly exit); null if it worked, else why not. */
    private static String train(List<String> jvm, PebbleServer pebble, String directory, int httpPort, Path store) {
        try {
            List<String> cmd = new ArrayList<>(jvm);
            cmd.addAll(List.of(ColdStartChild.class.getName(), directory,
                    pebble.acmeServerCaPem().toString(), Integer.toString(httpPort), store.toString(), NAME, "exit"));
            Path log = store.resolveSibling(store.getFileName() + ".log");
            long t0 = System.nanoTime();
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            if (!p.waitFor(180, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "training run hung (180 s); see " + log;
            }
            Bench.log(f("coldstart: training run %s: exit %d in %.1f s", jvm, p.exitValue(), (System.nanoTime() - t0) / 1e9));
            return p.exitValue() == 0 ? null : "exit " + p.exitValue() + ": " + Files.readString(log).lines().limit(5).toList();
        } catch (IOException | InterruptedException e) {
            return e.toString();
        }
    }

    /**
     * Spawns {@link ColdStartChild} with {@code jvm}; returns seconds from spawn to the certificate being live (the
     * moment the child's {@code T live} line reaches this process, on this process's monotonic clock); adds the phases
     * (from the child's wall-clock marks), spawn to process exit and the clock check; verifies the certificate.
     *
     * <p>Why not spawn to exit: the child halts right after "live" (and its reading of its threads' CPU,
     * {@link ColdStartThreadCpu}), and HotSpot's exit waits up to 300 ms for threads
     * that are in native code to block ({@code VM_Exit::wait_for_threads_in_native_to_block}, hotspot
     * src/hotspot/share/runtime/vmOperations.cpp: {@code max_wait_user_thread = 30} attempts of 10 ms; on Java 25 the
     * product flag {@code UserThreadWaitAttemptsAtExit}, default 30). Any selector thread in {@code epoll_wait} (Netty's
     * event loop, the JDK HTTP client's selector manager) is such a thread, so every such JVM needs about 0.3 s to end,
     * however early its work is done. uacme writes its certificate and exits within a millisecond, so its exit is its
     * "certificate written"; the JVM's is "live", a server keeps running after it.
     */
    private static double runChild(List<String> jvm, String directory, PebbleServer pebble, int httpPort, Path store, X509Certificate root,
                                   Map<String, List<Double>> phases, Map<String, List<Double>> cpuMs) throws Exception {
        List<String> cmd = new ArrayList<>(jvm);
        cmd.addAll(List.of(ColdStartChild.class.getName(), directory,
                pebble.acmeServerCaPem().toString(), Integer.toString(httpPort), store.toString(), NAME));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(store.resolveSibling(store.getFileName() + ".log").toFile());
        long spawnMs = System.currentTimeMillis();
        long spawn = System.nanoTime();
        Process p = pb.start();
        Map<String, Long> arrived = new LinkedHashMap<>();
        Map<String, Long> threadCpu = new LinkedHashMap<>();
        Map<String, Long> t = readMarks(p, arrived, threadCpu);
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("cold-start child hung");
        }
        double exit = (System.nanoTime() - spawn) / 1e9;
        if (!t.containsKey("live") || !arrived.containsKey("live")) {
            throw new IllegalStateException("the child exited (" + p.exitValue() + ") without a live certificate: " + t + "; see "
                    + store.getFileName() + ".log");
        }
        double live = (arrived.get("live") - spawn) / 1e9;
        verify(storedChain(store), root, "autocert4j's store " + store);
        add(phases, "spawn to main() (JVM start, class loading)", t.get("main") - spawnMs);
        add(phases, "main() to build() done", t.get("built") - t.get("main"));
        add(phases, "port 80 bound (Netty, AcmeChallengeHandler)", t.get("listening") - t.get("built"));
        add(phases, "start()", t.get("started") - t.get("listening"));
        add(phases, "start() to port 443 bound (AutoCertTls.forServer: the TLS provider's start-up, OpenSSL's or in " + JDK_PROVIDER + " the JDK's; beside the order)", t.get("https") - t.get("started"));
        add(phases, "port 443 bound to live (the order: keys, account, http-01, finalize, download, swap)", t.get("live") - t.get("https"));
        add(phases, "= spawn to live (the figure compared with uacme)", Math.round(live * 1000));
        add(phases, "live to process exit (the CPU table's reading of /proc, then HotSpot's exit wait, see above; not counted)", Math.round((exit - live) * 1000));
        add(phases, "= spawn to process exit (not counted)", Math.round(exit * 1000));
        // Clock check: the child's wall-clock "live" mark against this process's reading of the line (same machine clock).
        add(phases, "clock check: child's live mark minus its arrival here (should be about 0)",
                (t.get("live") - spawnMs) - Math.round(live * 1000));
        threadCpu.forEach((group, ms) -> cpuMs.computeIfAbsent(group, k -> new ArrayList<>()).add((double) ms));
        return live;
    }

    private static double runUacme(PebbleServer pebble, String directory, int httpPort, Path conf, Path hook, X509Certificate root,
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
            String[] fl = line.split(" ");
            long t0 = Long.parseLong(fl[1]), t1 = Long.parseLong(fl[2]), t2 = Long.parseLong(fl[3]);
            verify(certificates(Files.readString(conf.resolve(NAME).resolve("cert.pem"))), root, "uacme's " + conf.resolve(NAME));
            add(phases, "`new` (account key, account), whole process", (t1 - t0) / 1_000_000);
            add(phases, "`issue` (certificate key, order, http-01, finalize, download), whole process", (t2 - t1) / 1_000_000);
            return (t2 - t0) / 1e9;
        } finally {
            http.stop(0);
        }
    }

    private static final Pattern PEM_CERT = Pattern.compile("-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----");

    static List<X509Certificate> certificates(String pem) throws Exception {
        CertificateFactory cf = CertificateFactory.getInstance("X.509");
        List<X509Certificate> out = new ArrayList<>();
        Matcher m = PEM_CERT.matcher(pem);
        while (m.find()) {
            out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(m.group().getBytes(StandardCharsets.US_ASCII))));
        }
        return out;
    }

    /** The chain the store holds for {@link #NAME}: the .pem file under the store whose first certificate covers it. */
    private static List<X509Certificate> storedChain(Path store) throws Exception {
        try (var files = Files.walk(store)) {
            for (Path p : files.filter(x -> x.toString().endsWith(".pem")).toList()) {
                List<X509Certificate> c = certificates(Files.readString(p));
                if (!c.isEmpty() && BenchCa.covers(c.get(0), NAME)) {
                    return c;
                }
            }
        }
        throw new IllegalStateException("no certificate for " + NAME + " in the store " + store);
    }

    /** Leaf names {@link #NAME}, is valid now, and every certificate is signed by the next, the last by {@code root}. */
    static void verify(List<X509Certificate> chain, X509Certificate root, String where) throws Exception {
        if (chain.isEmpty() || !BenchCa.covers(chain.get(0), NAME)) {
            throw new IllegalStateException(where + ": no certificate for " + NAME);
        }
        chain.get(0).checkValidity();
        for (int i = 0; i < chain.size(); i++) {
            X509Certificate issuer = i + 1 < chain.size() ? chain.get(i + 1) : root;
            if (i + 1 == chain.size() && chain.get(i).getSubjectX500Principal().equals(root.getSubjectX500Principal())) {
                issuer = root; // a chain that ends with the root itself
            }
            chain.get(i).verify(issuer.getPublicKey());
        }
    }

    private static String javaVersion(String java) {
        try {
            Process p = new ProcessBuilder(java, "-version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).lines().findFirst().orElse("?");
            p.waitFor(10, TimeUnit.SECONDS);
            return v;
        } catch (IOException | InterruptedException e) {
            return "?";
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
            Process p = new ProcessBuilder(java, "-cp", childClassPath(), ColdStartBreakdown.class.getName(),
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

    /**
     * The children's CPU from spawn to "live" by thread group (median ms over the rounds): on a 2-core machine the cold
     * start is CPU-bound, and this says whose CPU it is (the JIT's compiler threads, the thread running {@code main},
     * the library's threads, ...).
     */
    private static void cpuTable(StringBuilder md, Map<String, Map<String, List<Double>>> cpuMs) {
        if (cpuMs.values().stream().allMatch(Map::isEmpty)) {
            return;
        }
        md.append("\n**CPU by thread group, spawn to live** (ms, median over the rounds; Linux `/proc/self/task/*/stat` read "
                + "right after the live mark by `ColdStartThreadCpu`, clock ticks of 10 ms; \"ended threads\" = the process's total, read "
                + "after the scan, less the living threads (e.g. the library's preparing and directory threads; an upper bound); "
                + "\"this reading\" = what the process used during the scan; \"process total\" includes both):\n\n");
        variantTable(md, "thread group", cpuMs, v -> v.isEmpty() ? "—" : f("%.0f", Bench.median(v)));
    }

    /**
     * A markdown table with a row per name found in any variant (in the order first seen) and a column per variant;
     * {@code cell} renders one variant's values of a row (an empty list where that variant has none).
     */
    private static void variantTable(StringBuilder md, String firstColumn, Map<String, Map<String, List<Double>>> byVariant,
                                     Function<List<Double>, String> cell) {
        md.append("| ").append(firstColumn).append(" | ").append(String.join(" | ", byVariant.keySet())).append(" |\n|---|")
                .append("---:|".repeat(byVariant.size())).append('\n');
        for (String row : byVariant.values().stream().flatMap(m -> m.keySet().stream()).distinct().toList()) {
            md.append("| ").append(row);
            for (Map<String, List<Double>> m : byVariant.values()) {
                md.append(" | ").append(cell.apply(m.getOrDefault(row, List.of())));
            }
            md.append(" |\n");
        }
    }

    private static Map<String, Long> readMarks(Process p) throws IOException {
        return readMarks(p, new LinkedHashMap<>(), new LinkedHashMap<>());
    }

    /**
     * The child's {@code T label epoch-ms} marks; {@code arrived} gets this process's {@code nanoTime} at each line's arrival,
     * {@code threadCpuMs} its {@code C group ms} lines ({@link ColdStartThreadCpu}).
     */
    private static Map<String, Long> readMarks(Process p, Map<String, Long> arrived, Map<String, Long> threadCpuMs) throws IOException {
        Map<String, Long> t = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                long now = System.nanoTime();
                String[] f = line.split(" ");
                if (f.length == 3 && f[0].equals("T")) {
                    t.put(f[1], Long.parseLong(f[2]));
                    arrived.put(f[1], now);
                } else if (f.length == 3 && f[0].equals("C")) {
                    threadCpuMs.put(f[1].replace('_', ' '), Long.parseLong(f[2])); // ColdStartThreadCpu, after "live"
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
