package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.netty.AcmeHttpListener;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.netty.channel.EventLoopGroup;

/**
 * Section 3: latency from "name requested" to "a TLS handshake presents the new certificate"
 * against a local Pebble, with a new account each time and with one reused account.
 *
 * <pre>{@code
 * IssuanceBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class IssuanceBench {
    static final Duration T = Duration.ofSeconds(30);

    private IssuanceBench() {
    }

    static void run(Path out) throws Exception {
        int n = Bench.quick() ? 4 : 20;
        int warm = 2;
        int httpPort = FreePorts.loopback();
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        StringBuilder md = new StringBuilder();
        Rows rows = new Rows();
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.LATEST).start()) {
            Bench.log("issuance: Pebble " + pebble.version() + " at " + pebble.directoryUri());
            // A: a new account (fresh store) for every issuance.
            List<Double> fresh = new ArrayList<>();
            List<Double> freshWarm = new ArrayList<>();
            for (int i = 0; i < warm + n; i++) {
                String name = "fresh" + i + ".autocert4j.test";
                AtomicReference<CompletableFuture<BigInteger>> issued = new AtomicReference<>(new CompletableFuture<>());
                Path store = Files.createTempDirectory("bench-iss");
                AutoCert autoCert = builder(pebble, store, name, issued).build();
                try (AcmeHttpListener http = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", httpPort));
                     TlsServer tls = new TlsServer(AutoCertSsl.serverContext(autoCert), boss, workers)) {
                    long t0 = System.nanoTime();
                    autoCert.start();
                    BigInteger serial = issued.get().get(T.toSeconds(), TimeUnit.SECONDS);
                    awaitServed(tls.address(), name, serial, pebble);
                    double s = (System.nanoTime() - t0) / 1e9;
                    (i < warm ? freshWarm : fresh).add(s);
                } finally {
                    autoCert.close();
                }
            }
            Bench.log("issuance: fresh accounts " + fresh);
            // B: one AutoCert (one account), renewNow() again and again.
            List<Double> reused = new ArrayList<>();
            List<Double> reusedWarm = new ArrayList<>();
            String name = "reused.autocert4j.test";
            AtomicReference<CompletableFuture<BigInteger>> issued = new AtomicReference<>(new CompletableFuture<>());
            Path store = Files.createTempDirectory("bench-iss");
            AutoCert autoCert = builder(pebble, store, name, issued).build();
            try (AcmeHttpListener http = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", httpPort));
                 TlsServer tls = new TlsServer(AutoCertSsl.serverContext(autoCert), boss, workers)) {
                long t0 = System.nanoTime();
                autoCert.start();
                BigInteger serial = issued.get().get(T.toSeconds(), TimeUnit.SECONDS);
                awaitServed(tls.address(), name, serial, pebble);
                reusedWarm.add((System.nanoTime() - t0) / 1e9);
                for (int i = 0; i < warm + n; i++) {
                    issued.set(new CompletableFuture<>());
                    t0 = System.nanoTime();
                    BigInteger s = autoCert.renewNow(name).get(T.toSeconds(), TimeUnit.SECONDS).serial();
                    awaitServed(tls.address(), name, s, pebble);
                    (i < warm ? reusedWarm : reused).add((System.nanoTime() - t0) / 1e9);
                }
            } finally {
                autoCert.close();
            }
            Bench.log("issuance: reused account " + reused);

            md.append("## 4. Issuance latency against a local Pebble\n\n");
            md.append(f("Pebble %s (`PebbleServer`, flavor LATEST: `PEBBLE_VA_NOSLEEP=1`, `PEBBLE_AUTHZREUSE=0` so every order is validated, no "
                    + "Retry-After), HTTP-01 answered by `AcmeHttpListener` on 127.0.0.1, certificate served by a Netty server with "
                    + "`AutoCertSsl.serverContext(autoCert)` (OpenSSL provider). Latency = from `start()` (new account: fresh store directory, "
                    + "new `AutoCert` each time, so account key generation + registration are included) or `renewNow(name)` (reused account: "
                    + "one `AutoCert`) to the end of a TLS handshake (JDK client trusting only Pebble's issuance root, SNI = the name) that "
                    + "presents the new serial. %d measured issuances each, after %d warm-up issuances (warm-up values listed separately).\n\n",
                    pebble.version(), n, warm));
            md.append("| mode | n | min (s) | median (s) | max (s) | warm-up (s) |\n|---|---:|---:|---:|---:|---|\n");
            row(md, "new account each time", fresh, freshWarm);
            row(md, "reused account (`renewNow`)", reused, reusedWarm);
            md.append("\n");
            double medF = Bench.median(fresh), medR = Bench.median(reused);
            rows.add("issuance_median_s", medF, "s", "<= 0.25", Rows.Spread.of(fresh),
                    f("new account each time: start() on an empty store until a handshake presents the certificate, Pebble %s, n=%d",
                            pebble.version(), fresh.size()));
            rows.add("issuance_reused_account_median_s", medR, "s", "<= 0.25", Rows.Spread.of(reused),
                    f("renewNow() with one account until a handshake presents the new certificate, n=%d", reused.size()));
        } finally {
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        Bench.write(out, "issuance", md.toString(), rows);
    }

    private static AutoCertBuilder builder(PebbleServer pebble, Path store, String name, AtomicReference<CompletableFuture<BigInteger>> issued) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).email("ops@autocert4j.test").certificate(name).storageDirectory(store)
                .listener(e -> {
                    if (e instanceof CertEvent.Issued i) {
                        issued.get().complete(i.serial());
                    } else if (e instanceof CertEvent.Failed fl) {
                        issued.get().completeExceptionally(new IllegalStateException("issuance failed: " + fl));
                    }
                });
    }

    /** Handshakes until the served leaf has {@code serial} (bounded: 50 tries). */
    private static void awaitServed(InetSocketAddress addr, String name, BigInteger serial, PebbleServer pebble) throws Exception {
        for (int i = 0; i < 50; i++) {
            if (TlsProbe.handshake(addr, name, pebble.issuanceRoot(), Duration.ofSeconds(5)).serial().equals(serial)) {
                return;
            }
        }
        throw new IllegalStateException("serial " + serial.toString(16) + " never served for " + name);
    }

    private static void row(StringBuilder md, String mode, List<Double> v, List<Double> warm) {
        md.append(f("| %s | %d | %.3f | **%.3f** | %.3f | %s |\n", mode, v.size(), v.stream().mapToDouble(d -> d).min().orElse(Double.NaN),
                Bench.median(v), v.stream().mapToDouble(d -> d).max().orElse(Double.NaN),
                String.join(", ", warm.stream().map(d -> f("%.3f", d)).toList())));
    }
}
