package io.github.autocert4j.benchmarks;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadFactory;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.RenewalPolicy;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * Entry point of the benchmark harness: {@code java -cp ... io.github.autocert4j.benchmarks.Bench <section> <outDir>}
 * with section one of {@code handshake}, {@code swap}, {@code renewal}, {@code issuance}, {@code coldstart},
 * {@code scale}, {@code storeops}, {@code ondemand}, {@code anchors} (or any section class named by
 * {@code -Dbench.sectionClass}); {@code report <outDir> <benchmarksDir>} merges them; {@code table <results.json>} prints
 * the table of docs/measured.md. Each section writes {@code <outDir>/<section>.md} (details) and
 * {@code <outDir>/<section>.json} (its {@link Rows}).
 *
 * <pre>{@code
 * java -cp "benchmarks/target/lib/*:benchmarks/target/lib/bench-classes" io.github.autocert4j.benchmarks.Bench handshake benchmarks/target/results
 * }</pre>
 */
public final class Bench {
    private Bench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: Bench handshake|swap|renewal|issuance|coldstart|scale|storeops|ondemand|anchors <outDir> | report <outDir> <benchmarksDir> "
                    + "| table <results.json>");
            System.exit(2);
        }
        if (args[0].equals("table")) {
            System.out.print(Report.table(Path.of(args[1])));
            System.exit(0);
        }
        Path out = Path.of(args[1]);
        Files.createDirectories(out);
        switch (args[0]) {
            case "handshake" -> HandshakeBench.run(out);
            case "swap" -> SwapBench.run(out);
            case "renewal" -> RenewalBench.run(out);
            case "issuance" -> IssuanceBench.run(out);
            case "coldstart" -> ColdStartBench.run(out);
            case "scale" -> ScaleBench.run(out);
            case "storeops" -> StoreOpsBench.run(out);
            case "ondemand" -> OnDemandBench.run(out);
            case "anchors" -> AnchorsBench.run(out);
            case "report" -> Report.run(out, Path.of(args[2]));
            default -> {
                // A section whose class bench.sh found by name (-Dbench.sectionClass), e.g. "loaded": static run(Path).
                String cls = System.getProperty("bench.sectionClass");
                if (cls == null) {
                    System.err.println("unknown section " + args[0]);
                    System.exit(2);
                }
                java.lang.reflect.Method m = Class.forName(cls).getDeclaredMethod("run", Path.class);
                m.setAccessible(true);
                Set<Path> before = jsonFiles(out);
                m.invoke(null, out);
                adoptRows(out, args[0], before);
            }
        }
        System.exit(0); // event loops and AutoCert threads are daemon or closed; make sure the JVM ends
    }

    // ------------------------------------------------------------------ shared helpers

    private static Set<Path> jsonFiles(Path out) throws IOException {
        try (var files = Files.list(out)) {
            return files.filter(p -> p.toString().endsWith(".json")).collect(java.util.stream.Collectors.toSet());
        }
    }

    /**
     * A section class found by name may write its rows under its own section name: if {@code <section>.json} is
     * missing and exactly one new rows file appeared, it (and its .md) becomes the section's, so the report finds it.
     */
    private static void adoptRows(Path out, String section, Set<Path> before) throws IOException {
        Path mine = out.resolve(section + ".json");
        if (Files.exists(mine)) {
            return;
        }
        Set<Path> added = jsonFiles(out);
        added.removeAll(before);
        if (added.size() == 1) {
            Path json = added.iterator().next();
            String base = json.getFileName().toString().replaceAll("\\.json$", "");
            Files.move(json, mine);
            Path md = out.resolve(base + ".md");
            if (Files.exists(md)) {
                Files.move(md, out.resolve(section + ".md"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            }
        }
    }

    static boolean quick() {
        return Boolean.getBoolean("bench.quick");
    }

    static EventLoopGroup group(int threads) {
        return new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
    }

    private static final Set<Thread> SERVER_THREADS = ConcurrentHashMap.newKeySet();

    /** An event loop group whose threads count as server threads for {@link #serverCpuNanos()}. */
    static EventLoopGroup serverGroup(int threads, String name) {
        ThreadFactory base = new DefaultThreadFactory(name, true);
        return new MultiThreadIoEventLoopGroup(threads, (ThreadFactory) r -> {
            Thread t = base.newThread(r);
            SERVER_THREADS.add(t);
            return t;
        }, NioIoHandler.newFactory());
    }

    /**
     * CPU time consumed so far by all server event loop threads (boss and workers). Unlike
     * throughput, CPU time per handshake hardly depends on how much of the machine other processes
     * take, which makes it the robust comparison on a shared machine.
     */
    static long serverCpuNanos() {
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : SERVER_THREADS) {
            long c = mx.getThreadCpuTime(t.getId());
            if (c > 0) {
                sum += c;
            }
        }
        return sum;
    }

    /** Load average (1, 5, 15 min) when the section's JVM started. */
    static final String LOAD_AT_START = loadAverage();

    /** {@code /proc/loadavg}'s first three fields, or "n/a". */
    static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }

    /**
     * OpenSSL (BoringSSL) TLS 1.3 client for the throughput sections: NO chain verification (accept-all
     * trust manager), so the client's cost per handshake is the same whichever certificate is served;
     * the served leaf is checked by the caller against the expected encoding instead.
     */
    static SslContext unverifiedClientContext() throws IOException {
        return noResumption(SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).trustManager(InsecureTrustManagerFactory.INSTANCE)
                .protocols("TLSv1.3").build());
    }

    /**
     * Turns the client's session cache off, so no handshake can be resumed even if an engine were
     * created with a peer host and port (the callers also create engines without them, and count
     * resumed handshakes to prove it).
     */
    static SslContext noResumption(SslContext client) {
        if (client.sessionContext() instanceof io.netty.handler.ssl.OpenSslSessionContext s) {
            s.setSessionCacheEnabled(false);
        }
        return client;
    }

    /** OpenSSL (BoringSSL) TLS 1.3 client trusting only {@code root}; the chain is verified by the JDK trust manager. */
    static SslContext clientContext(X509Certificate root) throws IOException {
        return noResumption(SslContextBuilder.forClient().sslProvider(SslProvider.OPENSSL).trustManager(root).protocols("TLSv1.3").build());
    }

    /** Renewal policy that never contacts the (dead) CA for valid stored certificates: no ARI, checks every 30 days. */
    static RenewalPolicy quietPolicy() {
        return RenewalPolicy.defaults().withAri(false).withCheckInterval(Duration.ofDays(30));
    }

    /** An AutoCert serving what {@code storeDir} holds for {@code names} (one certificate per name), without a CA. */
    static AutoCert fromStore(Path storeDir, List<String> names) {
        return fromStore(storeDir, names, false);
    }

    /** {@link #fromStore(Path, List)}; {@code eager}: every certificate loaded by start() whatever their number (no lazy loading). */
    static AutoCert fromStore(Path storeDir, List<String> names, boolean eager) {
        return fromStore(storeDir, names, eager, null);
    }

    /** {@link #fromStore(Path, List, boolean)} with {@code listener} (null: none) receiving the events. */
    static AutoCert fromStore(Path storeDir, List<String> names, boolean eager, io.github.autocert4j.CertEventListener listener) {
        return fromStore(storeDir, names, eager ? Integer.valueOf(Integer.MAX_VALUE) : null, listener);
    }

    /** The nearest-rank percentile (p in 0..100) of {@code v}, NaN for none. */
    static double percentile(List<Double> v, double p) {
        if (v.isEmpty()) {
            return Double.NaN;
        }
        List<Double> s = new ArrayList<>(v);
        java.util.Collections.sort(s);
        return s.get(Math.max(0, Math.min(s.size() - 1, (int) Math.ceil(p / 100 * s.size()) - 1)));
    }

    /** {@link #fromStore(Path, List)} with {@code lazyLoadAbove} (null: the library's default) and {@code listener} (null: none). */
    static AutoCert fromStore(Path storeDir, List<String> names, Integer lazyLoadAbove, io.github.autocert4j.CertEventListener listener) {
        AutoCertBuilder b = AutoCert.builder().directory(BenchCa.DEAD_DIRECTORY).agreeToTermsOfService(true)
                .store(FileCertStore.of(storeDir)).renewal(quietPolicy());
        if (listener != null) {
            b.listener(listener);
        }
        if (lazyLoadAbove != null) {
            b.lazyLoadAbove(lazyLoadAbove);
        }
        for (String n : names) {
            b.certificate(n);
        }
        return b.build();
    }

    static double median(List<? extends Number> values) {
        List<Double> v = new ArrayList<>(values.stream().map(Number::doubleValue).toList());
        if (v.isEmpty()) {
            return Double.NaN;
        }
        Collections.sort(v);
        int n = v.size();
        return n % 2 == 1 ? v.get(n / 2) : (v.get(n / 2 - 1) + v.get(n / 2)) / 2;
    }

    static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }

    static void write(Path out, String section, String markdown, Rows rows) throws IOException {
        markdown = markdown.stripTrailing() + "\n\nLoad average (1/5/15 min) at the start of this section: " + LOAD_AT_START
                + "; at its end: " + loadAverage() + " (2 cores; other sessions may share the machine).\n\n";
        Files.writeString(out.resolve(section + ".md"), markdown, StandardCharsets.UTF_8);
        rows.write(out, section);
        System.out.println(markdown);
    }

    /** Median of the per-round ratios {@code x_i / y_i}. */
    static double medianRatio(List<Double> x, List<Double> y) {
        return median(ratios(x, y));
    }

    static List<Double> ratios(List<Double> x, List<Double> y) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
            r.add(x.get(i) / y.get(i));
        }
        return r;
    }

    static String list(List<Double> v) {
        return String.join(", ", v.stream().map(d -> f("%.3f", d)).toList());
    }

    static void log(String msg) {
        System.err.println("[bench " + java.time.LocalTime.now().withNano(0) + "] " + msg);
    }
}
