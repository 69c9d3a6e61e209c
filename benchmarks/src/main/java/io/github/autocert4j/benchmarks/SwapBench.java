package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.Issuer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 2: synthetic swaps. Continuous handshakes + HTTPS requests while the certificate is
 * swapped back to back through the renewal path ({@code renewNow()} with an in-memory
 * {@link Issuer}: key generation, CSR, signing, store write with fsync, swap), fast enough that
 * handshakes span a swap; {@link SpanRecorder} counts those handshakes, to prove it happened.
 *
 * <pre>{@code
 * SwapBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class SwapBench {
    static final String NAME = "swap.bench.autocert4j.test";
    static final int CONCURRENCY = 16;

    private SwapBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        Duration load = Duration.ofSeconds(quick ? 3 : 12);

        BenchCa ca = BenchCa.create();
        KeyPair firstKey = BenchCa.ecKey();
        List<X509Certificate> firstChain = ca.chain(firstKey, List.of(NAME));
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        EventLoopGroup clients = Bench.group(2);
        SslContext client = Bench.clientContext(ca.root);

        StringBuilder md = new StringBuilder();
        Rows rows = new Rows();
        md.append("## 2. Synthetic swaps under load\n\n");
        md.append(f("%d client connections in a closed loop (full handshake, one `GET /`, `Connection: close`; chain verified against the "
                + "benchmark root, served leaf checked for the requested name) against a Netty server whose context is built like "
                + "`AutoCertSsl.contextBuilder(autoCert, provider)` with the public `autoCert.keyManager()` wrapped by a recorder, while "
                + "another thread swaps the certificate back to back for %d s: each swap is `renewNow()` with an in-memory `Issuer` "
                + "(new key, CSR, signing, `FileCertStore` write with fsync, swap), no ACME server (section 3 has real renewals). "
                + "*Spanning* = handshakes whose certificate was selected before a swap and that completed after it (the alias chosen "
                + "at selection differs from `autoCert.servedCertificate(name).alias()` at completion): they prove that swaps hit "
                + "handshakes in flight (control: during the warm-up, without swaps, it must count 0, else the section fails). *Stale* = a connection was served a generation older than the one live when it started "
                + "connecting.\n\n", CONCURRENCY, load.toSeconds()));
        md.append("| provider | swaps | handshakes ok | handshake failures | requests ok | request failures | spanning handshakes | unmatched | stale | distinct serials seen | control: spanning without swaps (warm-up) |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");

        List<SslProvider> providers = new ArrayList<>(List.of(SslProvider.JDK));
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        long totalSwaps = 0, totalFailed = 0, totalSpanning = 0, totalRequests = 0, totalStale = 0;
        for (SslProvider provider : providers) {
            Bench.log("swap: " + provider);
            Path store = Files.createTempDirectory("bench-swap");
            BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, NAME, List.of(NAME), firstKey.getPrivate(), firstChain);
            Map<BigInteger, Long> genOfSerial = new ConcurrentHashMap<>();
            genOfSerial.put(firstChain.get(0).getSerialNumber(), 0L);
            AtomicLong current = new AtomicLong(0);
            Issuer inMemory = new Issuer() {
                @Override
                public String id() {
                    return "bench-ca";
                }

                @Override
                public Result issue(Request r) {
                    List<X509Certificate> chain = ca.chain(r.publicKey(), r.names());
                    genOfSerial.put(chain.get(0).getSerialNumber(), current.get() + 1);
                    return new Result(chain, null);
                }
            };
            AutoCert autoCert = AutoCert.builder().issuer(inMemory).certificate(NAME).store(FileCertStore.of(store))
                    .renewal(Bench.quietPolicy()).build().start();
            SpanRecorder spans = new SpanRecorder(autoCert, NAME);
            SslContext live = spans.serverContext(provider);
            AtomicLong stale = new AtomicLong(), wrong = new AtomicLong();
            java.util.Set<BigInteger> seen = ConcurrentHashMap.newKeySet();
            LoadClient.Observer obs = (host, leaf, startGen) -> {
                Long g = genOfSerial.get(leaf.getSerialNumber());
                if (g == null || !BenchCa.covers(leaf, host)) {
                    wrong.incrementAndGet();
                    return;
                }
                seen.add(leaf.getSerialNumber());
                if (g < startGen) {
                    stale.incrementAndGet();
                }
            };
            try (TlsServer server = new TlsServer(ch -> live.newHandler(ch.alloc()), boss, workers, spans::completed)) {
                new LoadClient(clients, client, server.address(), () -> NAME, true, null).run(CONCURRENCY, Duration.ofSeconds(quick ? 1 : 3));
                // Control: without swaps no handshake may count as spanning (else the recorder would be wrong).
                long controlHandshakes = spans.completed(), controlSpanning = spans.spanning();
                if (controlSpanning != 0) {
                    throw new IllegalStateException(controlSpanning + " of " + controlHandshakes + " handshakes counted as spanning without any swap");
                }
                long spanningBefore = spans.spanning();
                AtomicLong done = new AtomicLong();
                List<String> swapErrors = new java.util.concurrent.CopyOnWriteArrayList<>();
                Thread swapper = new Thread(() -> {
                    long deadline = System.nanoTime() + load.toNanos();
                    for (long i = 1; i <= 1_000_000 && System.nanoTime() < deadline; i++) {
                        try {
                            autoCert.renewNow(NAME).get(10, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            swapErrors.add(e.toString());
                            return;
                        }
                        current.set(i);
                        done.set(i);
                    }
                }, "bench-swapper");
                LoadClient lc = new LoadClient(clients, client, server.address(), () -> NAME, true, obs).generation(current::get);
                swapper.start();
                LoadClient.Result r = lc.run(CONCURRENCY, load);
                swapper.join(15_000);
                long swaps = done.get();
                long spanning = spans.spanning() - spanningBefore;
                long failures = r.handshakeFailures() + r.requestFailures() + wrong.get() + swapErrors.size();
                md.append(f("| %s | %d | %d | %d | %d | %d | %d | %d | %d | %d | %d of %d |\n", provider, swaps, r.handshakesOk(), r.handshakeFailures(),
                        r.requestsOk(), r.requestFailures(), spanning, spans.unmatched(), stale.get(), seen.size(), controlSpanning, controlHandshakes));
                if (wrong.get() > 0) {
                    md.append(f("\n%s: %d connections were served a certificate not covering the name or not from this run\n", provider, wrong.get()));
                }
                if (!swapErrors.isEmpty()) {
                    md.append(f("\n%s: a swap failed: %s\n", provider, swapErrors.get(0)));
                }
                if (!r.errors().isEmpty()) {
                    md.append("\n").append(provider).append(" errors (first): ").append(r.errors().subList(0, Math.min(5, r.errors().size()))).append("\n");
                }
                Bench.log(f("swap %s: %d swaps, %d requests ok, %d failed, %d spanning, %d unmatched, %d stale", provider, swaps, r.requestsOk(),
                        failures, spanning, spans.unmatched(), stale.get()));
                totalSwaps += swaps;
                totalFailed += failures;
                totalSpanning += spanning;
                totalRequests += r.requestsOk();
                totalStale += stale.get();
            }
            autoCert.close();
        }
        md.append("\n");
        rows.add("synthetic_swaps", totalSwaps, "count", "info", null,
                f("renewNow() with an in-memory issuer, back to back under load, %s", providers));
        rows.add("synthetic_swaps_failed_requests", totalFailed, "count", "== 0", null,
                f("failed handshakes + failed requests + wrong certificates among %d requests", totalRequests));
        rows.add("synthetic_swaps_spanning_handshakes", totalSpanning, "count", "> 0", null,
                "handshakes selected before a swap and completed after it (proof that swaps hit handshakes in flight)");
        rows.add("synthetic_swaps_stale", totalStale, "count", "== 0", null, "connections served a generation older than the one live when they started");
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Bench.write(out, "swap", md.toString(), rows);
    }
}
