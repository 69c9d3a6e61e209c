package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.netty.AutoCertTls;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

/**
 * Section {@code ondemandloaded} (issue 23): the handshake latency of an on-demand name that is
 * already loaded, against a static {@code SslContext} with the same key and chain, per provider.
 *
 * <p>(a) {@code SslContextBuilder.forServer(key, chain)}, a Netty server with a plain
 * {@code SslHandler}; (b) an on-demand-only AutoCert (every name allowed, a dead ACME directory so
 * nothing can be ordered) whose store holds the certificate, loaded once through
 * {@code certificateReady(name)} before measuring, served the way a user serves on-demand names:
 * {@code AutoCertTls.forServer(autoCert, AutoCertSsl.contextBuilder(autoCert, provider).build())}
 * (ClientHello router, then the live key manager). Same client for both: one connection at a time
 * (so the rate is the inverse of the latency), each a full TLS 1.3 handshake, never resumed
 * (counted), the served leaf compared with the expected one. Interleaved rounds, order alternating;
 * latency ratio = median over rounds of (latency of b / latency of a). Also the server engines'
 * own CPU per handshake in memory ({@link EngineBench}), which isolates the key manager.
 *
 * <p>Runs on its own (its {@link #main}); as a section of {@link Bench} once its switch has
 * {@code case "ondemandloaded" -> OnDemandLoadedBench.run(out);} and bench.sh a
 * {@code run ondemandloaded 240 1g} line (about 2.5 minutes):
 *
 * <pre>{@code
 * java -cp "benchmarks/target/lib/*:benchmarks/target/lib/bench-classes" io.github.autocert4j.benchmarks.OnDemandLoadedBench benchmarks/target/results
 * }</pre>
 *
 * Writes {@code <outDir>/ondemandloaded.md} and {@code .json} with the row
 * {@code ondemand_loaded_handshake_vs_static} (the worse of the providers' ratios, target ≤ 1.2) and
 * one row per provider.
 */
final class OnDemandLoadedBench {
    static final String SECTION = "ondemandloaded";
    static final String NAME = "loaded.ondemand.bench.autocert4j.test";

    private OnDemandLoadedBench() {
    }

    /** Runs the section alone: {@code OnDemandLoadedBench <outDir>}. */
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args.length > 0 ? args[0] : "benchmarks/target/results");
        Files.createDirectories(out);
        run(out);
        System.exit(0);
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int rounds = quick ? 5 : 9;
        Duration round = Duration.ofMillis(quick ? 500 : 2000);
        Duration warm = Duration.ofMillis(quick ? 1000 : 4000);
        String loadBefore = Bench.loadAverage();

        Path store = Files.createTempDirectory("bench-ondemand-loaded");
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<X509Certificate> chain = ca.chain(kp, List.of(NAME));
        BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, NAME, List.of(NAME), kp.getPrivate(), chain);
        AutoCert autoCert = AutoCert.builder().directory(BenchCa.DEAD_DIRECTORY).agreeToTermsOfService(true)
                .store(FileCertStore.of(store)).renewal(Bench.quietPolicy())
                .onDemand(OnDemand.allow(n -> CompletableFuture.completedFuture(true)).build()).build().start();
        if (!autoCert.certificateReady(NAME).get(30, TimeUnit.SECONDS)
                || !autoCert.status(NAME).orElseThrow().serial().equals(chain.get(0).getSerialNumber())) {
            throw new IllegalStateException("the stored on-demand certificate was not loaded: " + autoCert.status());
        }
        byte[] expectedLeaf = chain.get(0).getEncoded();

        EventLoopGroup boss = Bench.serverGroup(1, "odl-boss");
        EventLoopGroup workers = Bench.serverGroup(1, "odl-worker");
        EventLoopGroup clients = Bench.group(1);
        SslContext client = Bench.unverifiedClientContext();

        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## On-demand TLS: a loaded name's handshake vs a static context\n\n");
        md.append(f("Sequential full TLS 1.3 handshakes (one connection at a time, no resumption; ECDSA P-256 leaf + intermediate) against "
                + "a Netty server on 127.0.0.1 (1 boss + 1 worker thread) from a Netty + BoringSSL client without chain verification "
                + "(the served leaf is compared with the expected one). **a** = static `SslContextBuilder.forServer(key, chain)`; "
                + "**b** = on-demand AutoCert with the name already loaded, served through `AutoCertTls.forServer(autoCert, "
                + "AutoCertSsl.contextBuilder(autoCert, provider).build())`. Same key and chain, same JVM. Warm-up %.1f s each, then %d "
                + "rounds of %.1f s per variant, order alternating; latency = 1 / (handshakes per second of one connection at a time); "
                + "*latency ratio* = median over rounds of (latency b / latency a), min–max over rounds as spread. In-memory: the server "
                + "engine's own CPU per handshake ([EngineBench], a = static context, b = the AutoCert host context), ratio b/a.\n\n",
                warm.toMillis() / 1000.0, rounds, round.toMillis() / 1000.0));
        md.append("| provider | latency µs a / b (all rounds) | latency ratio b/a (min–max) | server CPU µs/hs a / b | in-memory server µs/hs a / b | in-memory ratio b/a (min–max) | failed | resumed | wrong |\n");
        md.append("|---|---|---:|---|---|---:|---:|---:|---:|\n");
        StringBuilder perRound = new StringBuilder("\nPer-round latency ratios b/a (round order):\n\n");

        List<SslProvider> providers = new ArrayList<>(List.of(SslProvider.JDK));
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        } else {
            md.append("OpenSSL provider unavailable: ").append(OpenSsl.unavailabilityCause()).append("\n\n");
        }
        double worst = Double.NaN;
        List<Double> worstSpread = null;
        boolean clean = true;
        for (SslProvider provider : providers) {
            Bench.log("ondemandloaded: provider " + provider);
            SslContext a = SslContextBuilder.forServer(kp.getPrivate(), chain.toArray(new X509Certificate[0])).sslProvider(provider).build();
            SslContext host = AutoCertSsl.contextBuilder(autoCert, provider).build();
            AutoCertSsl.prepareKeyMaterial(host, autoCert);
            AutoCertTls tls = AutoCertTls.forServer(autoCert, host);
            try (TlsServer sa = new TlsServer(a, boss, workers); TlsServer sb = new TlsServer(ch -> tls.newHandler(), boss, workers)) {
                AtomicLong wrong = new AtomicLong();
                LoadClient.Observer check = (h, leaf, gen) -> {
                    try {
                        if (!Arrays.equals(leaf.getEncoded(), expectedLeaf)) {
                            wrong.incrementAndGet();
                        }
                    } catch (CertificateEncodingException e) {
                        wrong.incrementAndGet();
                    }
                };
                Map<String, Interleaved.Totals> t = Interleaved.run(clients, client, List.of(
                        new Interleaved.Variant("a", sa.address(), () -> NAME), new Interleaved.Variant("b", sb.address(), () -> NAME)),
                        check, 1, warm, rounds, round, "ondemandloaded " + provider);
                Interleaved.Totals ta = t.get("a"), tb = t.get("b");
                List<Double> ratios = Bench.ratios(ta.roundRates, tb.roundRates); // rate a / rate b = latency b / latency a
                double ratio = Bench.median(ratios);
                long fail = ta.failures + tb.failures, resumed = ta.resumed + tb.resumed;
                Map<String, Supplier<SSLEngine>> engines = new LinkedHashMap<>();
                engines.put("a", () -> a.newEngine(ByteBufAllocator.DEFAULT));
                engines.put("b", () -> host.newEngine(ByteBufAllocator.DEFAULT));
                EngineBench.Result er = EngineBench.run(engines, client, NAME, expectedLeaf, rounds,
                        quick ? 30 : provider == SslProvider.JDK ? 150 : 400);
                List<Double> engineRatios = Bench.ratios(er.cpu().get("b"), er.cpu().get("a"));
                md.append(f("| %s | %.0f / %.0f | **%.3f** (%.2f–%.2f) | %.0f / %.0f | %.1f / %.1f | %.3f (%.2f–%.2f) | %d | %d | %d |\n",
                        provider, 1e6 / ta.rate(), 1e6 / tb.rate(), ratio, HandshakeBench.min(ratios), HandshakeBench.max(ratios),
                        ta.cpuMicros(), tb.cpuMicros(), Bench.median(er.cpu().get("a")), Bench.median(er.cpu().get("b")),
                        Bench.median(engineRatios), HandshakeBench.min(engineRatios), HandshakeBench.max(engineRatios), fail,
                        resumed + er.resumed(), wrong.get()));
                perRound.append(f("- %s: %s; in memory: %s\n", provider, Bench.list(ratios), Bench.list(engineRatios)));
                Bench.log(f("ondemandloaded %s: latency a %.0f µs, b %.0f µs, median ratio b/a %.3f; in-memory ratio %.3f; failed %d, "
                        + "resumed %d, wrong %d", provider, 1e6 / ta.rate(), 1e6 / tb.rate(), ratio, Bench.median(engineRatios), fail,
                        resumed + er.resumed(), wrong.get()));
                boolean ok = fail + wrong.get() + resumed + er.resumed() == 0;
                clean &= ok;
                String p = provider == SslProvider.JDK ? "jdk" : "openssl";
                rows.add("ondemand_loaded_handshake_vs_static_" + p, ok ? ratio : Double.NaN, "ratio", "<= 1.2", Rows.Spread.of(ratios),
                        f("latency of a loaded on-demand name's full handshake / a static context's, %s provider, median of %d interleaved "
                                + "rounds%s", provider, rounds, ok ? "" : "; failed, resumed or wrong handshakes: not a measurement"));
                if (Double.isNaN(worst) || ratio > worst) {
                    worst = ratio;
                    worstSpread = ratios;
                }
            }
        }
        rows.add("ondemand_loaded_handshake_vs_static", clean ? worst : Double.NaN, "ratio", "<= 1.2", Rows.Spread.of(worstSpread),
                f("the worse of the providers' latency ratios (loaded on-demand name / static context); load average before %s, after %s",
                        loadBefore, Bench.loadAverage()));
        md.append(perRound).append("\n");
        autoCert.close();
        clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        Bench.write(out, SECTION, md.toString(), rows);
    }
}
