package io.github.autocert4j.benchmarks;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;

/**
 * The fresh JVMs of the on-demand scale measurement ({@link OnDemandBench}), on the store of
 * 1,000,000 stored on-demand certificates (no JIT warm-up; the parent drops the page cache first
 * where it can):
 * <ul>
 *   <li>{@code start <store>}: {@code build()} + {@code start()} of an on-demand AutoCert with no
 *       configured certificate; prints {@code START <build-s> <start-s> <loaded>};</li>
 *   <li>{@code heap <store> <n> <cache>}: builds and starts it, loads {@code cache} distinct names (spread
 *       over the first {@code n}) through {@code certificateReady(name)}, then prints
 *       {@code HEAP <used-after> <used-before-build> <load-s> <ready> <loaded-events> <issued> <failed> <in-memory>},
 *       used heap in bytes after {@code System.gc()};</li>
 *   <li>{@code serve <store> <port>}: builds and starts it behind a Netty host ({@code AutoCertTls.forServer(autoCert)}) on
 *       127.0.0.1:port, prints {@code READY <build+start-s> <provider>}, serves until stdin closes, then prints
 *       {@code SERVED <loaded> <issued> <failed>}.</li>
 * </ul>
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.OnDemandChild heap benchmarks/target/ondemand-store/store 1000000 10000
 * }</pre>
 */
public final class OnDemandChild {
    private OnDemandChild() {
    }

    public static void main(String[] args) throws Exception {
        Path store = Path.of(args[1]);
        OnDemandBench.Counters counters = new OnDemandBench.Counters();
        if (args[0].equals("start")) {
            long t0 = System.nanoTime();
            AutoCert ac = OnDemandBench.fromStore(store, counters);
            long t1 = System.nanoTime();
            ac.start();
            long t2 = System.nanoTime();
            System.out.println("START " + (t1 - t0) / 1e9 + " " + (t2 - t1) / 1e9 + " " + ac.status().size());
        } else if (args[0].equals("heap")) {
            int n = Integer.parseInt(args[2]);
            int cache = Integer.parseInt(args[3]);
            long before = ScaleBench.usedHeap();
            AutoCert ac = OnDemandBench.fromStore(store, counters).start();
            long t0 = System.nanoTime();
            List<CompletableFuture<Boolean>> ready = new ArrayList<>(cache);
            int step = Math.max(1, n / cache);
            for (int i = 0; i < cache; i++) {
                ready.add(ac.certificateReady(OnDemandBench.name((i * step) % n)));
            }
            CompletableFuture.allOf(ready.toArray(CompletableFuture[]::new)).get(10, TimeUnit.MINUTES);
            double seconds = (System.nanoTime() - t0) / 1e9;
            long ok = ready.stream().filter(f -> Boolean.TRUE.equals(f.getNow(false))).count();
            long after = ScaleBench.usedHeap();
            System.out.println("HEAP " + after + " " + before + " " + seconds + " " + ok + " " + counters.loaded.get() + " "
                    + counters.issued.get() + " " + counters.failed.get() + " " + ac.status().size());
        } else if (args[0].equals("serve")) {
            // A fresh on-demand server: build, start, a Netty host with AutoCertTls.forServer(autoCert) on the given port; the
            // parent times the first handshakes (each a stored name not in memory yet) right after READY.
            long t0 = System.nanoTime();
            AutoCert ac = OnDemandBench.fromStore(store, counters).start();
            io.github.autocert4j.netty.AutoCertTls tls = io.github.autocert4j.netty.AutoCertTls.forServer(ac);
            io.netty.channel.EventLoopGroup boss = Bench.group(1), workers = Bench.group(2);
            new TlsServer(ch -> tls.newHandler(), boss, workers, Integer.parseInt(args[2]));
            System.out.println("READY " + (System.nanoTime() - t0) / 1e9 + " " + io.github.autocert4j.netty.AutoCertSsl.defaultProvider());
            System.out.flush();
            // Serve until the parent closes stdin, then report what happened.
            while (System.in.read() >= 0) {
                // wait
            }
            System.out.println("SERVED " + counters.loaded.get() + " " + counters.issued.get() + " " + counters.failed.get());
        } else {
            System.err.println("usage: OnDemandChild start <store> | heap <store> <n> <cache> | serve <store> <port>");
            Runtime.getRuntime().halt(2);
        }
        System.out.flush();
        Runtime.getRuntime().halt(0); // the measurement is taken; no orderly shutdown needed
    }
}
