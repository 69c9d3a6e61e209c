package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;

/**
 * Where lazy loading should start (issue 23): for each size N of the scale store (single-name certificates, each with
 * its own key), fresh {@link ScaleLoadChild} JVMs alternate, round by round, an eager start
 * ({@code lazyLoadAbove(Integer.MAX_VALUE)}) and a lazy one ({@code lazyLoadAbove(0)}), each once with the page cache
 * dropped and once right after with it warm. Each child does {@code build()} + {@code start()} +
 * {@code AutoCertSsl.serverContext(autoCert)} + a Netty host listening (the README's Netty quickstart); once it listens,
 * this JVM (a JDK client verifying chain and name, warmed up first) makes up to {@value #HANDSHAKES} handshakes, one at a
 * time, to distinct random names of the second half of the configuration (the same names for both modes of a round):
 * each its name's first, a lazy load for a lazy child unless the background sweep got there first. Prints one line per
 * run and a markdown table of medians [min..max] with the load average before and after each N.
 *
 * <pre>{@code
 * nice -n 19 java -cp <benchmarks class path> io.github.autocert4j.benchmarks.LazyThresholdBench 250,500,1000,2000,4000,8000 5 benchmarks/target/lazy-threshold
 * }</pre>
 */
final class LazyThresholdBench {
    /** First handshakes timed per run (fewer when N / 2 is smaller). */
    static final int HANDSHAKES = 100;

    private LazyThresholdBench() {
    }

    /** One fresh-JVM run: the child's LOAD figures, the parent's spawn-to-listening wall time, the handshakes, the child's CPU. */
    record Run(int n, int round, String mode, boolean cold, double build, double start, double context, double spawnToListening,
            double cpuAtListening, double cpuAtEnd, double sweepSeconds, List<Double> handshakeMs, long loadedByStart, double foreignCpu) {
        /** build() + start() + server context and listening, measured in the child (JVM boot and class path scan excluded). */
        double toServing() {
            return build + start + context;
        }

        String line() {
            return f("n=%d round=%d %s %s build=%.3f start=%.3f context+listen=%.3f to_serving=%.3f spawn_to_listening=%.3f "
                    + "cpu_listening=%.2f cpu_end=%.2f sweep=%.2f hs_p50=%.2f hs_p99=%.2f loaded_by_start=%d foreign_cpu=%.2f", n, round, mode,
                    cold ? "cold" : "warm", build, start, context, toServing(), spawnToListening, cpuAtListening, cpuAtEnd, sweepSeconds,
                    Bench.percentile(handshakeMs, 50), Bench.percentile(handshakeMs, 99), loadedByStart, foreignCpu);
        }
    }

    public static void main(String[] args) throws Exception {
        int[] sizes = Arrays.stream((args.length > 0 ? args[0] : "250,500,1000,2000,4000,8000").split(",")).mapToInt(Integer::parseInt).toArray();
        int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path out = Path.of(args.length > 2 ? args[2] : "benchmarks/target/lazy-threshold").toAbsolutePath();
        Files.createDirectories(out);
        Path cache = Path.of(System.getProperty("bench.scaleCache", "benchmarks/target/scale-store")).toAbsolutePath();
        Path store = cache.resolve("store");
        int max = Arrays.stream(sizes).max().orElseThrow();
        Bench.log("lazy threshold: store " + ScaleBench.ensureStore(cache, store, max));
        OnDemandBench.TimedClient client = new OnDemandBench.TimedClient(BenchCa.load(cache.resolve("ca")).root);
        // Warm the client (JIT, JSSE) on a throw-away child, so that the first recorded round does not pay for it.
        for (int i = 0; i < 2; i++) {
            run(store, client, sizes[0], -1, i == 0 ? "eager" : "lazy", false, out);
        }
        List<Run> all = new ArrayList<>();
        StringBuilder md = new StringBuilder();
        for (int n : sizes) {
            String loadBefore = Bench.loadAverage();
            List<Run> runs = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                List<String> order = r % 2 == 0 ? List.of("eager", "lazy") : List.of("lazy", "eager");
                for (String mode : order) {
                    for (boolean cold : new boolean[] {true, false}) {
                        Run run = run(store, client, n, r, mode, cold, out);
                        System.out.println(run.line());
                        System.out.flush();
                        runs.add(run);
                    }
                }
            }
            String loadAfter = Bench.loadAverage();
            all.addAll(runs);
            md.append(rows(n, runs, loadBefore, loadAfter));
            Files.writeString(out.resolve("lazy-threshold.md"), table(md.toString(), rounds));
        }
        Files.write(out.resolve("lazy-threshold-runs.txt"), all.stream().map(Run::line).toList());
        System.out.println(table(md.toString(), rounds));
    }

    /** The markdown table around {@code rows}. */
    static String table(String rows, int rounds) {
        return f("Medians [min..max] of %d interleaved rounds; times in s unless said; *to serving* = build() + start() + "
                + "AutoCertSsl.serverContext + Netty listening, in the child; *spawn* = process spawn to listening (JVM boot included); "
                + "*eager - lazy* = per-round difference of to serving (same round, same cache state); first handshakes pooled over the rounds; "
                + "*foreign CPU* = share of both cores used by other processes during a run; *dropped* = %s.\n\n"
                + "| N | cache | eager to serving | lazy to serving | eager - lazy | eager ms/cert | eager spawn | lazy spawn | CPU s at listening eager / lazy "
                + "| 1st handshake p50 / p99 ms eager | 1st handshake p50 / p99 ms lazy | lazy sweep done | eager: loaded by start() (min) | foreign CPU median / max | load avg before / after |\n"
                + "|---:|---|---|---|---|---:|---|---|---|---|---|---|---:|---|---|\n", rounds, GLOBAL_DROP ? "sync; echo 3 > /proc/sys/vm/drop_caches before"
                        : "the store's files evicted from the page cache before (posix_fadvise DONTNEED; the JDK and jars stay cached)") + rows;
    }

    /** Two table rows (cold, warm) for one N. */
    static String rows(int n, List<Run> runs, String loadBefore, String loadAfter) {
        StringBuilder sb = new StringBuilder();
        for (boolean cold : new boolean[] {true, false}) {
            List<Run> eager = pick(runs, "eager", cold), lazy = pick(runs, "lazy", cold);
            List<Run> both = runs.stream().filter(r -> r.cold() == cold).toList();
            List<Double> diff = differences(runs, cold);
            List<Double> eagerHs = pooled(eager), lazyHs = pooled(lazy);
            sb.append(f("| %,d | %s | %s | %s | %s | %.3f | %s | %s | %.2f / %.2f | %.1f / %.1f | %.1f / %.1f | %s | %d | %.2f / %.2f | %s / %s |\n", n,
                    cold ? "dropped" : "warm", spread(eager, Run::toServing), spread(lazy, Run::toServing), spread(diff), 
                    Bench.median(values(eager, Run::toServing)) * 1e3 / n, spread(eager, Run::spawnToListening),
                    spread(lazy, Run::spawnToListening), Bench.median(values(eager, Run::cpuAtListening)),
                    Bench.median(values(lazy, Run::cpuAtListening)), Bench.percentile(eagerHs, 50), Bench.percentile(eagerHs, 99),
                    Bench.percentile(lazyHs, 50), Bench.percentile(lazyHs, 99), spread(lazy, Run::sweepSeconds),
                    eager.stream().mapToLong(Run::loadedByStart).min().orElse(-1), Bench.median(values(both, Run::foreignCpu)),
                    both.stream().mapToDouble(Run::foreignCpu).max().orElse(Double.NaN), cold ? loadBefore : "",
                    cold ? loadAfter : ""));
        }
        return sb.toString();
    }

    /** Eager minus lazy time to serving of each round that has both (the interleaved pair), in round order. */
    static List<Double> differences(List<Run> runs, boolean cold) {
        List<Run> lazy = pick(runs, "lazy", cold);
        List<Double> diff = new ArrayList<>();
        for (Run e : pick(runs, "eager", cold)) {
            lazy.stream().filter(l -> l.round() == e.round()).findFirst().ifPresent(l -> diff.add(e.toServing() - l.toServing()));
        }
        return diff;
    }

    /**
     * The scale section's info row: {@code pairs} interleaved pairs of fresh JVMs (store evicted) at {@code n}, eager then
     * lazy or lazy then eager; returns the runs.
     */
    static List<Run> pairs(Path cache, int n, int pairs) throws Exception {
        Path store = cache.resolve("store");
        OnDemandBench.TimedClient client = new OnDemandBench.TimedClient(BenchCa.load(cache.resolve("ca")).root);
        run(store, client, n, -1, "lazy", false, cache); // warms this JVM's client, not recorded
        List<Run> runs = new ArrayList<>();
        for (int r = 0; r < pairs; r++) {
            for (String mode : r % 2 == 0 ? List.of("eager", "lazy") : List.of("lazy", "eager")) {
                runs.add(run(store, client, n, r, mode, true, cache));
            }
        }
        return runs;
    }

    /**
     * Whether every eager run of {@code runs} loaded all {@code n} certificates before serving (start() returns early when the
     * store is silent for 2 s, e.g. on a starved machine: such a run looks faster than an eager start is) and the most CPU
     * other processes took during a run, for a row's note.
     */
    static String eagerCheck(List<Run> runs, int n) {
        long fewest = runs.stream().filter(r -> r.mode().equals("eager")).mapToLong(Run::loadedByStart).min().orElse(n);
        double foreign = runs.stream().mapToDouble(Run::foreignCpu).max().orElse(0);
        return String.format(java.util.Locale.ROOT, "%s; other processes' CPU share at most %.2f during a run", fewest >= n
                ? "every eager start loaded all " + n + " before serving"
                : "WARNING: an eager start served with only " + fewest + " of " + n + " loaded (the store-silence guard): eager looks faster than it is", foreign);
    }

    private static List<Run> pick(List<Run> runs, String mode, boolean cold) {
        return runs.stream().filter(r -> r.mode().equals(mode) && r.cold() == cold).sorted((a, b) -> Integer.compare(a.round(), b.round())).toList();
    }

    private static List<Double> pooled(List<Run> runs) {
        return runs.stream().flatMap(r -> r.handshakeMs().stream()).toList();
    }

    private static List<Double> values(List<Run> runs, ToDoubleFunction<Run> f) {
        return runs.stream().map(r -> f.applyAsDouble(r)).toList();
    }

    static String spread(List<Run> runs, ToDoubleFunction<Run> f) {
        return spread(values(runs, f));
    }

    /** {@code median [min..max]} with 3 decimals, or "-" for no values. */
    static String spread(List<Double> v) {
        if (v.isEmpty()) {
            return "-";
        }
        return f("%.3f [%.3f..%.3f]", Bench.median(v), Collections.min(v), Collections.max(v));
    }

    /** {@code -Dlazy.drop=global}: {@code sync; echo 3 > /proc/sys/vm/drop_caches} before a cold run, else only the store's files are evicted. */
    static final boolean GLOBAL_DROP = "global".equals(System.getProperty("lazy.drop"));

    /**
     * Evicts every file of the store from the page cache ({@code posix_fadvise(POSIX_FADV_DONTNEED)}, through python3: the JDK
     * has no call for it) after a {@code sync}: the certificates are read from the disk again, while the JDK's and the class
     * path's files stay cached, so a cold run does not also evict (and disturb) whatever else runs on the machine. Directory
     * entries and inodes stay cached.
     */
    static void evict(Path store, int n) throws Exception {
        // the account's files and the first n names' (what a child configuring n certificates reads), not the whole store
        String script = "import os,sys\nn=0\nfor r in sys.argv[1:]:\n for d,_,fs in os.walk(r):\n  for f in fs:\n"
                + "   fd=os.open(os.path.join(d,f),os.O_RDONLY)\n   os.fsync(fd); os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED); os.close(fd); n+=1\nprint(n)\n";
        List<String> cmd = new ArrayList<>(List.of("python3", "-c", script, store.resolve("acme").toString()));
        for (int i = 0; i < n; i++) {
            cmd.add(store.resolve("certs").resolve(ScaleBench.name(i)).toString());
        }
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("evicting the store " + store + " from the page cache failed: " + out
                    + ". Fix: install python3 (Linux), or run as root with -Dlazy.drop=global");
        }
    }

    /** /proc/stat's busy and total jiffies of all CPUs (user + nice + system + irq + softirq + steal; all of them). */
    static long[] procStat() throws Exception {
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0, busy = 0;
        for (int i = 1; i < Math.min(f.length, 9); i++) {
            long v = Long.parseLong(f[i]);
            total += v;
            if (i != 4 && i != 5) {
                busy += v;
            }
        }
        return new long[] {busy, total};
    }

    /** One fresh {@link ScaleLoadChild} in {@code mode} ("eager" or "lazy"), serving; page cache dropped first if {@code cold}. */
    static Run run(Path store, OnDemandBench.TimedClient client, int n, int round, String mode, boolean cold, Path out) throws Exception {
        if (cold) {
            if (GLOBAL_DROP) {
                String dropped = ScaleBench.dropPageCache();
                if (!dropped.equals("page cache dropped")) {
                    throw new IllegalStateException(dropped + ". Fix: run as root on Linux (drop_caches), or leave -Dlazy.drop=global out");
                }
            } else {
                evict(store, n);
            }
        }
        long[] stat0 = procStat();
        double ownCpu0 = ScaleLoadChild.cpuSeconds();
        int port = io.github.autocert4j.testkit.FreePorts.loopback();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        long spawned = System.nanoTime();
        Process p = new ProcessBuilder(java, "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                ScaleLoadChild.class.getName(), store.toString(), Integer.toString(n), mode, Integer.toString(port))
                .redirectError(out.resolve("child.err").toFile()).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String load = r.readLine();
            String ready = r.readLine();
            double spawnToListening = (System.nanoTime() - spawned) / 1e9;
            if (load == null || !load.startsWith("LOAD ") || !"READY".equals(ready)) {
                throw new IllegalStateException("the child did not get ready: " + load + " / " + ready + " (see " + out.resolve("child.err") + ")");
            }
            String[] l = load.split(" ");
            long valid = Long.parseLong(l[3]), notLoaded = Long.parseLong(l[6]);
            if (mode.equals("eager") ? valid + notLoaded > n : valid + notLoaded != n) {
                throw new IllegalStateException(f("%s child of %d: %d valid, %d not loaded", mode, n, valid, notLoaded));
            }
            if (!l[5].equals("OPENSSL")) {
                throw new IllegalStateException("the child's provider is " + l[5] + ", not OPENSSL. Fix: put netty-tcnative-boringssl-static on the class path");
            }
            Random random = new Random(31L * n + round);
            Set<Integer> picked = new LinkedHashSet<>();
            int from = n / 2;
            while (picked.size() < Math.min(HANDSHAKES, n - from)) {
                picked.add(from + random.nextInt(n - from));
            }
            List<Double> ms = new ArrayList<>();
            InetSocketAddress addr = new InetSocketAddress("127.0.0.1", port);
            for (int i : picked) {
                OnDemandBench.TimedClient.Handshake h = client.handshake(addr, ScaleBench.name(i));
                ms.add(h.seconds() * 1e3);
            }
            p.getOutputStream().close();
            String sweep = r.readLine();
            String[] s = sweep == null ? new String[0] : sweep.split(" ");
            if (s.length < 5) {
                throw new IllegalStateException("the child did not report the sweep: " + sweep);
            }
            double cpuEnd = Double.parseDouble(s[4]);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the child did not exit");
            }
            long[] stat1 = procStat();
            // CPU the machine spent on anything but this run (its child and this JVM), as a share of both cores' time meanwhile.
            double machine = (stat1[0] - stat0[0]) / 100.0, wall = (stat1[1] - stat0[1]) / 100.0 / Runtime.getRuntime().availableProcessors();
            double foreign = wall <= 0 ? Double.NaN : Math.max(0, machine - cpuEnd - (ScaleLoadChild.cpuSeconds() - ownCpu0)) / (wall * Runtime.getRuntime().availableProcessors());
            return new Run(n, round, mode, cold, Double.parseDouble(l[1]), Double.parseDouble(l[2]), Double.parseDouble(l[4]), spawnToListening,
                    Double.parseDouble(l[7]), cpuEnd, mode.equals("lazy") ? Double.parseDouble(s[1]) : Double.NaN, ms, valid, foreign);
        } finally {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
        }
    }
}
