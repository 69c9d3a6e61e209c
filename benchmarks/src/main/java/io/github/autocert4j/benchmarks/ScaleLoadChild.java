package io.github.autocert4j.benchmarks;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;

/**
 * The fresh JVM of the scale benchmark's cold load: {@code build()} + {@code start()} of an
 * AutoCert managing the first N certificates of the scale store (no warmed JIT, and the parent
 * drops the page cache before starting it where it can), then {@code AutoCertSsl.serverContext(autoCert)}: what a
 * Netty server pays before serving. With the default {@code lazyLoadAbove} (500) a start of 100,000 is lazy:
 * {@code start()} reads no certificate and the server context prepares no key material (each certificate is loaded
 * and converted at its first handshake; a background sweep loads the rest). Prints
 * {@code LOAD <build-s> <start-s> <valid> <server-context-s> <provider> <not-loaded> <process-cpu-s>}.
 *
 * <p>With a port ({@code serve}): the server context also listens on 127.0.0.1:port (a Netty host, its bind
 * included in the server-context figure), prints {@code READY}, serves the parent's first handshakes until stdin
 * closes, then waits for the background sweep and prints {@code SWEEP <s from start() until every certificate was
 * loaded> <valid> <how>}: {@code how} = {@code event} when that moment is the last {@link CertEvent.Loaded} (emitted
 * synchronously, under the certificate's lock, as each one is loaded: the sweep's or a handshake's load, microseconds
 * before its status leaves {@code NOT_LOADED}; the library exposes no other moment), {@code poll} when some certificate
 * left {@code NOT_LOADED} without one (nothing usable stored) and the moment is the 10 ms status poll's, then the
 * process's CPU seconds so far. With {@code eager}: {@code lazyLoadAbove(Integer.MAX_VALUE)}, every certificate loaded by
 * {@code start()} and prepared by the server context (the behaviour before the lazy switch, for comparison); with
 * {@code lazy}: {@code lazyLoadAbove(0)}, lazy whatever N (the lazy-threshold sweep, {@link LazyThresholdBench}); either
 * may be followed by a port to serve on.
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.ScaleLoadChild benchmarks/target/scale-store/store 100000 [port | eager [port] | lazy [port]]
 * }</pre>
 */
public final class ScaleLoadChild {
    private ScaleLoadChild() {
    }

    public static void main(String[] args) throws Exception {
        Path store = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        String mode = args.length > 2 && (args[2].equals("eager") || args[2].equals("lazy")) ? args[2] : "default";
        Integer lazyLoadAbove = switch (mode) {
            case "eager" -> Integer.MAX_VALUE;
            case "lazy" -> 0;
            default -> null;
        };
        int port = mode.equals("default") ? (args.length > 2 ? Integer.parseInt(args[2]) : -1) : (args.length > 3 ? Integer.parseInt(args[3]) : -1);
        List<String> names = IntStream.range(0, n).mapToObj(ScaleBench::name).toList();
        // Each certificate's first Loaded event and the moment (System.nanoTime) of the latest first one.
        Set<String> loadedIds = ConcurrentHashMap.newKeySet();
        AtomicLong lastLoadedNanos = new AtomicLong();
        long t0 = System.nanoTime();
        AutoCert ac = Bench.fromStore(store, names, lazyLoadAbove, e -> {
            if (e instanceof CertEvent.Loaded l && loadedIds.add(l.certificate())) {
                long now = System.nanoTime();
                lastLoadedNanos.accumulateAndGet(now, Math::max);
            }
        });
        long t1 = System.nanoTime();
        ac.start();
        long t2 = System.nanoTime();
        List<CertificateStatus> status = ac.status();
        long valid = status.stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
        long notLoaded = status.stream().filter(s -> s.state() == CertificateStatus.State.NOT_LOADED).count();
        // What a Netty server pays before it serves: the documented server context, which with the OpenSSL provider
        // converts every loaded certificate's key material (AutoCertSsl.prepareKeyMaterial) before it returns.
        SslContext ctx = AutoCertSsl.serverContext(ac);
        if (port >= 0) {
            EventLoopGroup boss = Bench.group(1), workers = Bench.group(2);
            new TlsServer(ch -> ctx.newHandler(ch.alloc()), boss, workers, port);
        }
        long t3 = System.nanoTime();
        System.out.println("LOAD " + (t1 - t0) / 1e9 + " " + (t2 - t1) / 1e9 + " " + valid + " " + (t3 - t2) / 1e9 + " "
                + AutoCertSsl.defaultProvider() + " " + notLoaded + " " + cpuSeconds());
        System.out.flush();
        if (port >= 0) {
            System.out.println("READY");
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until the parent closes stdin
            }
            // The wait is a status poll; the figure is the last Loaded event's moment when every certificate not loaded
            // after start() had one, else (some had nothing usable stored) the poll's, every 10 ms (a status() of 100,000
            // costs a few ms: the poll's own error is then about 10-20 ms).
            long deadline = System.nanoTime() + 600_000_000_000L;
            long left = notLoaded;
            while (left > 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
                left = ac.status().stream().filter(s -> s.state() == CertificateStatus.State.NOT_LOADED).count();
            }
            long polled = System.nanoTime();
            boolean byEvent = left == 0 && loadedIds.size() >= notLoaded + valid && notLoaded > 0;
            long done = byEvent ? lastLoadedNanos.get() : polled;
            long validNow = ac.status().stream().filter(s -> s.state() == CertificateStatus.State.VALID).count();
            System.out.println("SWEEP " + (left > 0 ? Double.NaN : (done - t1) / 1e9) + " " + validNow + " " + (byEvent ? "event" : "poll") + " " + cpuSeconds());
            System.out.flush();
        }
        Runtime.getRuntime().halt(0);
    }

    /** CPU seconds (all threads, user + system) this process used so far, or NaN where the JVM does not say. */
    static double cpuSeconds() {
        if (java.lang.management.ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            long ns = os.getProcessCpuTime();
            return ns < 0 ? Double.NaN : ns / 1e9;
        }
        return Double.NaN;
    }
}
