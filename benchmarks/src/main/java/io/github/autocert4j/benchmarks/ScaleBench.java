package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 6: 100,000 managed certificates in one JVM (10,000 in a quick run): cold load in a
 * fresh JVM (page cache dropped where possible), heap per certificate after handshakes touched
 * every certificate, and SNI-selected handshake throughput relative to 1 certificate for each
 * provider, with the OpenSSL key material prepared off the handshake path.
 *
 * <pre>{@code
 * ScaleBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class ScaleBench {
    static final int MAX = 100_000;
    static final int CONCURRENCY = 32;
    /** Bump when the store's content changes (v2: a distinct key pair per certificate). */
    static final String STORE_VERSION = "v2-distinct-keys";

    private ScaleBench() {
    }

    static String name(int i) {
        return "s" + i + ".scale.autocert4j.test";
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int n = quick ? 10_000 : MAX;
        int rounds = quick ? 5 : 6;
        Duration round = Duration.ofMillis(quick ? 700 : 2000);
        Duration warm = Duration.ofMillis(quick ? 700 : 2000);
        Path cache = Path.of(System.getProperty("bench.scaleCache", "benchmarks/target/scale-store")).toAbsolutePath();
        Path store = cache.resolve("store");
        String generated = ensureStore(cache, store, n);
        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## 6. Scale: many managed certificates in one JVM\n\n");

        // 1. Cold load in a fresh JVM, page cache dropped first where the OS lets us.
        String dropped = dropPageCache();
        double[] cold = coldLoad(store, n);
        Bench.log(f("scale: cold load of %d in a fresh JVM: build %.2f s + start %.2f s + server context %.2f s (%s)", n, cold[0], cold[1],
                cold[2], dropped));
        // The same again: a fresh JVM, but the files are in the page cache now (separates disk reads from the JVM's work).
        double[] warmCache = coldLoad(store, n);
        Bench.log(f("scale: load of %d in a fresh JVM with a warm page cache: build %.2f s + start %.2f s + server context %.2f s", n,
                warmCache[0], warmCache[1], warmCache[2]));

        // 2. In this JVM: load, prepare OpenSSL key material, touch every certificate with a handshake, measure heap.
        List<String> names = IntStream.range(0, n).mapToObj(ScaleBench::name).toList();
        long heap0 = usedHeap();
        long rss0 = rssKb();
        AutoCert ac = Bench.fromStore(store, names).start();
        long valid = ac.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
        if (valid != n) {
            throw new IllegalStateException("only " + valid + " of " + n + " stored certificates were loaded");
        }
        long heapLoaded = usedHeap();
        List<SslProvider> providers = new ArrayList<>();
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        providers.add(SslProvider.JDK);
        SslContext client = Bench.unverifiedClientContext();
        Map<SslProvider, SslContext> many = new HashMap<>(), one = new HashMap<>();
        double prepareSeconds = Double.NaN;
        int prepared = 0;
        for (SslProvider p : providers) {
            many.put(p, AutoCertSsl.contextBuilder(ac, p).build());
            if (p == SslProvider.OPENSSL) {
                long t0 = System.nanoTime();
                prepared = AutoCertSsl.prepareKeyMaterial(many.get(p), ac);
                prepareSeconds = (System.nanoTime() - t0) / 1e9;
                Bench.log(f("scale: prepared OpenSSL key material for %d certificates in %.1f s", prepared, prepareSeconds));
            }
        }
        long t0 = System.nanoTime();
        long touched = touchAll(many.get(providers.get(0)), client, names);
        double touchSeconds = (System.nanoTime() - t0) / 1e9;
        long heapTouched = usedHeap();
        long rss1 = rssKb();
        double kbLoaded = (heapLoaded - heap0) / 1024.0 / n, kbServing = (heapTouched - heap0) / 1024.0 / n;
        // The heap is pre-touched (-XX:+AlwaysPreTouch in bench.sh), so resident growth beyond the heap's own is native memory.
        double nativeKb = (rss1 - rss0) / (double) n;
        Bench.log(f("scale: heap %.2f KB/cert loaded, %.2f KB/cert after touching every certificate (%d handshakes in %.0f s); rss +%.2f KB/cert",
                kbLoaded, kbServing, touched, touchSeconds, nativeKb));
        Set<String> distinctKeys = distinctKeySample(ac, names);
        AutoCert base = Bench.fromStore(store, List.of(name(0))).start();
        for (SslProvider p : providers) {
            one.put(p, AutoCertSsl.contextBuilder(base, p).build());
            AutoCertSsl.prepareKeyMaterial(one.get(p), base);
        }
        Map<String, byte[]> expected = expectedLeaves(ac, names, base);

        // 3. Handshake throughput, N vs 1, per provider, interleaved rounds.
        EventLoopGroup boss = Bench.serverGroup(1, "scale-boss");
        EventLoopGroup workers = Bench.serverGroup(2, "scale-worker");
        EventLoopGroup clients = Bench.group(2);
        StringBuilder ratioRows = new StringBuilder();
        for (SslProvider p : providers) {
            AtomicLong wrong = new AtomicLong();
            LoadClient.Observer obs = (host, leaf, g) -> {
                try {
                    if (!Arrays.equals(leaf.getEncoded(), expected.get(host))) {
                        wrong.incrementAndGet();
                    }
                } catch (java.security.cert.CertificateEncodingException e) {
                    wrong.incrementAndGet();
                }
            };
            try (TlsServer s1 = new TlsServer(one.get(p), boss, workers); TlsServer sn = new TlsServer(many.get(p), boss, workers)) {
                String first = name(0);
                java.util.function.Supplier<String> random = () -> names.get(ThreadLocalRandom.current().nextInt(n));
                Map<String, Interleaved.Totals> t = Interleaved.run(clients, client, List.of(new Interleaved.Variant("1", s1.address(), () -> first),
                        new Interleaved.Variant("N", sn.address(), random)), obs, CONCURRENCY, warm, rounds, round, f("scale N=%d %s", n, p));
                Interleaved.Totals t1 = t.get("1"), tn = t.get("N");
                List<Double> r = Bench.ratios(tn.roundRates, t1.roundRates), c = Bench.ratios(t1.roundCpu, tn.roundCpu);
                long fails = t1.failures + tn.failures + wrong.get();
                String pid = p == SslProvider.JDK ? "jdk" : "openssl";
                ratioRows.append(f("| %s | %.0f / %.0f | **%.3f** (%.2f–%.2f) | %.0f / %.0f | **%.3f** (%.2f–%.2f) | %d | %d |\n", p, tn.rate(), t1.rate(),
                        Bench.median(r), HandshakeBench.min(r), HandshakeBench.max(r), tn.cpuMicros(), t1.cpuMicros(), Bench.median(c),
                        HandshakeBench.min(c), HandshakeBench.max(c), fails, tn.resumed + t1.resumed));
                rows.add(f("scale_%s_ratio_%s", quick ? "10k" : "100k", pid), fails == 0 ? Bench.median(r) : Double.NaN, "ratio", ">= 0.95",
                        Rows.Spread.of(r), f("handshakes/s with a random SNI name out of %,d vs 1 certificate, median of %d interleaved rounds%s%s", n,
                                rounds, p == SslProvider.OPENSSL ? f(", key material prepared for %,d certificates beforehand", prepared) : "",
                                fails == 0 ? "" : f("; %d failures or wrong certificates", fails)));
                rows.add(f("scale_%s_cpu_ratio_%s", quick ? "10k" : "100k", pid), fails == 0 ? Bench.median(c) : Double.NaN, "ratio", ">= 0.95",
                        Rows.Spread.of(c), "server CPU per handshake, 1 certificate / N, median of the same rounds");
            }
        }
        rows.add("heap_per_cert_serving_kb", kbServing, "KB", "<= 10", null,
                f("(used heap after loading %,d certificates, preparing OpenSSL key material and a handshake on every certificate - before) / N", n));
        rows.add("heap_per_cert_loaded_kb", kbLoaded, "KB", "info", null, "the same right after start(), before any handshake");
        rows.add("native_per_cert_openssl_kb", nativeKb, "KB", "info", null,
                "growth of resident memory outside the (pre-touched) Java heap per certificate, from before loading to after the handshakes");
        String prov = cold[3] == 1 ? "OpenSSL: every certificate's key material prepared" : "JDK provider: nothing to prepare";
        double coldTotal = cold[0] + cold[1] + cold[2];
        rows.add(f("scale_%s_cold_load_s", quick ? "10k" : "100k"), coldTotal, "s", "<= 10", null,
                f("what a Netty server pays before serving %,d configured certificates, in a fresh JVM (%s): build() %.2f + start() %.2f "
                        + "+ AutoCertSsl.serverContext(autoCert) %.2f s (%s)%s", n, dropped, cold[0], cold[1], cold[2], prov,
                        coldTotal > 10 ? "; MISSED: above 10 s (a lazy switch above a measured size is open, issue 23)" : ""));
        rows.add(f("scale_%s_load_warm_page_cache_s", quick ? "10k" : "100k"), warmCache[0] + warmCache[1] + warmCache[2], "s", "info", null,
                f("the same fresh-JVM load right after, with the files in the page cache: %.2f + %.2f + %.2f s", warmCache[0], warmCache[1],
                        warmCache[2]));
        if (prepared > 0) {
            rows.add("openssl_prepare_us_per_cert", prepareSeconds * 1e6 / prepared, "µs", "info", null,
                    "AutoCertSsl.prepareKeyMaterial: converting each certificate's key material before the first handshake");
        }
        md.append(f("One `AutoCert` managing N = %,d single-name certificates (`s<i>.scale.autocert4j.test`) from a `FileCertStore` written "
                + "beforehand (%s): every certificate has **its own ECDSA P-256 key pair** (distinct public keys checked on a sample of %,d); "
                + "chain = leaf + one intermediate. Renewal checks: no ARI, 30-day interval (no CA contact).\n\n", n, generated, distinctKeys.size()));
        md.append(f("- **Cold load** = what a Netty server pays before serving: `build()` + `start()` + `AutoCertSsl.serverContext(autoCert)` "
                + "(%s) in a **fresh JVM** (`ScaleLoadChild`, no JIT warm-up) after `sync; echo 3 > /proc/sys/vm/drop_caches` (%s): "
                + "**%.2f s** (%.2f + %.2f + %.2f); the same fresh-JVM load right after, with the files in the page cache: %.2f s "
                + "(%.2f + %.2f + %.2f), so the difference is reading %,d files from disk.\n", prov, dropped, coldTotal, cold[0], cold[1],
                cold[2], warmCache[0] + warmCache[1] + warmCache[2], warmCache[0], warmCache[1], warmCache[2], 2 * n));
        md.append(f("- **Heap per certificate** = (used heap after `System.gc()` - before) / N: %.2f KB right after `start()`; **%.2f KB** once "
                + "the OpenSSL context's key material was prepared for every certificate (`AutoCertSsl.prepareKeyMaterial`, %.1f s for %,d, "
                + "i.e. %.0f µs each) and a handshake (server side of an in-memory handshake with the certificate's name as SNI, %,d of "
                + "them, %.0f s) touched every certificate, so every per-certificate cache is included. The process's resident memory (the heap is "
                + "pre-touched, so this growth is outside it) grew by %.2f KB per certificate from before loading to after the handshakes (BoringSSL's copies of key and "
                + "chain held by the key material cache, Netty's buffer pools, JIT code).\n",
                kbLoaded, kbServing, prepareSeconds, prepared, prepareSeconds * 1e6 / Math.max(1, prepared), touched, touchSeconds, nativeKb));
        md.append(f("- **Throughput ratio** = handshakes/s with a uniformly random SNI name out of N divided by handshakes/s of a 1-certificate "
                + "`AutoCert` (same store bundle for its name) in the same JVM, both `AutoCertSsl.contextBuilder(autoCert, provider)` "
                + "(live key manager), OpenSSL contexts prepared with `prepareKeyMaterial`; median of %d interleaved rounds of %.1f s "
                + "(after %.1f s warm-up each), spread = min–max of the per-round ratios. Client as in section 1 (no PKIX verification; "
                + "the served leaf is compared with the one `servedCertificate(name)` reports). *CPU ratio* = server CPU per handshake "
                + "at 1 / at N.\n\n", rounds, round.toMillis() / 1000.0, warm.toMillis() / 1000.0));
        md.append("| provider | hs/s N / 1 | throughput ratio N vs 1 (min–max) | server CPU µs/hs N / 1 | CPU ratio (min–max) | failed | resumed |\n");
        md.append("|---|---|---:|---|---:|---:|---:|\n").append(ratioRows).append('\n');
        ac.close();
        base.close();
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Bench.write(out, "scale", md.toString(), rows);
    }

    /** Server side of one in-memory handshake per name (ClientHello in, server flight out), on 2 threads; returns the count. */
    static long touchAll(SslContext server, SslContext client, List<String> names) throws Exception {
        int threads = 2;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<Long>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            fs.add(pool.submit(() -> {
                long count = 0;
                for (int i = first; i < names.size(); i += threads) {
                    EngineBench.serverFlight(client, names.get(i), () -> server.newEngine(io.netty.buffer.ByteBufAllocator.DEFAULT));
                    count++;
                }
                return count;
            }));
        }
        long total = 0;
        for (Future<Long> f : fs) {
            total += f.get(30, TimeUnit.MINUTES);
        }
        pool.shutdown();
        return total;
    }

    /** Public keys of up to 2,000 sampled certificates: all must differ. */
    static Set<String> distinctKeySample(AutoCert ac, List<String> names) {
        Set<String> keys = new HashSet<>();
        int step = Math.max(1, names.size() / 2000);
        int sampled = 0;
        for (int i = 0; i < names.size(); i += step) {
            sampled++;
            keys.add(java.util.Base64.getEncoder().encodeToString(ac.servedCertificate(names.get(i)).chain().get(0).getPublicKey().getEncoded()));
        }
        if (keys.size() != sampled) {
            throw new IllegalStateException("the scale store shares key pairs: " + keys.size() + " distinct keys among " + sampled + " certificates");
        }
        return keys;
    }

    /** Expected leaf encoding per name (what the live key manager serves); 2,000 sampled leaves checked to cover their name. */
    static Map<String, byte[]> expectedLeaves(AutoCert ac, List<String> names, AutoCert base) throws Exception {
        Map<String, byte[]> m = new HashMap<>(names.size() * 2);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            X509Certificate leaf = ac.servedCertificate(name).chain().get(0);
            if (i % Math.max(1, names.size() / 2000) == 0 && !BenchCa.covers(leaf, name)) {
                throw new IllegalStateException("the certificate served for " + name + " does not cover it");
            }
            m.put(name, leaf.getEncoded());
        }
        byte[] baseLeaf = base.servedCertificate(name(0)).chain().get(0).getEncoded();
        if (!Arrays.equals(baseLeaf, m.get(name(0)))) {
            throw new IllegalStateException("baseline and N-certificate AutoCert serve different leaves for " + name(0));
        }
        return m;
    }

    static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(100); // let concurrent GC phases settle before reading the figure
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    /** Resident set size of this process in KB (VmRSS), or 0. */
    static long rssKb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmRSS:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
        } catch (Exception ignored) {
            // not Linux
        }
        return 0;
    }

    /** Drops the OS page cache (root on Linux); says what happened. */
    static String dropPageCache() {
        try {
            Process sync = new ProcessBuilder("sync").start();
            sync.waitFor(60, TimeUnit.SECONDS);
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
            return "page cache dropped";
        } catch (Exception e) {
            return "page cache NOT dropped: " + e.getClass().getSimpleName() + " " + e.getMessage();
        }
    }

    /**
     * build(), start() and AutoCertSsl.serverContext() seconds of {@link ScaleLoadChild} in a fresh JVM, and 1 if the
     * server context was OpenSSL's (key material prepared for every certificate), else 0.
     */
    static double[] coldLoad(Path store, int n) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx4g", "-cp", System.getProperty("java.class.path"), ScaleLoadChild.class.getName(),
                store.toString(), Integer.toString(n)).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String line = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
                if (l.startsWith("LOAD ")) {
                    line = l;
                }
            }
        }
        if (!p.waitFor(120, TimeUnit.SECONDS) || line == null) {
            p.destroyForcibly();
            throw new IllegalStateException("the cold-load child did not report");
        }
        String[] f = line.split(" ");
        if (Long.parseLong(f[3]) != n) {
            throw new IllegalStateException("the cold-load child loaded " + f[3] + " of " + n);
        }
        return new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[4]), f[5].equals("OPENSSL") ? 1 : 0};
    }

    /**
     * Writes the first {@code needed} certificates of the store (each with its own key pair) once and
     * reuses them while they have > 60 days left; extends an existing store that has fewer.
     */
    static String ensureStore(Path cache, Path store, int needed) throws Exception {
        Path marker = cache.resolve("complete-" + STORE_VERSION);
        int have = 0;
        if (Files.exists(marker)) {
            String[] m = Files.readString(marker).trim().split(" ");
            if (m.length == 2 && System.currentTimeMillis() - Long.parseLong(m[0]) < Duration.ofDays(25).toMillis()) {
                have = Integer.parseInt(m[1]);
            }
        }
        if (have >= needed) {
            return "reused from an earlier run (" + cache.getFileName() + ")";
        }
        BenchCa ca;
        if (have > 0 && Files.exists(cache.resolve("ca/intermediate.key.pem"))) {
            ca = BenchCa.loadWithKeys(cache.resolve("ca"));
        } else {
            have = 0;
            ca = BenchCa.create();
            ca.saveWithKeys(cache.resolve("ca"));
        }
        Bench.log("scale: generating certificates " + have + ".." + (needed - 1) + " into " + store + " (one-time)");
        long t0 = System.nanoTime();
        Files.deleteIfExists(marker);
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> fs = new ArrayList<>();
        int from = have;
        for (int t = 0; t < threads; t++) {
            int first = from + t;
            fs.add(pool.submit(() -> {
                for (int i = first; i < needed; i += threads) {
                    String name = name(i);
                    KeyPair kp = BenchCa.ecKey();
                    BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, name, List.of(name), kp.getPrivate(), ca.chain(kp, List.of(name)));
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get(30, TimeUnit.MINUTES);
        }
        pool.shutdown();
        Files.writeString(marker, System.currentTimeMillis() + " " + needed);
        double s = (System.nanoTime() - t0) / 1e9;
        Bench.log(f("scale: generated %d in %.0f s", needed - from, s));
        return f("%,d of them generated in this run in %.0f s with plain file writes, no fsync", needed - from, s);
    }
}
