package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertEventListener;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.netty.AcmeHttpListener;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.netty.AutoCertTls;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/**
 * Section 8: on-demand TLS. (1) The first handshake for a new allowed name through a real Netty
 * host ({@link AutoCertTls}) against a real Pebble, beside the same certificate obtained in-process
 * ({@code addCertificate(name)}), in interleaved rounds; (2) the first handshake of a stored name
 * after a restart beside a handshake to a name already in memory; (3) a store of 1,000,000 stored
 * on-demand certificates: cold start and heap with a 10,000-entry cache in fresh JVMs
 * ({@link OnDemandChild}), and handshake throughput with random SNI names (uniform over all of
 * them, or from a hot set of 5,000) against a 1-name server.
 *
 * <pre>{@code
 * OnDemandBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class OnDemandBench {
    static final int MAX = 1_000_000;
    static final int QUICK = 20_000;
    /** Certificates per shared key pair in the generated store (the leaves all differ). */
    static final int KEY_SHARE = 16;
    static final int CACHE = 10_000;
    static final int HOT = 5_000;
    static final int CONCURRENCY = 32;
    /** Bump when the generated store's content changes. */
    static final String STORE_VERSION = "v1-key-per-16";
    static final Duration T = Duration.ofSeconds(60);

    private OnDemandBench() {
    }

    static String name(int i) {
        return "o" + i + ".ondemand.autocert4j.test";
    }

    /** Events of one manager: orders (Issued, Failed) and loads from the store. */
    static final class Counters implements CertEventListener {
        final AtomicLong issued = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        final AtomicLong loaded = new AtomicLong();
        /** System.nanoTime() of each certificate's Issued event (reported once the certificate is stored and live). */
        final Map<String, Long> issuedNanos = new java.util.concurrent.ConcurrentHashMap<>();

        @Override
        public void onEvent(CertEvent e) {
            if (e instanceof CertEvent.Issued i) {
                issuedNanos.put(i.certificate(), System.nanoTime());
                issued.incrementAndGet();
            } else if (e instanceof CertEvent.Failed) {
                failed.incrementAndGet();
            } else if (e instanceof CertEvent.Loaded) {
                loaded.incrementAndGet();
            }
        }
    }

    /** Every name allowed, order limits far above anything the benchmark does, a 10,000-certificate cache. */
    static OnDemand.Builder allowAll() {
        return OnDemand.allow(n -> CompletableFuture.completedFuture(true)).orderRate(1_000_000, 100_000).maxCertificatesInMemory(CACHE);
    }

    /**
     * An on-demand AutoCert over the generated store, no configured certificate, an unreachable
     * ACME directory (nothing can be ordered) and no renewal contact (no ARI, 30-day checks).
     */
    static AutoCert fromStore(Path store, Counters counters) {
        return AutoCert.builder().directory(BenchCa.DEAD_DIRECTORY).agreeToTermsOfService(true).store(FileCertStore.of(store))
                .renewal(Bench.quietPolicy()).listener(counters).onDemand(allowAll().build()).build();
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## 8. On-demand TLS\n\n");
        firstHandshakes(quick, rows, md);
        scale(quick, rows, md);
        Bench.write(out, "ondemand", md.toString(), rows);
    }

    // ------------------------------------------------------------------ parts 1 and 2: Pebble

    private static void firstHandshakes(boolean quick, Rows rows, StringBuilder md) throws Exception {
        int rounds = quick ? 5 : 7;
        int perRound = 5;
        int warm = 2;
        int httpPort = FreePorts.loopback();
        EventLoopGroup boss = Bench.group(1);
        EventLoopGroup workers = Bench.group(2);
        Path store = Files.createTempDirectory("bench-ondemand");
        try (PebbleServer pebble = PebbleServer.builder().httpPort(httpPort).flavor(PebbleServer.Flavor.LATEST).start()) {
            Bench.log("ondemand: Pebble " + pebble.version() + " at " + pebble.directoryUri());
            TimedClient client = new TimedClient(pebble.issuanceRoot());
            Counters events = new Counters();
            Map<String, BigInteger> serials = new HashMap<>();
            List<Double> od = new ArrayList<>(), ip = new ArrayList<>(), odWarm = new ArrayList<>(), ipWarm = new ArrayList<>();
            List<Double> odAfter = new ArrayList<>(), ipAfter = new ArrayList<>();
            List<Double> roundRatios = new ArrayList<>();
            StringBuilder perRoundLines = new StringBuilder();
            int next = 0;
            String provider;
            try (AutoCert ac = pebbleOnDemand(pebble, store, events).start();
                 AcmeHttpListener http = AcmeHttpListener.bind(ac.http01(), new InetSocketAddress("127.0.0.1", httpPort))) {
                AutoCertTls tls = AutoCertTls.forServer(ac);
                provider = AutoCertSsl.defaultProvider() == SslProvider.OPENSSL ? "OpenSSL" : "JDK"; // what forServer(autoCert) uses
                try (TlsServer host = new TlsServer(ch -> tls.newHandler(), boss, workers)) {
                    for (int i = 0; i < warm; i++) {
                        String a = "warm-od" + i + ".ondemand.autocert4j.test", b = "warm-ip" + i + ".ondemand.autocert4j.test";
                        odWarm.add(onDemandFirst(client, host.address(), a, serials, events).seconds());
                        ipWarm.add(inProcess(ac, client, host.address(), b, serials, events).seconds());
                    }
                    for (int r = 0; r < rounds; r++) {
                        List<Double> o = new ArrayList<>(), p = new ArrayList<>();
                        boolean onDemandFirst = r % 2 == 0;
                        for (int half = 0; half < 2; half++) {
                            boolean doOnDemand = (half == 0) == onDemandFirst;
                            for (int k = 0; k < perRound; k++) {
                                String name = (doOnDemand ? "od" : "ip") + (next++) + ".ondemand.autocert4j.test";
                                Sample sample = doOnDemand ? onDemandFirst(client, host.address(), name, serials, events)
                                        : inProcess(ac, client, host.address(), name, serials, events);
                                (doOnDemand ? o : p).add(sample.seconds());
                                (doOnDemand ? odAfter : ipAfter).add(sample.afterIssued());
                            }
                        }
                        od.addAll(o);
                        ip.addAll(p);
                        double ratio = Bench.median(o) / Bench.median(p);
                        roundRatios.add(ratio);
                        String line = f("round %d (%s first): on-demand %s s; in-process %s s; ratio of medians %.3f", r + 1,
                                onDemandFirst ? "on-demand" : "in-process", Bench.list(o), Bench.list(p), ratio);
                        Bench.log("ondemand: " + line);
                        perRoundLines.append("- ").append(line).append('\n');
                    }
                }
            }
            long expectedOrders = 2L * warm + 2L * rounds * perRound;
            if (events.issued.get() != expectedOrders || events.failed.get() != 0) {
                throw new IllegalStateException(f("expected exactly %d orders and no failure, saw %d issued and %d failed", expectedOrders,
                        events.issued.get(), events.failed.get()));
            }
            double ratio = Bench.median(roundRatios);
            rows.add("ondemand_first_handshake_s", Bench.median(od), "s", "info", Rows.Spread.of(od),
                    f("connect to handshake complete for a new allowed name through AutoCertTls (the order runs inside the handshake), "
                            + "Pebble %s, median of %d (%d rounds of %d)", pebble.version(), od.size(), rounds, perRound));
            rows.add("inprocess_issuance_s", Bench.median(ip), "s", "info", Rows.Spread.of(ip),
                    f("autoCert.addCertificate(name).get() on the same manager, same rounds, median of %d", ip.size()));
            rows.add("ondemand_first_handshake_ratio", ratio, "ratio", "<= 1.25", Rows.Spread.of(roundRatios),
                    f("median of the per-round ratios (median on-demand / median in-process), %d interleaved rounds", rounds));

            // Part 2: a fresh AutoCert on the same store; every name is stored but nothing is loaded.
            Counters again = new Counters();
            List<String> stored = new ArrayList<>(serials.keySet());
            Collections.shuffle(stored, new Random(42));
            List<Double> first = new ArrayList<>(), loaded = new ArrayList<>(), firstWarm = new ArrayList<>();
            List<String> inMemory = new ArrayList<>();
            int at = 0;
            try (AutoCert ac = pebbleOnDemand(pebble, store, again).start()) {
                if (!ac.status().isEmpty()) {
                    throw new IllegalStateException("a restarted on-demand manager loaded " + ac.status().size() + " certificates at start-up");
                }
                AutoCertTls tls = AutoCertTls.forServer(ac);
                try (TlsServer host = new TlsServer(ch -> tls.newHandler(), boss, workers)) {
                    for (int i = 0; i < warm; i++) {
                        String name = stored.get(at++);
                        firstWarm.add(storedHandshake(client, host.address(), name, serials) * 1e3);
                        inMemory.add(name);
                    }
                    for (int r = 0; r < rounds; r++) {
                        boolean storedFirst = r % 2 == 0;
                        List<String> fresh = stored.subList(at, at + perRound);
                        at += perRound;
                        for (int half = 0; half < 2; half++) {
                            if ((half == 0) == storedFirst) {
                                for (String name : fresh) {
                                    first.add(storedHandshake(client, host.address(), name, serials) * 1e3);
                                }
                            } else {
                                for (int k = 0; k < perRound; k++) {
                                    String name = inMemory.get(ThreadLocalRandom.current().nextInt(inMemory.size()));
                                    loaded.add(storedHandshake(client, host.address(), name, serials) * 1e3);
                                }
                            }
                        }
                        inMemory.addAll(fresh);
                    }
                }
                if (again.issued.get() != 0 || again.failed.get() != 0 || again.loaded.get() != at || ac.status().size() != at) {
                    throw new IllegalStateException(f("after the restart: %d issued, %d failed, %d loaded, %d in memory; expected 0, 0, %d, %d",
                            again.issued.get(), again.failed.get(), again.loaded.get(), ac.status().size(), at, at));
                }
            }
            Bench.log(f("ondemand: stored first handshakes %s ms; loaded %s ms", Bench.list(first), Bench.list(loaded)));
            rows.add("ondemand_stored_first_handshake_ms", Bench.median(first), "ms", "info", Rows.Spread.of(first),
                    f("first handshake of a stored, not loaded name after a restart (fresh AutoCert on the same store), median of %d", first.size()));
            rows.add("ondemand_loaded_handshake_ms", Bench.median(loaded), "ms", "info", Rows.Spread.of(loaded),
                    f("handshake to a name already in memory, same rounds, median of %d", loaded.size()));

            md.append("### First handshake of a new name vs in-process issuance (Pebble)\n\n");
            md.append(f("Pebble %s (flavor LATEST: `PEBBLE_VA_NOSLEEP=1`, `PEBBLE_AUTHZREUSE=0`, so every order is validated), HTTP-01 "
                    + "answered by `AcmeHttpListener` on 127.0.0.1. One `AutoCert` with on-demand TLS (every name allowed, "
                    + "`orderRate(1000000, 100000)`, no configured certificate) behind a Netty host: `AutoCertTls.forServer(autoCert)` "
                    + "(%s provider, 1 boss + 2 worker event loops). **On-demand** = from `connect()` to handshake complete for a name "
                    + "never seen before (the ClientHello router waits, off the event loop, while the order runs), client = a JDK "
                    + "`SSLSocket` with a fresh `SSLContext` per connection (no resumption) trusting only Pebble's root, verifying the "
                    + "chain and the name. **In-process** = `autoCert.addCertificate(name).get()` on the same manager (same account, "
                    + "same JVM), then a handshake (not timed) checks the certificate is served. %d rounds of %d names each, "
                    + "order alternating (on-demand first in odd rounds), after %d warm-up names of each kind (on-demand %s s, "
                    + "in-process %s s). Exactly one order per name (%d `Issued` events, 0 `Failed`).\n\n",
                    pebble.version(), provider, rounds, perRound, warm, Bench.list(odWarm), Bench.list(ipWarm), expectedOrders));
            md.append("| | n | min | median | max |\n|---|---:|---:|---:|---:|\n");
            md.append(f("| on-demand first handshake (s) | %d | %.3f | **%.3f** | %.3f |\n", od.size(), Collections.min(od), Bench.median(od),
                    Collections.max(od)));
            md.append(f("| in-process `addCertificate(name).get()` (s) | %d | %.3f | **%.3f** | %.3f |\n", ip.size(), Collections.min(ip),
                    Bench.median(ip), Collections.max(ip)));
            md.append(f("| per-round ratio on-demand / in-process | %d | %.3f | **%.3f** | %.3f |\n", roundRatios.size(),
                    Collections.min(roundRatios), ratio, Collections.max(roundRatios)));
            md.append(f("| on-demand: part after the `Issued` event (ms) | %d | %.1f | **%.1f** | %.1f |\n", odAfter.size(),
                    Collections.min(odAfter) * 1e3, Bench.median(odAfter) * 1e3, Collections.max(odAfter) * 1e3));
            md.append(f("| in-process: part after the `Issued` event (ms) | %d | %.1f | **%.1f** | %.1f |\n\n", ipAfter.size(),
                    Collections.min(ipAfter) * 1e3, Bench.median(ipAfter) * 1e3, Collections.max(ipAfter) * 1e3));
            md.append("The `Issued` event is emitted once the certificate is stored and live in the key manager; what follows it is, "
                    + "on demand, waking the waiting ClientHello router and the rest of the TLS handshake with the new certificate (compared "
                    + "with a whole handshake to an already loaded name below; the in-process issuance has no handshake, so the ratio "
                    + "above counts one); in-process, completing the future.\n\n");
            md.append(perRoundLines).append('\n');
            md.append("### First handshake of a stored name after a restart\n\n");
            md.append(f("Then the manager was closed and a **fresh `AutoCert` on the same store** started (same JVM, so the JIT is warm; "
                    + "the files are in the page cache, as after a restart, not a reboot): it loads nothing at start-up. **Stored** = "
                    + "connect to handshake complete for a name whose certificate is in the store but not in memory (the handshake "
                    + "waits while `certificateReady` reads it from the store); **loaded** = the same for a random name already "
                    + "loaded. Same client; the served serial is checked against the one issued before the restart. %d rounds of %d "
                    + "each, order alternating, after %d warm-up stored handshakes (%s ms). After the restart: 0 orders, %d loads "
                    + "from the store.\n\n", rounds, perRound, warm, Bench.list(firstWarm), at));
            md.append("| handshake | n | min (ms) | median (ms) | max (ms) |\n|---|---:|---:|---:|---:|\n");
            md.append(f("| stored, not loaded (first after restart) | %d | %.2f | **%.2f** | %.2f |\n", first.size(), Collections.min(first),
                    Bench.median(first), Collections.max(first)));
            md.append(f("| already in memory | %d | %.2f | **%.2f** | %.2f |\n\n", loaded.size(), Collections.min(loaded), Bench.median(loaded),
                    Collections.max(loaded)));
            md.append(f("So of the on-demand first handshake's %.1f ms after the `Issued` event (above), about %.1f ms are a handshake as "
                    + "to any loaded name, and the rest (%.1f ms) is waking the router and the new certificate's first use in the TLS stack (not "
                    + "broken down further; the on-demand renewal index is written off this path since 9dff75e).\n\n",
                    Bench.median(odAfter) * 1e3, Bench.median(loaded), Bench.median(odAfter) * 1e3 - Bench.median(loaded)));
        } finally {
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            deleteTree(store);
        }
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(Collections.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | RuntimeException e) {
            Bench.log("ondemand: could not delete " + dir + ": " + e);
        }
    }

    private static AutoCert pebbleOnDemand(PebbleServer pebble, Path store, Counters counters) {
        return AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true)
                .email("ops@autocert4j.test").storageDirectory(store).listener(counters)
                .onDemand(allowAll().handshakeWait(T).build()).build();
    }

    /** One first-certificate latency, and the part of it after the certificate's Issued event. */
    record Sample(double seconds, double afterIssued) {
    }

    /** Seconds from connect to handshake complete for a new name (its order runs inside). */
    private static Sample onDemandFirst(TimedClient client, InetSocketAddress host, String name, Map<String, BigInteger> serials,
                                        Counters events) throws Exception {
        TimedClient.Handshake h = client.handshake(host, name);
        serials.put(name, h.serial());
        return new Sample(h.seconds(), (h.endNanos() - events.issuedNanos.get(name)) / 1e9);
    }

    /** Seconds of {@code addCertificate(name).get()}; then checks (untimed) that a handshake is served that certificate. */
    private static Sample inProcess(AutoCert ac, TimedClient client, InetSocketAddress host, String name, Map<String, BigInteger> serials,
                                    Counters events) throws Exception {
        long t0 = System.nanoTime();
        CertificateStatus status = ac.addCertificate(name).get(T.toSeconds(), TimeUnit.SECONDS);
        long t1 = System.nanoTime();
        Sample s = new Sample((t1 - t0) / 1e9, (t1 - events.issuedNanos.get(name)) / 1e9);
        BigInteger served = client.handshake(host, name).serial();
        if (!served.equals(status.serial())) {
            throw new IllegalStateException("after addCertificate(" + name + ") the host serves serial " + served.toString(16) + ", not "
                    + status.serial().toString(16));
        }
        serials.put(name, served);
        return s;
    }

    /** Seconds of one handshake to a stored name; the served serial must be the one issued before. */
    private static double storedHandshake(TimedClient client, InetSocketAddress host, String name, Map<String, BigInteger> serials)
            throws Exception {
        TimedClient.Handshake h = client.handshake(host, name);
        if (!h.serial().equals(serials.get(name))) {
            throw new IllegalStateException("after the restart " + name + " was served serial " + h.serial().toString(16) + ", not the stored "
                    + serials.get(name).toString(16));
        }
        return h.seconds();
    }

    /**
     * A JDK TLS client timing connect to handshake complete; a fresh SSLContext per connection
     * (made before the clock starts), so nothing can be resumed; PKIX chain and host name checked.
     */
    static final class TimedClient {
        record Handshake(double seconds, BigInteger serial, long endNanos) {
        }

        private final KeyStore trust;

        TimedClient(X509Certificate root) throws Exception {
            trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("root", root);
        }

        Handshake handshake(InetSocketAddress addr, String name) throws Exception {
            TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
            tmf.init(trust);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            int millis = (int) T.toMillis();
            long t0 = System.nanoTime();
            try (Socket plain = new Socket()) {
                plain.connect(addr, millis);
                plain.setSoTimeout(millis);
                try (SSLSocket ssl = (SSLSocket) ctx.getSocketFactory().createSocket(plain, name, addr.getPort(), true)) {
                    SSLParameters p = ssl.getSSLParameters();
                    p.setEndpointIdentificationAlgorithm("HTTPS");
                    p.setServerNames(List.of(new SNIHostName(name)));
                    ssl.setSSLParameters(p);
                    ssl.startHandshake();
                    long end = System.nanoTime();
                    X509Certificate leaf = (X509Certificate) ssl.getSession().getPeerCertificates()[0];
                    return new Handshake((end - t0) / 1e9, leaf.getSerialNumber(), end);
                }
            }
        }
    }

    // ------------------------------------------------------------------ part 3: 1,000,000 stored certificates

    private static void scale(boolean quick, Rows rows, StringBuilder md) throws Exception {
        int n = quick ? QUICK : MAX;
        int coldRounds = quick ? 3 : 5;
        int rounds = quick ? 5 : 6;
        Duration round = Duration.ofMillis(quick ? 700 : 2000);
        Duration warm = Duration.ofMillis(quick ? 700 : 2000);
        Path cache = Path.of(System.getProperty("bench.ondemandCache", "benchmarks/target/ondemand-store")).toAbsolutePath();
        Path store = cache.resolve("store");
        String generated = ensureStore(cache, store, n);
        String label = n >= 1_000_000 ? f("%,d", n) : f("%,d (quick run; the full run uses 1,000,000)", n);

        // 3a. Cold start in fresh JVMs, page cache dropped before each.
        List<Double> cold = new ArrayList<>(), builds = new ArrayList<>(), starts = new ArrayList<>();
        String dropped = "";
        for (int i = 0; i < coldRounds; i++) {
            dropped = ScaleBench.dropPageCache();
            String[] r = child(List.of("start", store.toString()), "START ");
            if (!r[3].equals("0")) {
                throw new IllegalStateException("the on-demand manager loaded " + r[3] + " certificates at start-up");
            }
            builds.add(Double.parseDouble(r[1]));
            starts.add(Double.parseDouble(r[2]));
            cold.add(builds.get(i) + starts.get(i));
        }
        Bench.log(f("ondemand: cold start with %s stored certificates (%s): %s s", label, dropped, Bench.list(cold)));
        rows.add("ondemand_1m_cold_start_s", Bench.median(cold), "s", "<= 1", Rows.Spread.of(cold),
                f("build() + start() of an on-demand AutoCert over %s stored certificates in a fresh JVM (%s), median of %d", label, dropped,
                        coldRounds));

        // 3a'. First handshakes right after a cold start: page cache dropped, a fresh JVM serving, stored names never loaded.
        String firstMd = firstAfterColdStart(quick, cache, store, n, label, rows);

        // 3b. Heap with the cache full (10,000 loaded certificates), fresh JVM.
        String heapDropped = ScaleBench.dropPageCache();
        String[] h = child(List.of("heap", store.toString(), Integer.toString(n), Integer.toString(CACHE)), "HEAP ");
        double heapMb = Long.parseLong(h[1]) / 1048576.0, heapBeforeMb = Long.parseLong(h[2]) / 1048576.0, loadSeconds = Double.parseDouble(h[3]);
        long ready = Long.parseLong(h[4]), loadedEvents = Long.parseLong(h[5]), heapIssued = Long.parseLong(h[6]), heapFailed = Long.parseLong(h[7]),
                inMemory = Long.parseLong(h[8]);
        if (ready != CACHE || loadedEvents != CACHE || inMemory != CACHE || heapIssued != 0 || heapFailed != 0) {
            throw new IllegalStateException(f("heap child: %d ready, %d loaded, %d in memory, %d issued, %d failed; expected %d, %d, %d, 0, 0",
                    ready, loadedEvents, inMemory, heapIssued, heapFailed, CACHE, CACHE, CACHE));
        }
        Bench.log(f("ondemand: heap %.1f MB with %,d loaded (%.1f MB before build()); loading took %.1f s (%s)", heapMb, CACHE, heapBeforeMb,
                loadSeconds, heapDropped));
        rows.add("ondemand_1m_heap_mb_10k_cache", heapMb, "MB", "<= 256", null,
                f("used heap after System.gc() in a fresh JVM once %,d certificates out of %s were loaded through certificateReady "
                        + "(maxCertificatesInMemory(10_000)); %.1f MB of it before build()", CACHE, label, heapBeforeMb));

        // 3c. Handshakes/s: uniform over all names, hot set of 5,000, vs a 1-name server.
        Counters uniformEvents = new Counters(), hotEvents = new Counters();
        AutoCert uniform = fromStore(store, uniformEvents).start();
        AutoCert hot = fromStore(store, hotEvents).start();
        AutoCert one = Bench.fromStore(store, List.of(name(0))).start();
        List<String> hotNames = new ArrayList<>(randomDistinct(n, HOT, new Random(7)));
        double hotLoadSeconds = preload(hot, hotNames);
        // The uniform manager starts with a full cache, so that every miss in the rounds also evicts.
        double fillSeconds = preload(uniform, new ArrayList<>(randomDistinct(n, CACHE, new Random(11))));
        Bench.log(f("ondemand: hot set of %,d loaded in %.1f s; the uniform manager's cache filled with %,d in %.1f s", HOT, hotLoadSeconds,
                CACHE, fillSeconds));
        List<SslProvider> providers = new ArrayList<>(List.of(SslProvider.JDK));
        if (OpenSsl.isAvailable()) {
            providers.add(SslProvider.OPENSSL);
        }
        SslContext clientContext = Bench.unverifiedClientContext();
        EventLoopGroup boss = Bench.serverGroup(1, "od-boss");
        EventLoopGroup workers = Bench.serverGroup(2, "od-worker");
        EventLoopGroup clients = Bench.group(2);
        AtomicLong wrong = new AtomicLong();
        LoadClient.Observer covers = (host, leaf, g) -> {
            if (!BenchCa.covers(leaf, host)) {
                wrong.incrementAndGet();
            }
        };
        String first = name(0);
        StringBuilder table = new StringBuilder();
        StringBuilder details = new StringBuilder();
        try {
            for (SslProvider p : providers) {
                String pid = p == SslProvider.JDK ? "jdk" : "openssl";
                AutoCertTls t1 = AutoCertTls.forServer(one, serverContext(one, p));
                AutoCertTls tu = AutoCertTls.forServer(uniform, serverContext(uniform, p));
                AutoCertTls th = AutoCertTls.forServer(hot, serverContext(hot, p));
                AtomicLong uniformConnections = new AtomicLong();
                Supplier<String> uniformName = () -> {
                    uniformConnections.incrementAndGet();
                    return name(ThreadLocalRandom.current().nextInt(n));
                };
                long wrong0 = wrong.get(), loads0 = uniformEvents.loaded.get(), hotLoads0 = hotEvents.loaded.get();
                int inMemory0 = uniform.status().size();
                long read0 = readBytes();
                Map<String, Interleaved.Totals> t;
                try (TlsServer s1 = new TlsServer(ch -> t1.newHandler(), boss, workers);
                     TlsServer su = new TlsServer(ch -> tu.newHandler(), boss, workers);
                     TlsServer sh = new TlsServer(ch -> th.newHandler(), boss, workers)) {
                    t = Interleaved.run(clients, clientContext, List.of(new Interleaved.Variant("1", s1.address(), () -> first),
                            new Interleaved.Variant("uniform", su.address(), uniformName),
                            new Interleaved.Variant("hot", sh.address(), () -> hotNames.get(ThreadLocalRandom.current().nextInt(HOT)))),
                            covers, CONCURRENCY, warm, rounds, round, f("ondemand N=%d %s", n, p));
                }
                long loads = uniformEvents.loaded.get() - loads0, connections = uniformConnections.get(), read = readBytes() - read0;
                long hotReloads = hotEvents.loaded.get() - hotLoads0, wrongHere = wrong.get() - wrong0;
                long evicted = loads - (uniform.status().size() - inMemory0);
                Interleaved.Totals base = t.get("1"), tu1 = t.get("uniform"), th1 = t.get("hot");
                List<Double> ru = Bench.ratios(tu1.roundRates, base.roundRates), rh = Bench.ratios(th1.roundRates, base.roundRates);
                long resumed = base.resumed + tu1.resumed + th1.resumed;
                long failsUniform = tu1.failures, failsOther = base.failures + th1.failures;
                boolean cleanUniform = failsUniform == 0 && wrongHere == 0 && resumed == 0;
                boolean cleanHot = failsOther == 0 && wrongHere == 0 && resumed == 0 && hotReloads == 0;
                if (uniformEvents.issued.get() + uniformEvents.failed.get() + hotEvents.issued.get() + hotEvents.failed.get() != 0) {
                    throw new IllegalStateException("an order was attempted in the scale part (issued/failed events): the store is not what it should be");
                }
                rows.add("ondemand_1m_sni_ratio_uniform_" + pid, cleanUniform ? Bench.median(ru) : Double.NaN, "ratio", "info", Rows.Spread.of(ru),
                        f("handshakes/s with a uniformly random SNI name out of %s stored (%,d cache, %.0f%% of the connections loaded "
                                + "their certificate from the store) vs a 1-name server, %s provider through AutoCertTls, median of %d "
                                + "interleaved rounds%s", label, CACHE, 100.0 * loads / Math.max(1, connections), p, rounds,
                                cleanUniform ? "" : f("; %d failed handshakes, %d wrong certificates, %d resumed", failsUniform, wrongHere, resumed)));
                rows.add("ondemand_1m_sni_ratio_hot_" + pid, cleanHot ? Bench.median(rh) : Double.NaN, "ratio", ">= 0.95", Rows.Spread.of(rh),
                        f("handshakes/s with a random SNI name out of a hot set of %,d loaded certificates (of %s stored) vs a 1-name server, "
                                + "%s provider through AutoCertTls, median of %d interleaved rounds%s", HOT, label, p, rounds,
                                cleanHot ? "" : f("; %d failed handshakes, %d wrong certificates, %d resumed, %d reloads of hot names",
                                        failsOther, wrongHere, resumed, hotReloads)));
                table.append(f("| %s | %.0f | %.0f | **%.3f** (%.2f–%.2f) | %.0f | **%.3f** (%.2f–%.2f) | %.0f / %.0f / %.0f | %d / %d / %d | %d |\n",
                        p, base.rate(), tu1.rate(), Bench.median(ru), HandshakeBench.min(ru), HandshakeBench.max(ru), th1.rate(), Bench.median(rh),
                        HandshakeBench.min(rh), HandshakeBench.max(rh), base.cpuMicros(), tu1.cpuMicros(), th1.cpuMicros(), base.failures,
                        tu1.failures, th1.failures, wrongHere));
                details.append(f("- %s: uniform variant: %,d connections started (incl. warm-up), %,d certificates loaded from the store "
                        + "(%.1f%%) and %,d evicted, %.1f MB read from the disk by this process during the rounds (`/proc/self/io` read_bytes: %.1f KB per "
                        + "load; 0 means the page cache served them); hot variant: %d reloads (0: the hot set stayed in memory). "
                        + "Per-round ratios uniform: %s; hot: %s.%s\n", p, connections, loads, 100.0 * loads / Math.max(1, connections),
                        evicted, read / 1048576.0, loads == 0 ? 0 : read / 1024.0 / loads, hotReloads, Bench.list(ru), Bench.list(rh),
                        tu1.errors.isEmpty() ? "" : " First errors (uniform): " + String.join("; ", tu1.errors)));
            }
        } finally {
            clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            boss.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
        long inMemoryAfter = uniform.status().size();
        uniform.close();
        hot.close();
        one.close();

        md.append("### 1,000,000 stored on-demand certificates\n\n");
        md.append(f("A `FileCertStore` holding %s on-demand certificates (`o<i>.ondemand.autocert4j.test`, one per name, in the "
                + "documented layout `certs/<id>/<id>.pem` + `.properties`, files 0600 in 0700 directories; %s). To keep the one-time "
                + "generation affordable, **%d consecutive certificates share one ECDSA P-256 key pair**; every leaf is distinct (own "
                + "serial, own name, signed by a benchmark intermediate; chain = leaf + intermediate). The renewal index is not written "
                + "(nothing is due). Every manager below: `OnDemand.allow(n -> completedFuture(true))`, `orderRate(1000000, 100000)`, "
                + "`maxCertificatesInMemory(10_000)`, an unreachable ACME directory and no renewal contact (no ARI, 30-day checks): "
                + "nothing is ever ordered, and the benchmark fails if an `Issued` or `Failed` event appears.\n\n", label, generated, KEY_SHARE));
        md.append(f("- **Cold start** = `build()` + `start()` of an on-demand `AutoCert` with no configured certificate in a **fresh "
                + "JVM** (`OnDemandChild start`), %s before each: **%.3f s** median of %d (build %s s; start %s s). Nothing is read "
                + "at start-up: neither the certificates nor the index (the renewal sweep runs a minute later, in the background), so "
                + "this does not grow with the number of stored certificates.\n", dropped, Bench.median(cold), coldRounds, Bench.list(builds),
                Bench.list(starts)));
        md.append(firstMd);
        md.append(f("- **Heap** = used heap after `System.gc()` in a fresh JVM (`OnDemandChild heap`, `-Xmx1g`) after `%,d` distinct "
                + "names spread over the store were loaded through `certificateReady(name)` (%s first; loading took %.1f s): "
                + "**%.1f MB** (%.1f MB before `build()`, so %.1f MB for the manager with a full cache, %.2f KB per loaded "
                + "certificate). 0 orders.\n", CACHE, heapDropped, loadSeconds, heapMb, heapBeforeMb, heapMb - heapBeforeMb,
                (heapMb - heapBeforeMb) * 1024 / CACHE));
        md.append(f("- **Handshakes/s** through `AutoCertTls.forServer(autoCert, AutoCertSsl.contextBuilder(autoCert, provider).build())` "
                + "(OpenSSL contexts prepared with `prepareKeyMaterial` for the certificates each manager holds when the rounds start), Netty server 1 boss + 2 worker "
                + "event loops, %d closed-loop client connections (BoringSSL, no chain verification, no resumption; every served "
                + "leaf must name the requested host), three servers in interleaved rounds whose order alternates: **1** = an "
                + "`AutoCert` with the one configured certificate `%s` (same stored bundle), SNI always that name; **uniform** = an "
                + "on-demand `AutoCert`, SNI uniformly random over all %s names, so nearly every handshake misses the cache: "
                + "the ClientHello router waits while a worker reads and parses the certificate from the store, and the least "
                + "recently used 10%% are dropped each time the cache is full (its cache was filled with %,d random names before "
                + "the rounds, in %.1f s, so misses evict from the start; %,d certificates in memory at the end); **hot** = a "
                + "second on-demand `AutoCert` whose %,d hot names (random, loaded before the rounds in %.1f s) are the only SNI "
                + "names. Ratio = the variant's handshakes/s / the 1-name server's in the same round; median of %d rounds of %.1f s "
                + "after %.1f s warm-up each; spread = min–max of the per-round ratios.\n\n", CONCURRENCY, first, label, CACHE, fillSeconds,
                inMemoryAfter, HOT, hotLoadSeconds, rounds, round.toMillis() / 1000.0, warm.toMillis() / 1000.0));
        md.append("| provider | 1-name hs/s | uniform hs/s | uniform / 1 (min–max) | hot hs/s | hot / 1 (min–max) | event-loop CPU µs/hs 1 / uniform / hot "
                + "| failed 1 / uniform / hot | wrong leaf |\n");
        md.append("|---|---:|---:|---:|---:|---:|---|---|---:|\n").append(table).append('\n').append(details).append('\n');
        md.append("Event-loop CPU = CPU time of the server's boss and worker threads per completed handshake over the rounds; the "
                + "uniform variant's loads run on the on-demand worker threads and are not in it.\n\n");
        md.append(f("The uniform ratio has no target: a random name out of %,d with %,d in memory is a cache miss %.0f%% of the time, "
                + "and that handshake includes reading two files and parsing a key and two certificates (from the page cache or the "
                + "disk, see the read figures) on the on-demand worker threads, which share the 2 cores with the event loops and the "
                + "clients. It is the worst case of a crawler sweeping random names; real traffic concentrates on the names that "
                + "are used, which the hot ratio measures.\n", n, CACHE, 100.0 * (n - CACHE) / n));
    }

    /**
     * First handshakes after a cold start: the page cache is dropped, a fresh JVM ({@code OnDemandChild serve}) builds and
     * starts an on-demand AutoCert over the store behind a Netty host, and as soon as it prints READY this (warm) JDK client
     * makes handshakes, one after the other, to distinct random stored names (each the first handshake of its name in that
     * JVM: the certificate is read from the cold disk and parsed, on cold code). Several fresh JVMs; p50 and p99 over all.
     */
    private static String firstAfterColdStart(boolean quick, Path cache, Path store, int n, String label, Rows rows) throws Exception {
        int jvms = quick ? 2 : 5;
        int perJvm = quick ? 25 : 60;
        TimedClient client = new TimedClient(BenchCa.load(cache.resolve("ca")).root);
        List<Double> all = new ArrayList<>(), firsts = new ArrayList<>(), readyS = new ArrayList<>();
        Random random = new Random(23);
        String dropped = "";
        String provider = "?";
        for (int j = 0; j < jvms; j++) {
            int port = FreePorts.loopback();
            dropped = ScaleBench.dropPageCache();
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            long spawn = System.nanoTime();
            Process p = new ProcessBuilder(java, "-Xmx1g", "-XX:+UseG1GC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp",
                    System.getProperty("java.class.path"), OnDemandChild.class.getName(), "serve", store.toString(), Integer.toString(port))
                    .redirectError(ProcessBuilder.Redirect.INHERIT).start();
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String ready = r.readLine();
                if (ready == null || !ready.startsWith("READY ")) {
                    throw new IllegalStateException("the serving child did not get ready: " + ready);
                }
                readyS.add((System.nanoTime() - spawn) / 1e9);
                provider = ready.split(" ")[2];
                InetSocketAddress addr = new InetSocketAddress("127.0.0.1", port);
                for (String name : randomDistinct(n, perJvm, random)) {
                    TimedClient.Handshake h = client.handshake(addr, name);
                    double ms = h.seconds() * 1e3;
                    all.add(ms);
                    if (firsts.size() == j) {
                        firsts.add(ms);
                    }
                }
                p.getOutputStream().close();
                String served = r.readLine();
                String[] f = served == null ? new String[0] : served.split(" ");
                if (f.length != 4 || !f[1].equals(Integer.toString(perJvm)) || !f[2].equals("0") || !f[3].equals("0")) {
                    throw new IllegalStateException("the serving child reported " + served + "; expected SERVED " + perJvm + " 0 0");
                }
            } finally {
                if (!p.waitFor(30, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            }
        }
        List<Double> sorted = new ArrayList<>(all);
        Collections.sort(sorted);
        double p50 = Bench.median(sorted), p99 = Bench.percentile(sorted, 99);
        Bench.log(f("ondemand: first handshakes after a cold start (%s): p50 %.1f ms, p99 %.1f ms, first of each JVM %s ms", dropped, p50, p99,
                Bench.list(firsts)));
        String how = f("%d fresh JVMs (OnDemandChild serve: build + start + Netty host with AutoCertTls.forServer, %s provider) over %s stored "
                + "certificates, %s before each; right after READY, %d handshakes each, one at a time, to distinct random stored names "
                + "(each its name's first: read from the store and parsed); JDK client verifying chain and name, connect to handshake "
                + "complete; over all %d", jvms, provider, label, dropped, perJvm, all.size());
        rows.add("ondemand_1m_first_handshake_p50_ms", p50, "ms", "info", Rows.Spread.of(all), "p50 of first handshakes after a cold start: " + how);
        rows.add("ondemand_1m_first_handshake_p99_ms", p99, "ms", "info", Rows.Spread.of(all), "p99 of first handshakes after a cold start: " + how);
        rows.add("ondemand_1m_spawn_to_ready_s", Bench.median(readyS), "s", "info", Rows.Spread.of(readyS),
                "spawn of the fresh JVM to its host listening with the manager started (JVM start included), median");
        return f("- **First handshakes after a cold start**: %s. **p50 %.1f ms, p99 %.1f ms** (min %.1f, max %.1f); the very first "
                + "handshake of each JVM: %s ms; spawn to READY: %s s.\n", how, p50, p99, sorted.get(0), sorted.get(sorted.size() - 1),
                Bench.list(firsts), Bench.list(readyS));
    }

    /** Loads {@code names} through certificateReady (all at once, as concurrent handshakes would); returns the seconds it took. */
    private static double preload(AutoCert ac, List<String> names) throws Exception {
        int before = ac.status().size();
        long t0 = System.nanoTime();
        List<CompletableFuture<Boolean>> ready = names.stream().map(ac::certificateReady).toList();
        CompletableFuture.allOf(ready.toArray(CompletableFuture[]::new)).get(5, TimeUnit.MINUTES);
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (ready.stream().anyMatch(r -> !Boolean.TRUE.equals(r.getNow(false))) || ac.status().size() != before + names.size()) {
            throw new IllegalStateException("preloading " + names.size() + " names failed: " + ac.status().size() + " in memory");
        }
        return seconds;
    }

    private static SslContext serverContext(AutoCert ac, SslProvider p) throws IOException {
        SslContext ctx = AutoCertSsl.contextBuilder(ac, p).build();
        if (p == SslProvider.OPENSSL) {
            int prepared = AutoCertSsl.prepareKeyMaterial(ctx, ac);
            Bench.log(f("ondemand: OpenSSL key material prepared for %,d of %,d certificates in memory", prepared, ac.status().size()));
        }
        return ctx;
    }

    static Set<String> randomDistinct(int n, int count, Random random) {
        Set<String> names = new LinkedHashSet<>();
        while (names.size() < count) {
            names.add(name(random.nextInt(n)));
        }
        return names;
    }

    /** Bytes this process caused to be read from the storage layer ({@code /proc/self/io} read_bytes), or 0. */
    static long readBytes() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/io"))) {
                if (l.startsWith("read_bytes:")) {
                    return Long.parseLong(l.substring(11).trim());
                }
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux
        }
        return 0;
    }

    /** Runs {@link OnDemandChild} in a fresh JVM and returns the fields of its line starting with {@code prefix}. */
    static String[] child(List<String> args, String prefix) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-XX:+UseG1GC", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), OnDemandChild.class.getName()));
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String line = null;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String l = r.readLine(); l != null; l = r.readLine()) {
                if (l.startsWith(prefix)) {
                    line = l;
                }
            }
        }
        if (!p.waitFor(300, TimeUnit.SECONDS) || line == null) {
            p.destroyForcibly();
            throw new IllegalStateException("the child " + args + " did not report (exit " + (p.isAlive() ? "none" : p.exitValue()) + ")");
        }
        return line.split(" ");
    }

    /**
     * Writes certificates 0..needed-1 of the store once (one key pair per {@value #KEY_SHARE}
     * certificates, several writer threads) and reuses them for 25 days from the oldest one written;
     * a smaller store (a quick run's) is extended.
     */
    static String ensureStore(Path cache, Path store, int needed) throws Exception {
        Path marker = cache.resolve("complete-" + STORE_VERSION);
        int have = 0;
        long since = System.currentTimeMillis();
        if (Files.exists(marker)) {
            String[] m = Files.readString(marker).trim().split(" ");
            if (m.length == 2 && System.currentTimeMillis() - Long.parseLong(m[0]) < Duration.ofDays(25).toMillis()) {
                have = Integer.parseInt(m[1]);
                since = Long.parseLong(m[0]);
            }
        }
        if (have >= needed) {
            return f("written %s, reused", java.time.Instant.ofEpochMilli(since).toString().substring(0, 10));
        }
        BenchCa ca;
        if (have > 0 && Files.exists(cache.resolve("ca/intermediate.key.pem"))) {
            ca = BenchCa.loadWithKeys(cache.resolve("ca"));
        } else {
            have = 0; // a new CA: every certificate is (over)written
            since = System.currentTimeMillis();
            ca = BenchCa.create();
            ca.saveWithKeys(cache.resolve("ca"));
        }
        Files.deleteIfExists(marker);
        Files.createDirectories(store.resolve("certs"));
        String intermediatePem = BenchCa.pem(ca.intermediate);
        int from = have / KEY_SHARE * KEY_SHARE;
        int groups = (needed - from + KEY_SHARE - 1) / KEY_SHARE;
        Bench.log(f("ondemand: generating certificates %,d..%,d into %s (one-time; one key pair per %d certificates)", from, needed - 1, store,
                KEY_SHARE));
        long t0 = System.nanoTime();
        int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicLong written = new AtomicLong();
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int firstGroup = t;
            fs.add(pool.submit(() -> {
                for (int g = firstGroup; g < groups; g += threads) {
                    KeyPair kp = BenchCa.ecKey();
                    String keyPem = BenchCa.keyPem(kp.getPrivate());
                    for (int i = from + g * KEY_SHARE; i < Math.min(needed, from + (g + 1) * KEY_SHARE); i++) {
                        String name = name(i);
                        BenchCa.writeBundle(store, name, List.of(name), keyPem, ca.leafDer(kp.getPublic(), List.of(name)), intermediatePem);
                        written.incrementAndGet();
                    }
                }
                return null;
            }));
        }
        long total = needed - from;
        long lastLog = System.nanoTime();
        for (Future<?> fu : fs) {
            while (true) {
                try {
                    fu.get(10, TimeUnit.SECONDS);
                    break;
                } catch (java.util.concurrent.TimeoutException e) {
                    if (System.nanoTime() - lastLog > 30e9) {
                        lastLog = System.nanoTime();
                        double s = (lastLog - t0) / 1e9;
                        long w = written.get();
                        Bench.log(f("ondemand: generated %,d of %,d (%.0f/s, about %.0f s left)", w, total, w / s, (total - w) / Math.max(1, w / s)));
                    }
                }
            }
        }
        pool.shutdown();
        Files.writeString(marker, since + " " + needed);
        double s = (System.nanoTime() - t0) / 1e9;
        Bench.log(f("ondemand: generated %,d certificates in %.0f s", total, s));
        return f("%,d of them generated in this run in %.0f s with %d writer threads, plain writes without fsync", total, s, threads);
    }
}
