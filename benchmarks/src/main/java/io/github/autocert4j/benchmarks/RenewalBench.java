package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.netty.AcmeHttpListener;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.internal.KeepAliveTlsClient;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;

/**
 * Section 3: real renewals under load. At least 200 renewals through the real path (an order at
 * Pebble for a short-lived certificate, HTTP-01 validation through {@link AcmeHttpListener}, the
 * {@code FileCertStore} write, the swap) while closed-loop clients keep opening new connections
 * (one request each) and keep-alive connections keep sending requests on connections opened
 * before the renewals. Every failed handshake or request counts.
 *
 * <pre>{@code
 * RenewalBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class RenewalBench {
    static final String NAME = "renew.bench.autocert4j.test";
    static final int CONCURRENCY = 8;
    static final int KEEP_ALIVE = 4;

    private RenewalBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        int renewals = Integer.getInteger("bench.renewals", quick ? 20 : 200);
        int httpPort = FreePorts.loopback();
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        EventLoopGroup clients = Bench.group(2);
        StringBuilder md = new StringBuilder();
        Rows rows = new Rows();
        Path store = Files.createTempDirectory("bench-renew");
        CompletableFuture<BigInteger> first = new CompletableFuture<>();
        Set<BigInteger> issued = ConcurrentHashMap.newKeySet();
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.LATEST)
                .profile("default", Duration.ofDays(90)).profile("short", Duration.ofHours(6)).start();
             AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                     .agreeToTermsOfService(true).certificate(NAME).storageDirectory(store).profile("short")
                     .renewal(RenewalPolicy.defaults().withCheckInterval(Duration.ofHours(1)))
                     .listener(e -> {
                         if (e instanceof CertEvent.Issued i) {
                             issued.add(i.serial());
                             first.complete(i.serial());
                         }
                     }).build();
             AcmeHttpListener http = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", httpPort))) {
            Bench.log("renewal: Pebble " + pebble.version());
            autoCert.start();
            first.get(60, TimeUnit.SECONDS);
            SslContext serverCtx = AutoCertSsl.serverContext(autoCert);
            SslContext clientCtx = Bench.clientContext(pebble.issuanceRoot());
            try (TlsServer server = new TlsServer(serverCtx, boss, workers)) {
                // Keep-alive connections, opened before the first renewal, sending requests until the end.
                AtomicBoolean stop = new AtomicBoolean();
                AtomicLong kaRequests = new AtomicLong(), kaFailures = new AtomicLong(), kaReconnects = new AtomicLong();
                List<String> kaErrors = new CopyOnWriteArrayList<>();
                List<Thread> keepAlive = new ArrayList<>();
                for (int k = 0; k < KEEP_ALIVE; k++) {
                    Thread t = new Thread(() -> keepAliveLoop(server.address(), pebble, stop, kaRequests, kaFailures, kaReconnects, kaErrors),
                            "bench-keepalive-" + k);
                    t.setDaemon(true);
                    t.start();
                    keepAlive.add(t);
                }
                // New connections in a closed loop, one request each.
                Set<BigInteger> served = ConcurrentHashMap.newKeySet();
                AtomicLong wrong = new AtomicLong();
                LoadClient.Observer obs = (host, leaf, gen) -> {
                    served.add(leaf.getSerialNumber());
                    if (!BenchCa.covers(leaf, host)) {
                        wrong.incrementAndGet();
                    }
                };
                LoadClient lc = new LoadClient(clients, clientCtx, server.address(), () -> NAME, true, obs);
                AtomicLong ok = new AtomicLong();
                List<String> renewalErrors = new CopyOnWriteArrayList<>();
                List<Double> latencies = new CopyOnWriteArrayList<>();
                Thread renewer = new Thread(() -> {
                    for (int i = 0; i < renewals && renewalErrors.size() < 10; i++) {
                        long t0 = System.nanoTime();
                        try {
                            autoCert.renewNow(NAME).get(60, TimeUnit.SECONDS);
                            ok.incrementAndGet();
                            latencies.add((System.nanoTime() - t0) / 1e9);
                        } catch (Exception e) {
                            renewalErrors.add(e.toString());
                        }
                    }
                }, "bench-renewer");
                long t0 = System.nanoTime();
                renewer.start();
                // The load runs while the renewals do; LoadClient.run needs a duration: run in slices until the renewer is done.
                long hsOk = 0, hsFail = 0, reqOk = 0, reqFail = 0, resumed = 0;
                List<String> loadErrors = new ArrayList<>();
                while (renewer.isAlive() && System.nanoTime() - t0 < TimeUnit.MINUTES.toNanos(6)) {
                    LoadClient.Result r = lc.run(CONCURRENCY, Duration.ofSeconds(2));
                    hsOk += r.handshakesOk();
                    hsFail += r.handshakeFailures();
                    reqOk += r.requestsOk();
                    reqFail += r.requestFailures();
                    resumed += r.resumed();
                    if (loadErrors.size() < 5) {
                        loadErrors.addAll(r.errors().subList(0, Math.min(5 - loadErrors.size(), r.errors().size())));
                    }
                    lc = new LoadClient(clients, clientCtx, server.address(), () -> NAME, true, obs);
                }
                renewer.join(60_000);
                double seconds = (System.nanoTime() - t0) / 1e9;
                stop.set(true);
                for (Thread t : keepAlive) {
                    t.join(15_000);
                }
                Set<BigInteger> unknown = new java.util.HashSet<>(served);
                unknown.removeAll(issued);
                long failedRequests = hsFail + reqFail + kaFailures.get() + wrong.get() + unknown.size();
                md.append("## 3. Real renewals under load\n\n");
                md.append(f("Pebble %s (`PebbleServer`, `PEBBLE_AUTHZREUSE=0`: every order is validated over HTTP-01 through "
                        + "`AcmeHttpListener`), profile `short` (6-hour certificates). `renewNow()` in a loop, one after the other: each is a "
                        + "real order (new key, CSR, HTTP-01 validation, finalize, download), chain verification, a `FileCertStore` write "
                        + "(fsync) and the swap in the live key manager, served by `AutoCertSsl.serverContext(autoCert)` (%s). Meanwhile %d "
                        + "closed-loop clients open new connections (full handshake, chain verified against Pebble's root, one `GET /`, "
                        + "`Connection: close`) and %d keep-alive connections, opened before the first renewal, send `GET /` one after the "
                        + "other (reconnecting only after a failure). A failed request = failed handshake, failed or wrong response, a "
                        + "certificate not covering the name, a served serial the CA did not issue in this run, or a keep-alive request "
                        + "that failed.\n\n", pebble.version(), AutoCertSsl.defaultProvider(), CONCURRENCY, KEEP_ALIVE));
                md.append("| renewals ok | renewal failures | renewal latency median (min–max) | seconds | new connections ok | handshake failures | request failures | keep-alive requests ok | keep-alive failures | keep-alive reconnects | distinct serials served | serials not from this run | resumed |\n");
                md.append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
                md.append(f("| %d | %d | %.3f s (%.3f–%.3f) | %.0f | %d | %d | %d | %d | %d | %d | %d | %d | %d |\n\n", ok.get(), renewalErrors.size(),
                        Bench.median(latencies), latencies.stream().mapToDouble(d -> d).min().orElse(Double.NaN),
                        latencies.stream().mapToDouble(d -> d).max().orElse(Double.NaN), seconds, reqOk, hsFail, reqFail, kaRequests.get(),
                        kaFailures.get(), kaReconnects.get(), served.size(), unknown.size(), resumed));
                if (!renewalErrors.isEmpty()) {
                    md.append("Renewal errors (first): ").append(renewalErrors.subList(0, Math.min(3, renewalErrors.size()))).append("\n\n");
                }
                List<String> errs = new ArrayList<>(loadErrors);
                errs.addAll(kaErrors.subList(0, Math.min(5, kaErrors.size())));
                if (!errs.isEmpty()) {
                    md.append("Client errors (first): ").append(errs).append("\n\n");
                }
                Bench.log(f("renewal: %d renewals ok, %d failed; %d + %d requests, %d failed", ok.get(), renewalErrors.size(), reqOk,
                        kaRequests.get(), failedRequests));
                rows.add("real_renewals_under_load", ok.get(), "count", ">= 200", null,
                        f("renewNow() orders at Pebble %s (6-hour profile), store write, swap, under load; %d failed", pebble.version(), renewalErrors.size()));
                rows.add("real_renewals_failed_requests", failedRequests, "count", "== 0", null,
                        f("among %d new-connection requests and %d keep-alive requests during the renewals", reqOk + reqFail + hsFail, kaRequests.get()));
                rows.add("real_renewals_median_s", Bench.median(latencies), "s", "info", Rows.Spread.of(latencies),
                        "one renewNow() under load: order, validation, download, store, swap");
            }
        } finally {
            clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        Bench.write(out, "renewal", md.toString(), rows);
    }

    private static void keepAliveLoop(InetSocketAddress addr, PebbleServer pebble, AtomicBoolean stop, AtomicLong requests, AtomicLong failures,
                                      AtomicLong reconnects, List<String> errors) {
        KeepAliveTlsClient c = null;
        for (long i = 0; i < 10_000_000 && !stop.get(); i++) {
            try {
                if (c == null) {
                    c = new KeepAliveTlsClient(addr, NAME, pebble.issuanceRoot());
                    if (i > 0) {
                        reconnects.incrementAndGet();
                    }
                }
                if (!TlsServer.BODY.equals(c.get("/"))) {
                    throw new IllegalStateException("unexpected body");
                }
                requests.incrementAndGet();
                Thread.sleep(2); // a steady request stream, not a CPU hog
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                failures.incrementAndGet();
                if (errors.size() < 10) {
                    errors.add("keep-alive: " + e);
                }
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (Exception ignored) {
                    // reconnect below
                }
                c = null;
            }
        }
        try {
            if (c != null) {
                c.close();
            }
        } catch (Exception ignored) {
            // end of the run
        }
    }
}
