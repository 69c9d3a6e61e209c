package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 2: continuous handshakes + HTTPS requests while the certificate is swapped 1,200
 * times; counts failures, stale certificates and connections per generation.
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
        int swaps = Integer.getInteger("bench.swaps", quick ? 200 : 1200);
        Duration period = Duration.ofMillis(12);
        Duration load = Duration.ofMillis(swaps * period.toMillis() + 300);

        BenchCa ca = BenchCa.create();
        Bench.log("swap: generating " + (swaps + 1) + " key pairs and certificates");
        List<KeyPair> keys = new ArrayList<>();
        List<List<X509Certificate>> chains = new ArrayList<>();
        Map<BigInteger, Integer> genOfSerial = new java.util.concurrent.ConcurrentHashMap<>();
        for (int i = 0; i <= 0; i++) {
            KeyPair kp = BenchCa.ecKey();
            List<X509Certificate> chain = ca.chain(kp, List.of(NAME));
            keys.add(kp);
            chains.add(chain);
            genOfSerial.put(chain.get(0).getSerialNumber(), i);
        }
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        EventLoopGroup clients = Bench.group(2);
        SslContext client = Bench.clientContext(ca.root);

        StringBuilder md = new StringBuilder();
        List<String[]> summary = new ArrayList<>();
        md.append("## 2. Certificate swaps under load\n\n");
        md.append(f("%d client connections in a closed loop (full handshake, one `GET /`, `Connection: close`; chain verified against the "
                + "benchmark root, served leaf checked for the requested name) against a Netty server using "
                + "**A** `AutoCertSsl.contextBuilder(autoCert, provider)` (live key manager) or **C** `AutoCertSniHandler.contexts(autoCert, "
                + "provider)` (`AutoCertSniHandler`, a new static context per generation, bounded cache of 64), while another thread swaps the certificate %d times, one every %d ms, "
                + "each time to a new key and certificate (distinct serial). Swaps go through the same call a renewal uses "
                + "(`renewNow()` with an in-memory `Issuer`: key generation, CSR, signing, store write and swap; no ACME server; "
                + "section 3 measures real orders). *Stale* = a connection was served a generation older than the one "
                + "live when it started connecting. Connections per generation counts every generation installed (0 if no connection saw it).\n\n",
                CONCURRENCY, swaps, period.toMillis()));
        md.append("| provider, path | swaps | handshakes ok | handshake failures | requests ok | request failures | stale | distinct serials seen | connections per generation min / median / max | generations seen by 0 connections |\n");
        md.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|\n");

        List<SslProvider> providers = new ArrayList<>(List.of(SslProvider.JDK));
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        for (SslProvider provider : providers) {
          for (String path : List.of("A", "C")) {
            String label = provider + ", " + (path.equals("A") ? "A live key manager" : "C SNI handler");
            Bench.log("swap: " + label);
            Path store = Files.createTempDirectory("bench-swap");
            BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, NAME, List.of(NAME), keys.get(0).getPrivate(), chains.get(0));
            AtomicLong current = new AtomicLong(0);
            // Swaps go through renewNow(): a real order (from this in-memory issuer), store write and swap.
            io.github.autocert4j.Issuer inMemory = new io.github.autocert4j.Issuer() {
                @Override
                public String id() {
                    return "bench-ca";
                }

                @Override
                public Result issue(Request r) {
                    List<X509Certificate> chain = ca.chain(r.publicKey(), r.names());
                    genOfSerial.put(chain.get(0).getSerialNumber(), (int) current.get() + 1);
                    return new Result(chain, null);
                }
            };
            AutoCert autoCert = io.github.autocert4j.AutoCert.builder().issuer(inMemory).certificate(NAME)
                    .store(io.github.autocert4j.FileCertStore.of(store)).renewal(Bench.quietPolicy()).build().start();
            AtomicLongArray perGen = new AtomicLongArray(swaps + 1);
            AtomicLong stale = new AtomicLong();
            AtomicLong wrong = new AtomicLong();
            LoadClient.Observer obs = (host, leaf, startGen) -> {
                Integer g = genOfSerial.get(leaf.getSerialNumber());
                if (g == null || !BenchHooksView.covers(leaf, host)) {
                    wrong.incrementAndGet();
                    return;
                }
                perGen.incrementAndGet(g);
                if (g < startGen) {
                    stale.incrementAndGet();
                }
            };
            java.util.function.Function<io.netty.channel.socket.SocketChannel, io.netty.channel.ChannelHandler> tls;
            if (path.equals("A")) {
                SslContext live = AutoCertSsl.contextBuilder(autoCert, provider).build();
                tls = ch -> live.newHandler(ch.alloc());
            } else {
                AutoCertSniHandler.Contexts contexts = AutoCertSniHandler.contexts(autoCert, provider);
                tls = ch -> contexts.newHandler();
            }
            try (TlsServer server = new TlsServer(tls, boss, workers)) {
                // warm-up without swaps
                new LoadClient(clients, client, server.address(), () -> NAME, true, null).run(CONCURRENCY, Duration.ofSeconds(quick ? 1 : 3));
                AtomicLong done = new AtomicLong();
                Thread swapper = new Thread(() -> {
                    long deadline = System.nanoTime() + load.toNanos();
                    long next = System.nanoTime();
                    for (int i = 1; i <= swaps && System.nanoTime() < deadline; i++) {
                        try {
                            autoCert.renewNow(NAME).get(10, TimeUnit.SECONDS);
                        } catch (Exception e) {
                            Bench.log("swap: renewal failed: " + e);
                            return;
                        }
                        current.set(i);
                        done.set(i);
                        next += period.toNanos();
                        long sleep = next - System.nanoTime();
                        if (sleep > 0) {
                            try {
                                TimeUnit.NANOSECONDS.sleep(sleep); // pacing of the swaps, not an assertion
                            } catch (InterruptedException e) {
                                return;
                            }
                        }
                    }
                }, "bench-swapper");
                LoadClient lc = new LoadClient(clients, client, server.address(), () -> NAME, true, obs).generation(current::get);
                swapper.start();
                LoadClient.Result r = lc.run(CONCURRENCY, load);
                swapper.join(10_000);
                int installed = (int) done.get();
                List<Long> counts = new ArrayList<>();
                int distinct = 0, zero = 0;
                for (int g = 0; g <= installed; g++) {
                    long c = perGen.get(g);
                    if (g >= 1) {
                        counts.add(c);
                        if (c == 0) {
                            zero++;
                        }
                    }
                    if (c > 0) {
                        distinct++;
                    }
                }
                long min = counts.stream().mapToLong(Long::longValue).min().orElse(0);
                long max = counts.stream().mapToLong(Long::longValue).max().orElse(0);
                double med = Bench.median(counts);
                long failures = r.handshakeFailures() + r.requestFailures() + wrong.get();
                md.append(f("| %s | %d | %d | %d | %d | %d | %d | %d | %d / %.0f / %d | %d |\n", label, installed, r.handshakesOk(),
                        r.handshakeFailures(), r.requestsOk(), r.requestFailures(), stale.get(), distinct, min, med, max, zero));
                if (wrong.get() > 0) {
                    md.append(f("\n%s: %d connections were served a certificate not covering the name or not from this run\n", provider, wrong.get()));
                }
                if (!r.errors().isEmpty()) {
                    md.append("\n").append(provider).append(" errors (first): ").append(r.errors().subList(0, Math.min(5, r.errors().size()))).append("\n");
                }
                summary.add(new String[] {"2. swaps under load, " + label,
                        f("%d swaps, %d requests, %d failed, %d stale", installed, r.requestsOk(), failures, stale.get()),
                        ">= 1,000 swaps, 0 failed", Bench.verdict(installed >= 1000 && failures == 0 && stale.get() == 0)});
            }
            autoCert.close();
          }
        }
        md.append("\n");
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Bench.write(out, "swap", md.toString(), summary);
    }

    /** SAN check of a served leaf. */
    static final class BenchHooksView {
        private BenchHooksView() {
        }

        static boolean covers(X509Certificate leaf, String host) {
            try {
                var sans = leaf.getSubjectAlternativeNames();
                return sans != null && sans.stream().anyMatch(s -> Integer.valueOf(2).equals(s.get(0)) && host.equalsIgnoreCase((String) s.get(1)));
            } catch (Exception e) {
                return false;
            }
        }
    }
}
