package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.CertStore;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.testkit.PostgresServer;

/**
 * Section "storeops": what the PostgreSQL store costs against the file store, and how fast a fleet starts from it.
 *
 * <ol>
 *   <li>Store operations, one client thread, PostgreSQL (testkit server with {@code fsync=on}, HikariCP) against
 *       {@link FileCertStore} (fsync per write) on the same disk: load, store, fenced store (under a held lock),
 *       lock+unlock; interleaved rounds in alternating order; throughput, median and p99 latency, ratios.</li>
 *   <li>Start-up of 3 nodes (separate JVMs, {@link StoreStartupNode}) managing the same 10,000 certificates from
 *       PostgreSQL at once: time from launching the JVMs until every certificate is served (by SNI) on every node;
 *       compared with 1 node from PostgreSQL and 1 node from the file store.</li>
 * </ol>
 *
 * <pre>{@code
 * StoreOpsBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class StoreOpsBench {
    static final int VALUE_BYTES = 1_600; // about one certificate bundle (EC key + leaf + intermediate, PEM)
    static final int KEYS = 100;

    private StoreOpsBench() {
    }

    /** One store operation under test. */
    private interface Op {
        void run(CertStore store, int i, CertStore.Lock held) throws IOException;
    }

    static void run(Path out) throws Exception {
        Exception startupFailure = null;
        boolean quick = Bench.quick();
        int rounds = quick ? 2 : 6;
        Duration roundLength = Duration.ofMillis(quick ? 300 : 1500);
        int certificates = quick ? 1_000 : 10_000;
        int startupRounds = quick ? 1 : 3;
        Path work = Files.createTempDirectory(Path.of(System.getProperty("java.io.tmpdir")), "autocert4j-bench-storeops-");
        StringBuilder md = new StringBuilder("## Store operations: PostgreSQL vs the file store; fleet start-up from PostgreSQL\n\n");
        Rows summary = new Rows();
        Map<String, Object> json = new LinkedHashMap<>();
        try (PostgresServer pg = PostgresServer.builder().setting("fsync", "on").setting("full_page_writes", "on")
                .setting("synchronous_commit", "on").start()) {
            // ---------------------------------------------------------------- 1. operations
            HikariDataSource pool = pool(pg, 4);
            PostgresCertStore pgStore = PostgresCertStore.builder(pool).tablePrefix("bench_").build();
            pgStore.checkAccess();
            FileCertStore fileStore = FileCertStore.of(work.resolve("file-store"));
            fileStore.checkAccess();
            byte[] value = new byte[VALUE_BYTES];
            for (int i = 0; i < value.length; i++) {
                value[i] = (byte) ('A' + i % 26);
            }
            for (int i = 0; i < KEYS; i++) {
                pgStore.store(key(i), value);
                fileStore.store(key(i), value);
            }
            Map<String, Op> ops = new LinkedHashMap<>();
            ops.put("load", (s, i, l) -> s.load(key(i % KEYS)));
            ops.put("store", (s, i, l) -> s.store(key(i % KEYS), value));
            ops.put("fenced store", (s, i, l) -> s.store(key(i % KEYS), value, l));
            ops.put("lock + unlock", (s, i, l) -> s.lock("bench-op").close());
            Map<String, CertStore> stores = new LinkedHashMap<>();
            stores.put("file", fileStore);
            stores.put("postgres", pgStore);
            Map<String, List<Long>> latencies = new LinkedHashMap<>();
            Map<String, Long> nanos = new LinkedHashMap<>();
            Map<String, List<Double>> perRound = new LinkedHashMap<>(); // ops/s of each round, per operation and store
            // warm-up (JIT, pool, server caches)
            for (Map.Entry<String, Op> op : ops.entrySet()) {
                for (Map.Entry<String, CertStore> st : stores.entrySet()) {
                    measure(st.getValue(), op.getValue(), Duration.ofMillis(quick ? 100 : 500), new ArrayList<>());
                }
            }
            for (int r = 0; r < rounds; r++) {
                List<String> order = new ArrayList<>(stores.keySet());
                if (r % 2 == 1) {
                    Collections.reverse(order);
                }
                for (Map.Entry<String, Op> op : ops.entrySet()) {
                    for (String st : order) {
                        String k = op.getKey() + "|" + st;
                        List<Long> l = latencies.computeIfAbsent(k, x -> new ArrayList<>());
                        int before = l.size();
                        long t = measure(stores.get(st), op.getValue(), roundLength, l);
                        nanos.merge(k, t, Long::sum);
                        perRound.computeIfAbsent(k, x -> new ArrayList<>()).add((l.size() - before) / (t / 1e9));
                    }
                }
                Bench.log("storeops: round " + (r + 1) + "/" + rounds + " done");
            }
            StringBuilder encryptedMd = new StringBuilder();
            EncryptedStoreOps.run(stores, quick, encryptedMd, summary); // encrypted / plaintext load and store ratios
            pgStore.close();
            pool.close();

            md.append(f("One client thread, %d interleaved rounds of %.1f s per operation and store, alternating the store "
                    + "order (file, PostgreSQL / PostgreSQL, file); values of %d bytes (about one certificate bundle) on %d "
                    + "keys. PostgreSQL %s (testkit server, local disk, `fsync=on`, `synchronous_commit=on`, "
                    + "HikariCP pool of 4, loopback TCP); file store: `FileCertStore` (temporary file, fsync, rename, "
                    + "fsync of the directory per write; `flock` for locks) in `%s`.\n\n",
                    rounds, roundLength.toMillis() / 1000.0, VALUE_BYTES, KEYS, pg.binDirectory(), work));
            md.append("| operation | file: ops/s | file: median | file: p99 | PostgreSQL: ops/s | PostgreSQL: median | PostgreSQL: p99 "
                    + "| PostgreSQL / file (ops/s) |\n|---|---|---|---|---|---|---|---|\n");
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String op : ops.keySet()) {
                Stats file = Stats.of(latencies.get(op + "|file"), nanos.get(op + "|file"));
                Stats post = Stats.of(latencies.get(op + "|postgres"), nanos.get(op + "|postgres"));
                double ratio = post.opsPerSecond() / file.opsPerSecond();
                md.append(f("| %s | %,.0f | %s | %s | %,.0f | %s | %s | %.3g |\n", op, file.opsPerSecond(), ms(file.median()),
                        ms(file.p99()), post.opsPerSecond(), ms(post.median()), ms(post.p99()), ratio));
                String id = op.replace(" + ", "_").replace(' ', '_');
                List<Double> pgRounds = perRound.get(op + "|postgres");
                List<Double> fileRounds = perRound.get(op + "|file");
                summary.add("storeops_" + id + "_postgres_ops_per_s", Bench.median(pgRounds), "ops/s", "info", Rows.Spread.of(pgRounds),
                        f("PostgreSQL %s: median of %d interleaved rounds; latency median %s, p99 %s", op, pgRounds.size(),
                                ms(post.median()), ms(post.p99())));
                summary.add("storeops_" + id + "_file_ops_per_s", Bench.median(fileRounds), "ops/s", "info", Rows.Spread.of(fileRounds),
                        f("file store %s: median of %d interleaved rounds; latency median %s, p99 %s", op, fileRounds.size(),
                                ms(file.median()), ms(file.p99())));
                List<Double> ratios = Bench.ratios(pgRounds, fileRounds);
                summary.add("storeops_" + id + "_ratio_postgres_to_file", Bench.median(ratios), "ratio", "info", Rows.Spread.of(ratios),
                        "PostgreSQL ops/s divided by file-store ops/s, per round; median");
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("operation", op);
                row.put("file_ops_per_s", file.opsPerSecond());
                row.put("file_median_ms", file.median() / 1e6);
                row.put("file_p99_ms", file.p99() / 1e6);
                row.put("postgres_ops_per_s", post.opsPerSecond());
                row.put("postgres_median_ms", post.median() / 1e6);
                row.put("postgres_p99_ms", post.p99() / 1e6);
                row.put("ratio_ops_per_s", ratio);
                rows.add(row);
            }
            json.put("operations", rows);
            md.append("\nA write to PostgreSQL is one upsert with its `pg_notify` in one transaction (a WAL flush at commit); "
                    + "a fenced write adds a `SELECT ... FOR SHARE` of the lock row in the same transaction; lock + unlock is two "
                    + "single-statement transactions. These run a few times per certificate per renewal, so even the slowest "
                    + "is far from mattering; loads happen at start-up and for challenge tokens another node published.\n\n");
            md.append(encryptedMd);

            // ---------------------------------------------------------------- 2. fleet start-up
            String[] ids = {"startup_3_nodes_from_postgres_s", "startup_1_node_from_postgres_s", "startup_1_node_from_files_s"};
            try {
                Bench.log("storeops: writing " + certificates + " certificates into PostgreSQL and a file store");
                long g0 = System.nanoTime();
                List<String> names = seed(pg, work.resolve("startup-files"), certificates);
                double seedSeconds = (System.nanoTime() - g0) / 1e9;
                Map<String, List<Long>> startup = new LinkedHashMap<>();
                Map<String, List<String>> details = new LinkedHashMap<>();
                List<String> variants = List.of("3 nodes, PostgreSQL", "1 node, PostgreSQL", "1 node, file store");
                for (int r = 0; r < startupRounds; r++) {
                    List<String> order = new ArrayList<>(variants);
                    if (r % 2 == 1) {
                        Collections.reverse(order);
                    }
                    for (String v : order) {
                        int nodes = v.startsWith("3") ? 3 : 1;
                        boolean fromPg = v.endsWith("PostgreSQL");
                        long t = startNodes(pg, work.resolve("startup-files"), names.size(), nodes, fromPg, details.computeIfAbsent(v, x -> new ArrayList<>()));
                        startup.computeIfAbsent(v, x -> new ArrayList<>()).add(t);
                        Bench.log(f("storeops: %s: all %d certificates served on every node after %d ms", v, names.size(), t));
                    }
                }
                md.append(f("**Fleet start-up.** %,d certificates (one name each, ECDSA P-256, 90 days) written once into PostgreSQL "
                        + "through the store (%.0f s, including generating them) and into a file store. Each run launches the node "
                        + "JVMs at once (`StoreStartupNode`: an `AutoCert` managing all %,d names on `PostgresCertStore` over HikariCP, "
                        + "pool 4, or on the file store; `start()` loads every stored certificate); a node reports when "
                        + "`servedCertificate(name)` returns the stored certificate for every name. Time = from launching the JVMs "
                        + "to the last node reporting (JVM start-up included); %d rounds in alternating order, median and all runs:\n\n",
                        names.size(), seedSeconds, names.size(), startupRounds));
                md.append("| variant | median (ms) | runs (ms) | per node: JVM start to all served, of which start() (ms) |\n|---|---|---|---|\n");
                String perNodeNote = f("\nThe three nodes share the machine's 2 cores with PostgreSQL (and with whatever else runs): three "
                        + "JVMs parse and verify %,d certificates each at the same moment, so each node's `start()` takes longer than "
                        + "one node's alone. Nodes on their own machines should come close to the 1-node time (not measured here).\n\n",
                        names.size());
                List<Map<String, Object>> startRows = new ArrayList<>();
                for (String v : variants) {
                    List<Long> t = startup.get(v);
                    long best = (long) Bench.median(t);
                    md.append(f("| %s | %,d | %s | %s |\n", v, best, t, String.join("; ", details.get(v))));
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("variant", v);
                    row.put("certificates", names.size());
                    row.put("median_ms", best);
                    row.put("runs_ms", t);
                    startRows.add(row);
                }
                md.append(perNodeNote);
                json.put("startup", startRows);
                for (int i = 0; i < variants.size(); i++) {
                    List<Double> seconds = startup.get(variants.get(i)).stream().map(ms -> ms / 1000.0).toList();
                    summary.add(ids[i], Bench.median(seconds), "s", "info", Rows.Spread.of(seconds),
                            f("%s with %,d certificates each: JVM launch to every certificate served on every node; median of %d rounds",
                                    variants.get(i), names.size(), seconds.size()));
                }
            } catch (Exception e) {
                // the rows measured above are kept: this part's rows say it failed, and the section still fails afterwards
                startupFailure = e;
                Bench.log("storeops: fleet start-up failed: " + e);
                md.append("**Fleet start-up failed**: ").append(e.getMessage()).append("\n\n");
                for (String id : ids) {
                    if (summary.rows().stream().noneMatch(r -> r.id().equals(id))) {
                        summary.add(id, Double.NaN, "s", "info", null, "fleet start-up failed: " + e.getMessage());
                    }
                }
            }
        } finally {
            deleteTree(work);
        }
        Bench.write(out, "storeops", md.toString(), summary);
        // storeops.json holds the section's rows (read by the report); the per-operation detail goes beside it
        Files.writeString(out.resolve("storeops-detail.json"), toJson(json) + "\n", StandardCharsets.UTF_8);
        if (startupFailure != null) {
            throw startupFailure; // after writing: the section is reported as failed, with every row it measured
        }
    }

    // ------------------------------------------------------------------ helpers

    static String key(int i) {
        return "certs/k" + i + "/k" + i + ".pem";
    }

    /** Runs {@code op} back to back for {@code d}; adds each latency; returns the total nanos spent. */
    private static long measure(CertStore store, Op op, Duration d, List<Long> latencies) throws IOException {
        CertStore.Lock held = store.lock("bench-fence");
        try {
            long end = System.nanoTime() + d.toNanos();
            long total = 0;
            int i = 0;
            while (System.nanoTime() < end) {
                long t0 = System.nanoTime();
                op.run(store, i++, held);
                long t = System.nanoTime() - t0;
                latencies.add(t);
                total += t;
            }
            return total;
        } finally {
            held.close();
        }
    }

    private record Stats(long count, long nanos, double median, double p99) {
        static Stats of(List<Long> l, long nanos) {
            List<Long> s = new ArrayList<>(l);
            Collections.sort(s);
            return new Stats(s.size(), nanos, Bench.median(s), s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1)));
        }

        double opsPerSecond() {
            return count / (nanos / 1e9);
        }
    }

    private static String ms(double nanos) {
        return nanos >= 1e6 ? f("%.2f ms", nanos / 1e6) : f("%.0f µs", nanos / 1e3);
    }

    static HikariDataSource pool(PostgresServer pg, int size) {
        HikariConfig c = new HikariConfig();
        c.setJdbcUrl(pg.jdbcUrl());
        c.setUsername(pg.user());
        c.setPassword(pg.password());
        c.setMaximumPoolSize(size);
        c.setConnectionTimeout(10_000);
        return new HikariDataSource(c);
    }

    static String name(int i) {
        return "n" + i + ".fleet.autocert4j.test";
    }

    /** Generates the certificates and writes them into PostgreSQL (through the store, 4 threads) and a file store. */
    private static List<String> seed(PostgresServer pg, Path fileStore, int n) throws Exception {
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            names.add(name(i));
        }
        try (HikariDataSource pool = pool(pg, 4); PostgresCertStore store = PostgresCertStore.builder(pool).build()) {
            store.checkAccess();
            ExecutorService threads = Executors.newFixedThreadPool(4);
            List<Future<?>> fs = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int first = t;
                fs.add(threads.submit(() -> {
                    for (int i = first; i < n; i += 4) {
                        String name = names.get(i);
                        List<X509Certificate> chain = ca.chain(kp, List.of(name));
                        StringWriter pem = new StringWriter();
                        try (JcaPEMWriter w = new JcaPEMWriter(pem)) {
                            w.writeObject(new JcaPKCS8Generator(kp.getPrivate(), null));
                            for (X509Certificate c : chain) {
                                w.writeObject(c);
                            }
                        }
                        String meta = "names=" + name + "\nissuedAt=" + Instant.now().toString().replace(":", "\\:") + "\n";
                        store.store("certs/" + name + "/" + name + ".pem", pem.toString().getBytes(StandardCharsets.US_ASCII));
                        store.store("certs/" + name + "/" + name + ".properties", meta.getBytes(StandardCharsets.UTF_8));
                        BenchCa.writeBundle(fileStore, BenchCa.DEAD_DIRECTORY, name, List.of(name), kp.getPrivate(), chain);
                    }
                    return null;
                }));
            }
            for (Future<?> f : fs) {
                f.get(30, TimeUnit.MINUTES);
            }
            threads.shutdown();
        }
        return names;
    }

    /** Launches {@code nodes} JVMs at once; returns ms until the last one served every certificate. */
    private static long startNodes(PostgresServer pg, Path fileStore, int n, int nodes, boolean fromPg, List<String> details)
            throws Exception {
        List<Process> ps = new ArrayList<>();
        long t0 = System.nanoTime();
        for (int k = 0; k < nodes; k++) {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx768m",
                    "-XX:+UseParallelGC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                    "-cp", System.getProperty("java.class.path"), StoreStartupNode.class.getName(),
                    fromPg ? "postgres" : "file", Integer.toString(n), fromPg ? pg.jdbcUrl() : fileStore.toString())
                    .redirectErrorStream(true);
            pb.environment().put("DB_USER", pg.user());
            pb.environment().put("DB_PASSWORD", pg.password());
            ps.add(pb.start());
        }
        List<String> ready = new ArrayList<>();
        for (Process p : ps) {
            String line = null;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) {
                    if (l.startsWith("ready ")) {
                        line = l;
                    } else if (l.startsWith("FAILED")) {
                        throw new IllegalStateException("start-up node failed: " + l);
                    }
                }
            }
            if (!p.waitFor(120, TimeUnit.SECONDS) || line == null) {
                p.destroyForcibly();
                throw new IllegalStateException("start-up node did not report (exit " + (p.isAlive() ? "?" : p.exitValue()) + ")");
            }
            ready.add(line);
        }
        long total = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        for (String l : ready) {
            // ready served=<n> jvmToServedMs=<a> startMs=<b>
            String a = l.replaceFirst("^.*jvmToServedMs=(\\d+).*$", "$1");
            String b = l.replaceFirst("^.*startMs=(\\d+).*$", "$1");
            details.add(a + " / " + b);
        }
        return total;
    }

    private static String toJson(Object o) {
        if (o instanceof Map<?, ?> m) {
            StringBuilder sb = new StringBuilder("{");
            for (Map.Entry<?, ?> e : m.entrySet()) {
                if (sb.length() > 1) {
                    sb.append(", ");
                }
                sb.append('"').append(e.getKey()).append("\": ").append(toJson(e.getValue()));
            }
            return sb.append('}').toString();
        }
        if (o instanceof List<?> l) {
            StringBuilder sb = new StringBuilder("[");
            for (Object v : l) {
                if (sb.length() > 1) {
                    sb.append(", ");
                }
                sb.append(toJson(v));
            }
            return sb.append(']').toString();
        }
        if (o instanceof Double d) {
            return f("%.4f", d);
        }
        if (o instanceof Number) {
            return o.toString();
        }
        return "\"" + String.valueOf(o).replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException ignored) {
            // best effort
        }
    }
}
