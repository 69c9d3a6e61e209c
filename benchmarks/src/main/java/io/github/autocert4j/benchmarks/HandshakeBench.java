package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 1: full-handshake throughput of a Netty server using the AutoCert live key manager
 * (A) versus the same server with a static {@code SslContext} from the same key and chain (B),
 * per provider, in interleaved rounds A,B,A,B...
 *
 * <pre>{@code
 * HandshakeBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class HandshakeBench {
    static final String NAME = "hs.bench.autocert4j.test";
    static final int CONCURRENCY = 32;

    private HandshakeBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int rounds = quick ? 2 : 5;
        Duration round = Duration.ofSeconds(quick ? 1 : 3);
        Duration warm = Duration.ofSeconds(quick ? 1 : 3);

        Path store = Files.createTempDirectory("bench-hs");
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<X509Certificate> chain = ca.chain(kp, List.of(NAME));
        BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, NAME, List.of(NAME), kp.getPrivate(), chain);
        AutoCert autoCert = Bench.fromStore(store, List.of(NAME)).start();
        CertificateStatus st = autoCert.status(NAME).orElseThrow();
        if (st.state() != CertificateStatus.State.VALID || !st.serial().equals(chain.get(0).getSerialNumber())) {
            throw new IllegalStateException("stored certificate not served: " + st);
        }
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        EventLoopGroup clients = Bench.group(2);
        SslContext client = Bench.clientContext(ca.root);

        StringBuilder md = new StringBuilder();
        List<String[]> summary = new ArrayList<>();
        md.append("## 1. Handshake throughput: live key manager vs static SslContext\n\n");
        md.append(f("Full TLS 1.3 handshakes (ECDSA P-256 leaf + intermediate, no resumption) per second against a Netty server on 127.0.0.1 "
                + "(1 boss + 2 worker threads), from %d concurrent closed-loop client connections (Netty + BoringSSL client, 2 threads, "
                + "chain verified by the JDK trust manager, connection closed right after the handshake). Same JVM, same key and chain. "
                + "**A** = `AutoCertSsl.contextBuilder(autoCert, provider).build()`, **B** = `SslContextBuilder.forServer(privateKey, chain)"
                + ".sslProvider(provider).build()`. Warm-up %d s each, then %d interleaved rounds A,B,A,B... of %d s each. Ratio = "
                + "total A handshakes / total B handshakes (equal round lengths); per-round ratios A_i/B_i shown as min..max.\n\n",
                CONCURRENCY, warm.toSeconds(), rounds, round.toSeconds()));
        md.append("| provider | A: AutoCert (hs/s, mean) | B: static (hs/s, mean) | ratio A/B | per-round ratios | failed | resumed |\n");
        md.append("|---|---:|---:|---:|---|---:|---:|\n");

        List<SslProvider> providers = new ArrayList<>(List.of(SslProvider.JDK));
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        } else {
            md.append("OpenSSL provider unavailable: ").append(OpenSsl.unavailabilityCause()).append("\n\n");
        }
        for (SslProvider provider : providers) {
            Bench.log("handshake: provider " + provider);
            SslContext a = AutoCertSsl.contextBuilder(autoCert, provider).build();
            SslContext b = SslContextBuilder.forServer(kp.getPrivate(), chain.toArray(new X509Certificate[0])).sslProvider(provider).build();
            try (TlsServer sa = new TlsServer(a, boss, workers); TlsServer sb = new TlsServer(b, boss, workers)) {
                AtomicReference<String> wrong = new AtomicReference<>();
                LoadClient.Observer check = (host, leaf, gen) -> {
                    if (!leaf.getSerialNumber().equals(chain.get(0).getSerialNumber())) {
                        wrong.set("served serial " + leaf.getSerialNumber().toString(16));
                    }
                };
                LoadClient la = new LoadClient(clients, client, sa.address(), () -> NAME, false, check);
                LoadClient lb = new LoadClient(clients, client, sb.address(), () -> NAME, false, check);
                la.run(CONCURRENCY, warm);
                lb.run(CONCURRENCY, warm);
                long totalA = 0, totalB = 0, fail = 0, resumed = 0;
                double minR = Double.MAX_VALUE, maxR = 0, secA = 0, secB = 0;
                List<String> errors = new ArrayList<>();
                for (int i = 0; i < rounds; i++) {
                    LoadClient.Result ra = new LoadClient(clients, client, sa.address(), () -> NAME, false, check).run(CONCURRENCY, round);
                    LoadClient.Result rb = new LoadClient(clients, client, sb.address(), () -> NAME, false, check).run(CONCURRENCY, round);
                    totalA += ra.handshakesInWindow();
                    totalB += rb.handshakesInWindow();
                    secA += ra.seconds();
                    secB += rb.seconds();
                    fail += ra.handshakeFailures() + rb.handshakeFailures();
                    resumed += ra.resumed() + rb.resumed();
                    errors.addAll(ra.errors());
                    errors.addAll(rb.errors());
                    double r = ra.rate() / rb.rate();
                    minR = Math.min(minR, r);
                    maxR = Math.max(maxR, r);
                    Bench.log(f("  round %d: A %.0f hs/s, B %.0f hs/s, ratio %.3f", i + 1, ra.rate(), rb.rate(), r));
                }
                double rateA = totalA / secA, rateB = totalB / secB, ratio = rateA / rateB;
                md.append(f("| %s | %.0f | %.0f | **%.3f** | %.3f..%.3f | %d | %d |\n", provider, rateA, rateB, ratio, minR, maxR, fail, resumed));
                if (wrong.get() != null) {
                    md.append("\nWRONG CERTIFICATE SERVED: ").append(wrong.get()).append("\n");
                }
                if (!errors.isEmpty()) {
                    md.append("\nerrors (first): ").append(errors.subList(0, Math.min(5, errors.size()))).append("\n");
                }
                summary.add(new String[] {"1. handshake ratio AutoCert/static, " + provider, f("%.3f (%.0f vs %.0f hs/s)", ratio, rateA, rateB),
                        ">= 0.99", Bench.verdict(ratio >= 0.99 && fail == 0 && wrong.get() == null)});
            }
        }
        md.append("\n");
        autoCert.close();
        clients.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
        Bench.write(out, "handshake", md.toString(), summary);
    }
}
