package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 4: 1, 1,000, 10,000 and 100,000 managed certificates in one JVM: heap per certificate,
 * cold load time from the file store, SNI-selected handshake throughput relative to 1 certificate.
 *
 * <pre>{@code
 * ScaleBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class ScaleBench {
    static final int MAX = 100_000;
    static final int CONCURRENCY = 32;

    private ScaleBench() {
    }

    static String name(int i) {
        return "s" + i + ".scale.autocert4j.test";
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int[] sizes = quick ? new int[] {1, 1000, 10_000} : new int[] {1, 1000, 10_000, MAX};
        int rounds = quick ? 2 : 4;
        Duration round = Duration.ofSeconds(quick ? 1 : 2);
        Path cache = Path.of(System.getProperty("bench.scaleCache", "benchmarks/target/scale-store")).toAbsolutePath();
        Path store = cache.resolve("store");
        String generated = ensureStore(cache, store);
        BenchCa ca = BenchCa.load(cache.resolve("ca"));
        SslContext client = Bench.unverifiedClientContext();
        EventLoopGroup boss = Bench.serverGroup(1, "scale-boss");
        EventLoopGroup workers = Bench.serverGroup(2, "scale-worker");
        EventLoopGroup clients = Bench.group(2);

        List<SslProvider> providers = new ArrayList<>();
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        providers.add(SslProvider.JDK);


        StringBuilder md = new StringBuilder();
        List<String[]> summary = new ArrayList<>();
        md.append("## 4. Scale: many managed certificates in one JVM\n\n");
        md.append(f("One `AutoCert` per row managing N single-name certificates (`s<i>.scale.autocert4j.test`), loaded from a "
                + "`FileCertStore` written beforehand (%s). All leaves share ONE ECDSA P-256 key pair (generating 100,000 keys adds nothing "
                + "to what is measured: each bundle is still a separate file, parsed into separate key and certificate objects, and each "
                + "leaf is a separate certificate with its own signature verified at load); chain = leaf + one intermediate. "
                + "*Cold load* = `build()` + `start()` (reads and parses every bundle and checks key, names and dates; the chain "
                + "signatures of the own stored bundles are not re-verified; the OS page cache is warm, the JVM has "
                + "loaded earlier rows). *Heap per certificate* = (used heap after `System.gc()` with the AutoCert loaded - before) / N. "
                + "*Throughput ratio* = full handshakes/s with a uniformly random SNI name out of N, divided by handshakes/s of a "
                + "1-certificate AutoCert in the same JVM, per serving path: **A** = `AutoCertSsl.contextBuilder` (live key manager), "
                + "**C** = `AutoCertSniHandler` (per-certificate static contexts, bounded cache). The four servers (A 1, A N, C 1, C N) "
                + "are measured in %d interleaved rounds of %d s each, order alternating, after a 2 s warm-up each; same client as "
                + "section 1 (%d connections, **no PKIX verification on the client**: the served leaf's encoding is compared with "
                + "the one `autoCert.servedCertificate(name)` reports, and 2,000 sampled leaves were checked to cover their name; "
                + "the earlier client verified every chain, which was free for the 1-certificate baseline (JDK certificate cache) "
                + "and cost a parse + ECDSA verify for every random name). *CPU ratio* = server CPU per handshake at 1 / at N "
                + "(see section 1), robust against other load on the machine. "
                + "Renewal checks: no ARI, 30-day check interval (no CA contact).\n\n",
                generated, rounds, round.toSeconds(), CONCURRENCY));
        StringBuilder hdr = new StringBuilder("| N | cold load (s): build + start | heap per certificate (KB) |");
        StringBuilder sep = new StringBuilder("|---:|---|---:|");
        for (SslProvider p : providers) {
            hdr.append(" ").append(p).append(" A: throughput ratio (hs/s N vs 1); CPU ratio (µs/hs) |");
            hdr.append(" ").append(p).append(" C: throughput ratio; CPU ratio |");
            sep.append("---|---|");
        }
        md.append(hdr).append('\n').append(sep).append('\n');

        System.gc();
        AutoCert base = null;
        TlsServer[] baseServers = new TlsServer[providers.size()];
        TlsServer[] baseSni = new TlsServer[providers.size()];
        double heap100k = Double.NaN, load100k = Double.NaN;
        java.util.Map<String, double[]> worst100k = new java.util.LinkedHashMap<>(); // path -> {throughput ratio, cpu ratio} (worst provider)
        StringBuilder cacheNotes = new StringBuilder();
        for (int n : sizes) {
            Bench.log("scale: N=" + n);
            List<String> names = IntStream.range(0, n).mapToObj(ScaleBench::name).toList();
            long used0 = usedHeap();
            long t0 = System.nanoTime();
            AutoCert ac = Bench.fromStore(store, names);
            long t1 = System.nanoTime();
            ac.start();
            long t2 = System.nanoTime();
            long used1 = usedHeap();
            long valid = ac.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
            if (valid != n) {
                throw new IllegalStateException("only " + valid + " of " + n + " stored certificates were loaded");
            }
            double build = (t1 - t0) / 1e9, start = (t2 - t1) / 1e9, kb = (used1 - used0) / 1024.0 / n;
            Bench.log(f("scale: N=%d load %.2f + %.2f s, %.2f KB/cert", n, build, start, kb));
            StringBuilder row = new StringBuilder(f("| %,d | %.3f (%.3f + %.3f) | %.2f |", n, build + start, build, start, kb));
            if (n == 1) {
                base = ac;
                for (int p = 0; p < providers.size(); p++) {
                    baseServers[p] = new TlsServer(AutoCertSsl.contextBuilder(base, providers.get(p)).build(), boss, workers);
                    AutoCertSniHandler.Contexts bc = AutoCertSniHandler.contexts(base, providers.get(p));
                    baseSni[p] = new TlsServer(ch -> bc.newHandler(), boss, workers);
                    row.append(" 1 (baseline) | 1 (baseline) |");
                }
            } else {
                java.util.Map<String, byte[]> expected = expectedLeaves(ac, names, base);
                for (int p = 0; p < providers.size(); p++) {
                    SslProvider provider = providers.get(p);
                    AtomicLong wrong = new AtomicLong();
                    LoadClient.Observer obs = (host, leaf, g) -> {
                        try {
                            if (!java.util.Arrays.equals(leaf.getEncoded(), expected.get(host))) {
                                wrong.incrementAndGet();
                            }
                        } catch (java.security.cert.CertificateEncodingException e) {
                            wrong.incrementAndGet();
                        }
                    };
                    AutoCertSniHandler.Contexts sni = AutoCertSniHandler.contexts(ac, provider);
                    try (TlsServer sn = new TlsServer(AutoCertSsl.contextBuilder(ac, provider).build(), boss, workers);
                         TlsServer sc = new TlsServer(ch -> sni.newHandler(), boss, workers)) {
                        String one = name(0);
                        java.util.function.Supplier<String> random = () -> names.get(ThreadLocalRandom.current().nextInt(n));
                        List<Interleaved.Variant> vs = List.of(new Interleaved.Variant("A1", baseServers[p].address(), () -> one),
                                new Interleaved.Variant("AN", sn.address(), random), new Interleaved.Variant("C1", baseSni[p].address(), () -> one),
                                new Interleaved.Variant("CN", sc.address(), random));
                        java.util.Map<String, Interleaved.Totals> t = Interleaved.run(clients, client, vs, obs, CONCURRENCY, Duration.ofSeconds(2),
                                rounds, round, f("scale N=%d %s", n, provider));
                        long fails = t.values().stream().mapToLong(x -> x.failures).sum();
                        for (String path : List.of("A", "C")) {
                            Interleaved.Totals one1 = t.get(path + "1"), many = t.get(path + "N");
                            double ratio = many.rate() / one1.rate(), cpu = one1.cpuMicros() / many.cpuMicros();
                            Bench.log(f("scale: N=%d %s %s: %.0f vs %.0f hs/s, ratio %.3f; cpu %.0f vs %.0f µs/hs, ratio %.3f; failures %d, wrong cert %d",
                                    n, provider, path, many.rate(), one1.rate(), ratio, many.cpuMicros(), one1.cpuMicros(), cpu, fails, wrong.get()));
                            row.append(f(" **%.3f** (%.0f vs %.0f); **%.3f** (%.0f vs %.0f)%s |", ratio, many.rate(), one1.rate(), cpu,
                                    many.cpuMicros(), one1.cpuMicros(), fails + wrong.get() == 0 ? "" : f(", %d failed, %d wrong certificate", fails, wrong.get())));
                            if (n == MAX) {
                                double[] w = worst100k.get(path);
                                if (w == null || ratio < w[0]) {
                                    worst100k.put(path, new double[] {ratio, cpu, fails + wrong.get()});
                                }
                            }
                        }
                        cacheNotes.append(f("N=%,d %s: after %,d C handshakes on random names: `%s`.\n",
                                n, provider, t.get("CN").handshakesOk, sni));
                    }
                }
                ac.close();
            }
            md.append(row).append('\n');
            if (n == MAX) {
                heap100k = kb;
                load100k = build + start;
            }
        }
        md.append("\n").append(cacheNotes.toString().replace("\n", "  \n")).append("\n\n");
        if (!quick) {
            for (var e : worst100k.entrySet()) {
                double[] w = e.getValue();
                String path = e.getKey().equals("A") ? "A live key manager" : "C SNI handler";
                String v = w[2] != 0 ? "**missed** (failures or wrong certificate)" : w[0] >= 0.95 && w[1] >= 0.95 ? "met"
                        : w[1] >= 0.95 ? "**missed** on throughput, met on server CPU" : w[0] >= 0.95 ? "**missed** on server CPU, met on throughput" : "**missed**";
                summary.add(new String[] {"4. SNI handshake ratio at 100,000 certificates vs 1, " + path + " (worst provider)",
                        f("throughput %.3f; server CPU %.3f", w[0], w[1]), ">= 0.95", v});
            }
            summary.add(new String[] {"4. heap per certificate at 100,000", f("%.2f KB", heap100k), "<= 10 KB", Bench.verdict(heap100k <= 10)});
            summary.add(new String[] {"4. cold load of 100,000 certificates", f("%.1f s", load100k), "<= 10 s", Bench.verdict(load100k <= 10)});
        }
        for (TlsServer s : baseServers) {
            if (s != null) {
                s.close();
            }
        }
        for (TlsServer s : baseSni) {
            if (s != null) {
                s.close();
            }
        }
        if (base != null) {
            base.close();
        }
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Bench.write(out, "scale", md.toString(), summary);
    }

    /** Expected leaf encoding per name (what the live key manager serves); 2,000 sampled leaves checked to cover their name. */
    static java.util.Map<String, byte[]> expectedLeaves(AutoCert ac, List<String> names, AutoCert base) throws Exception {
        java.util.Map<String, byte[]> m = new java.util.HashMap<>(names.size() * 2);
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            X509Certificate leaf = ac.servedCertificate(name).chain().get(0);
            if (i % Math.max(1, names.size() / 2000) == 0 && !SwapBench.BenchHooksView.covers(leaf, name)) {
                throw new IllegalStateException("the certificate served for " + name + " does not cover it");
            }
            m.put(name, leaf.getEncoded());
        }
        // the 1-certificate baseline serves name(0) from its own AutoCert (same stored bundle)
        byte[] baseLeaf = base.servedCertificate(name(0)).chain().get(0).getEncoded();
        if (!java.util.Arrays.equals(baseLeaf, m.get(name(0)))) {
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

    /** Writes the 100,000-certificate store once and reuses it while its leaves have > 60 days left. */
    static String ensureStore(Path cache, Path store) throws Exception {
        Path marker = cache.resolve("complete-" + MAX);
        if (Files.exists(marker)) {
            long made = Long.parseLong(Files.readString(marker).trim());
            if (System.currentTimeMillis() - made < Duration.ofDays(25).toMillis()) {
                return "reused from an earlier run, " + cache.getFileName() + " cache";
            }
        }
        Bench.log("scale: generating " + MAX + " certificates into " + store + " (one-time)");
        long t0 = System.nanoTime();
        Files.deleteIfExists(marker);
        BenchCa ca = BenchCa.create();
        ca.save(cache.resolve("ca"));
        KeyPair kp = BenchCa.ecKey();
        int threads = Math.max(1, Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            fs.add(pool.submit(() -> {
                for (int i = first; i < MAX; i += threads) {
                    String name = name(i);
                    BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, name, List.of(name), kp.getPrivate(), ca.chain(kp, List.of(name)));
                }
                return null;
            }));
        }
        for (Future<?> f : fs) {
            f.get(30, TimeUnit.MINUTES);
        }
        pool.shutdown();
        Files.writeString(marker, Long.toString(System.currentTimeMillis()));
        double s = (System.nanoTime() - t0) / 1e9;
        Bench.log(f("scale: generated in %.0f s", s));
        return f("generated in this run in %.0f s with plain file writes, no fsync", s);
    }
}
