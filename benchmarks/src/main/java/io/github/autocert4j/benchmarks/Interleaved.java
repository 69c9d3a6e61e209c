package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;

/**
 * Closed-loop handshake throughput of several server variants measured in interleaved rounds whose
 * order alternates (A,B,C then C,B,A then A,B,C ...), so that drifts in machine load, JIT and GC
 * state hit every variant alike.
 *
 * <pre>{@code
 * Map<String, Interleaved.Totals> t = Interleaved.run(clients, clientCtx, List.of(a, b), observer, 32, warm, 6, round, "hs");
 * double ratio = t.get("A").rate() / t.get("B").rate();
 * }</pre>
 */
final class Interleaved {
    /** One server under test: label, address, SNI name per connection. */
    record Variant(String label, InetSocketAddress address, Supplier<String> sni) {
    }

    /** Sums over the measured rounds of one variant. */
    static final class Totals {
        long handshakes;
        double seconds;
        long failures;
        long resumed;
        long handshakesOk;
        long serverCpuNanos;
        final List<Double> roundRates = new ArrayList<>();
        final List<Double> roundCpu = new ArrayList<>();
        final List<String> errors = new ArrayList<>();

        double rate() {
            return handshakes / seconds;
        }

        /** Server CPU (all event loop threads) per completed handshake, in microseconds. */
        double cpuMicros() {
            return serverCpuNanos / 1e3 / handshakesOk;
        }
    }

    private Interleaved() {
    }

    static Map<String, Totals> run(EventLoopGroup clients, SslContext client, List<Variant> variants, LoadClient.Observer observer,
                                   int concurrency, Duration warm, int rounds, Duration round, String logPrefix) throws InterruptedException {
        Map<String, Totals> totals = new LinkedHashMap<>();
        for (Variant v : variants) {
            totals.put(v.label(), new Totals());
            new LoadClient(clients, client, v.address(), v.sni(), false, observer).run(concurrency, warm);
        }
        for (int i = 0; i < rounds; i++) {
            List<Variant> order = new ArrayList<>(variants);
            if (i % 2 == 1) {
                java.util.Collections.reverse(order);
            }
            StringBuilder line = new StringBuilder(f("%s round %d:", logPrefix, i + 1));
            for (Variant v : order) {
                long cpu0 = Bench.serverCpuNanos();
                LoadClient.Result r = new LoadClient(clients, client, v.address(), v.sni(), false, observer).run(concurrency, round);
                long cpu = Bench.serverCpuNanos() - cpu0;
                Totals t = totals.get(v.label());
                t.handshakesOk += r.handshakesOk();
                t.serverCpuNanos += cpu;
                t.roundCpu.add(cpu / 1e3 / Math.max(1, r.handshakesOk()));
                t.handshakes += r.handshakesInWindow();
                t.seconds += r.seconds();
                t.failures += r.handshakeFailures();
                t.resumed += r.resumed();
                t.roundRates.add(r.rate());
                if (t.errors.size() < 5) {
                    t.errors.addAll(r.errors().subList(0, Math.min(5 - t.errors.size(), r.errors().size())));
                }
                line.append(f(" %s %.0f hs/s %.0f µs;", v.label(), r.rate(), cpu / 1e3 / Math.max(1, r.handshakesOk())));
            }
            Bench.log(line.toString());
        }
        return totals;
    }

    /** Per-round ratios x_i / y_i, formatted "0.95, 1.01, ...". */
    static String roundRatios(Totals x, Totals y) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < Math.min(x.roundRates.size(), y.roundRates.size()); i++) {
            r.add(f("%.2f", x.roundRates.get(i) / y.roundRates.get(i)));
        }
        return String.join(", ", r);
    }

    /** Per-round server-CPU "speed" ratios cpu(y)_i / cpu(x)_i (above 1: x is cheaper), formatted. */
    static String roundCpuRatios(Totals x, Totals y) {
        List<String> r = new ArrayList<>();
        for (int i = 0; i < Math.min(x.roundCpu.size(), y.roundCpu.size()); i++) {
            r.add(f("%.2f", y.roundCpu.get(i) / x.roundCpu.get(i)));
        }
        return String.join(", ", r);
    }

    /** Median of the per-round ratios x_i / y_i. */
    static double medianRoundRatio(Totals x, Totals y) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < Math.min(x.roundRates.size(), y.roundRates.size()); i++) {
            r.add(x.roundRates.get(i) / y.roundRates.get(i));
        }
        return Bench.median(r);
    }
}
