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
    /** The default of {@code AutoCertBuilder.lazyLoadAbove} (core's internal LazyStart.DEFAULT_ABOVE; benchmarks use the public API only). */
    static final int LAZY_DEFAULT_ABOVE = 500;
    /** The background sweep's rate bound, certificates per second (LazyStart.SWEEP_RATE_PER_SECOND). */
    static final int SWEEP_RATE = 2_000;

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

        // 1. Cold start in a fresh JVM, page cache dropped first where the OS lets us: with the default lazyLoadAbove (500) a
        // start of N is lazy; the child's Netty host listens, this JVM times first handshakes of names not loaded yet, then the
        // child reports when the background sweep had loaded every certificate.
        String dropped = dropPageCache();
        ColdServe served = coldServe(cache, store, n);
        double[] cold = served.load();
        Bench.log(f("scale: cold start of %d in a fresh JVM (lazy: %,d not loaded): build %.2f s + start %.2f s + server context and "
                + "listening %.2f s (%s); first handshakes p50 %.1f ms, p99 %.1f ms; sweep done %.1f s after start()", n, (long) cold[5],
                cold[0], cold[1], cold[2], dropped, served.p50(), served.p99(), served.sweepSeconds()));
        // The same again: a fresh JVM, but the files are in the page cache now (separates disk reads from the JVM's work).
        double[] warmCache = coldLoad(store, n, "lazy");
        Bench.log(f("scale: load of %d in a fresh JVM with a warm page cache: build %.2f s + start %.2f s + server context %.2f s", n,
                warmCache[0], warmCache[1], warmCache[2]));
        // For comparison: the eager start (lazyLoadAbove(Integer.MAX_VALUE)), every certificate loaded and prepared, cache dropped.
        String droppedEager = dropPageCache();
        double[] eager = coldLoad(store, n, "eager");
        Bench.log(f("scale: eager cold load of %d: build %.2f s + start %.2f s + server context %.2f s (%s)", n, eager[0], eager[1],
                eager[2], droppedEager));

        // 2. In this JVM: load, prepare OpenSSL key material, touch every certificate with a handshake, measure heap.
        List<String> names = IntStream.range(0, n).mapToObj(ScaleBench::name).toList();
        long heap0 = usedHeap();
        long rss0 = rssKb();
        AutoCert ac = Bench.fromStore(store, names, true).start(); // eager: heap and throughput with every certificate loaded
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
        String prov = cold[3] == 1 ? "OpenSSL" : "JDK provider";
        String size = quick ? "10k" : "100k";
        double coldTotal = cold[0] + cold[1] + cold[2];
        String lazyNote = f("lazy loading on: %,d configured certificates > lazyLoadAbove's default %,d, so start() read %,d of them and "
                + "the server context prepared no key material (%,d NOT_LOADED)", n, LAZY_DEFAULT_ABOVE,
                n - (long) cold[5], (long) cold[5]);
        rows.add(f("scale_%s_cold_load_s", size), coldTotal, "s", "<= 10", null,
                f("what a Netty server pays before serving %,d configured certificates, in a fresh JVM (%s): build() %.2f + start() %.2f "
                        + "+ AutoCertSsl.serverContext(autoCert) and the Netty host listening %.2f s (%s); %s%s", n, dropped, cold[0], cold[1],
                        cold[2], prov, lazyNote, coldTotal > 10 ? "; MISSED: above 10 s" : ""));
        rows.add(f("scale_%s_load_warm_page_cache_s", size), warmCache[0] + warmCache[1] + warmCache[2], "s", "info", null,
                f("the same fresh-JVM load (lazy) right after, with the files in the page cache: %.2f + %.2f + %.2f s", warmCache[0], warmCache[1],
                        warmCache[2]));
        rows.add(f("scale_%s_first_handshake_p50_ms", size), served.p50(), "ms", "info", Rows.Spread.of(served.ms()),
                "p50 of first handshakes of names not loaded yet right after the cold start: " + served.how());
        rows.add(f("scale_%s_first_handshake_p99_ms", size), served.p99(), "ms", "info", Rows.Spread.of(served.ms()),
                "p99 of the same: " + served.how());
        rows.add(f("scale_%s_sweep_done_s", size), served.sweepSeconds(), "s", "info", null,
                f("from start() until the background sweep had loaded every certificate (at most %,d/s; %,d VALID then), the first "
                        + "handshakes above running meanwhile; until %s", SWEEP_RATE, served.validAfter(), served.sweepHow()));
        rows.add(f("scale_%s_eager_cold_load_s", size), eager[0] + eager[1] + eager[2], "s", "info", null,
                f("for comparison, the eager start (lazyLoadAbove(Integer.MAX_VALUE)) in a fresh JVM (%s): build() %.2f + start() %.2f "
                        + "+ AutoCertSsl.serverContext(autoCert) %.2f s (%s: every certificate loaded%s)", droppedEager, eager[0], eager[1], eager[2],
                        eager[3] == 1 ? "OpenSSL" : "JDK provider", eager[3] == 1 ? " and its key material prepared" : ""));
        // Does lazyLoadAbove's default still rest on its measurement (eager serving about 1 s or less after lazy there)? 3 pairs,
        // last in the section: they evict the first N names' files from the page cache, which nothing above should start from.
        // A failure here (no python3 for the eviction, a child that did not serve) is this info row's alone.
        List<Double> atDefaultDiff = List.of();
        String atDefaultNote;
        try {
            List<LazyThresholdBench.Run> atDefault = LazyThresholdBench.pairs(cache, LAZY_DEFAULT_ABOVE, 3);
            atDefaultDiff = LazyThresholdBench.differences(atDefault, true);
            Bench.log(f("scale: at lazyLoadAbove's default (%d), eager - lazy time to serving %s s", LAZY_DEFAULT_ABOVE,
                    LazyThresholdBench.spread(atDefaultDiff)));
            atDefaultNote = f("at N = %d (lazyLoadAbove's default), how much later an eager start serves than a lazy one: fresh JVMs "
                    + "(LazyThresholdBench, the N certificates' files evicted from the page cache), build + start + AutoCertSsl.serverContext "
                    + "+ Netty listening, eager %s s, lazy %s s, %d interleaved pairs; the default rests on this being about 1 s or less "
                    + "(docs/benchmarks.md, Where lazy loading starts); %s", LAZY_DEFAULT_ABOVE,
                    LazyThresholdBench.spread(atDefault.stream().filter(r -> r.mode().equals("eager")).toList(), LazyThresholdBench.Run::toServing),
                    LazyThresholdBench.spread(atDefault.stream().filter(r -> r.mode().equals("lazy")).toList(), LazyThresholdBench.Run::toServing),
                    atDefaultDiff.size(), LazyThresholdBench.eagerCheck(atDefault, LAZY_DEFAULT_ABOVE));
        } catch (Exception e) {
            Bench.log("scale: the lazy-threshold pairs failed: " + e);
            atDefaultNote = "not measured: " + e.getMessage();
        }
        rows.add("lazy_threshold_eager_minus_lazy_s", atDefaultDiff.isEmpty() ? Double.NaN : Bench.median(atDefaultDiff), "s", "info",
                atDefaultDiff.isEmpty() ? null : Rows.Spread.of(atDefaultDiff), atDefaultNote);
        if (prepared > 0) {
            rows.add("openssl_prepare_us_per_cert", prepareSeconds * 1e6 / prepared, "µs", "info", null,
                    "AutoCertSsl.prepareKeyMaterial: converting each certificate's key material before the first handshake");
        }
        md.append(f("One `AutoCert` managing N = %,d single-name certificates (`s<i>.scale.autocert4j.test`) from a `FileCertStore` written "
                + "beforehand (%s): every certificate has **its own ECDSA P-256 key pair** (distinct public keys checked on a sample of %,d); "
                + "chain = leaf + one intermediate. Renewal checks: no ARI, 30-day interval (no CA contact).\n\n", n, generated, distinctKeys.size()));
        md.append(f("- **Cold load** = what a Netty server pays before serving: `build()` + `start()` + `AutoCertSsl.serverContext(autoCert)` "
                + "and the Netty host listening (%s) in a **fresh JVM** (`ScaleLoadChild`, no JIT warm-up) after `sync; echo 3 > "
                + "/proc/sys/vm/drop_caches` (%s): **%.2f s** (%.2f + %.2f + %.2f); %s. The same fresh-JVM load right after, with the "
                + "files in the page cache: %.2f s (%.2f + %.2f + %.2f). The eager start (`lazyLoadAbove(Integer.MAX_VALUE)`, every "
                + "certificate read, checked and, with OpenSSL, its key material prepared), page cache dropped: %.2f s (%.2f + %.2f + %.2f).\n",
                prov, dropped, coldTotal, cold[0], cold[1], cold[2], lazyNote, warmCache[0] + warmCache[1] + warmCache[2], warmCache[0],
                warmCache[1], warmCache[2], eager[0] + eager[1] + eager[2], eager[0], eager[1], eager[2]));
        md.append(f("- **First handshakes after the cold start** (lazy): %s. **p50 %.1f ms, p99 %.1f ms** (min %.1f, max %.1f). The background "
                + "sweep had loaded every certificate %.1f s after `start()` (%,d VALID).\n", served.how(), served.p50(), served.p99(),
                served.min(), served.max(), served.sweepSeconds(), served.validAfter()));
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
     * build(), start() and AutoCertSsl.serverContext() seconds of {@link ScaleLoadChild} in a fresh JVM ({@code mode}
     * "lazy": the default threshold; "eager": every certificate loaded), 1 if the server context was OpenSSL's, else 0,
     * then the VALID and NOT_LOADED counts after start().
     */
    static double[] coldLoad(Path store, int n, String mode) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx4g", "-cp", System.getProperty("java.class.path"), ScaleLoadChild.class.getName(),
                store.toString(), Integer.toString(n)));
        if (mode.equals("eager")) {
            cmd.add("eager");
        }
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
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
        return parseLoad(line, n, mode.equals("eager"));
    }

    private static double[] parseLoad(String line, int n, boolean eager) {
        String[] f = line.split(" ");
        long valid = Long.parseLong(f[3]), notLoaded = Long.parseLong(f[6]);
        if (eager ? valid != n : valid + notLoaded != n) {
            throw new IllegalStateException("the cold-load child reported " + valid + " valid and " + notLoaded + " not loaded of " + n);
        }
        return new double[] {Double.parseDouble(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[4]), f[5].equals("OPENSSL") ? 1 : 0,
            valid, notLoaded};
    }

    /** The lazy cold start with first handshakes: its LOAD figures, the handshake times (ms), the sweep's seconds and VALID count after it. */
    record ColdServe(double[] load, List<Double> ms, double sweepSeconds, long validAfter, String how, String sweepHow) {
        double p50() {
            return Bench.median(ms);
        }

        double p99() {
            return Bench.percentile(ms, 99);
        }

        double min() {
            return ms.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
        }

        double max() {
            return ms.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        }
    }

    /** Names whose first handshake is timed after the cold start. */
    static final int FIRST_HANDSHAKES = 300;

    /**
     * A fresh {@link ScaleLoadChild} serving on a Netty host (lazy start: the default threshold); right after READY this
     * (warm) JDK client makes {@value #FIRST_HANDSHAKES} handshakes, one after the other, to distinct random names of the
     * last tenth of the store (the sweep, at most {@link #SWEEP_RATE} a second in configuration order,
     * reaches index 0.9 n only after 0.9 n / rate seconds: checked), verifying chain and name; then the child reports the sweep.
     */
    static ColdServe coldServe(Path cache, Path store, int n) throws Exception {
        int port = io.github.autocert4j.testkit.FreePorts.loopback();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx4g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                ScaleLoadChild.class.getName(), store.toString(), Integer.toString(n), Integer.toString(port))
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        OnDemandBench.TimedClient client = new OnDemandBench.TimedClient(BenchCa.load(cache.resolve("ca")).root);
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String load = r.readLine();
            String ready = r.readLine();
            if (load == null || !load.startsWith("LOAD ") || !"READY".equals(ready)) {
                throw new IllegalStateException("the serving cold-load child did not get ready: " + load + " / " + ready);
            }
            long readyNanos = System.nanoTime();
            double[] figures = parseLoad(load, n, false);
            java.util.Random random = new java.util.Random(23);
            Set<Integer> picked = new java.util.LinkedHashSet<>();
            int from = n - n / 10; // the last tenth of the configuration: the sweep reaches it last
            while (picked.size() < Math.min(FIRST_HANDSHAKES, n / 10)) {
                picked.add(from + random.nextInt(n - from));
            }
            List<Double> ms = new ArrayList<>();
            java.net.InetSocketAddress addr = new java.net.InetSocketAddress("127.0.0.1", port);
            for (int i : picked) {
                OnDemandBench.TimedClient.Handshake h = client.handshake(addr, name(i));
                ms.add(h.seconds() * 1e3);
            }
            double handshakeSeconds = (System.nanoTime() - readyNanos) / 1e9;
            double sweepReachesHalf = (double) from / SWEEP_RATE;
            p.getOutputStream().close();
            String sweep = r.readLine();
            String[] f = sweep == null ? new String[0] : sweep.split(" ");
            if (f.length < 4 || !(f[3].equals("event") || f[3].equals("poll"))) {
                throw new IllegalStateException("the serving cold-load child did not report the sweep: " + sweep);
            }
            String how = f("a fresh JVM (ScaleLoadChild: build + start + AutoCertSsl.serverContext + a Netty host, %s provider) over %,d "
                    + "configured certificates, page cache dropped before; right after it listened, %d handshakes, one at a time, to distinct "
                    + "random names of the last tenth of the configuration (each its name's first: read from the store, checked and, with "
                    + "OpenSSL, its key material converted), JDK client verifying chain and name, connect to handshake complete; all done %.1f s "
                    + "after READY, %s the sweep could reach the last tenth (%.1f s at its rate bound)", figures[3] == 1 ? "OpenSSL" : "JDK",
                    n, ms.size(), handshakeSeconds, handshakeSeconds < sweepReachesHalf ? "before" : "NOT before (some may have been swept)",
                    sweepReachesHalf);
            String sweepHow = f[3].equals("event")
                    ? "the moment the last certificate was loaded: its CertEvent.Loaded, emitted as it is loaded, microseconds before its "
                            + "status leaves NOT_LOADED (not sampled)"
                    : "sampled: some certificate left NOT_LOADED without a CertEvent.Loaded (nothing usable stored), so the moment is a "
                            + "status() poll's, every 10 ms (overstates by at most about 10 ms plus one status() call)";
            return new ColdServe(figures, ms, Double.parseDouble(f[1]), Long.parseLong(f[2]), how, sweepHow);
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
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
