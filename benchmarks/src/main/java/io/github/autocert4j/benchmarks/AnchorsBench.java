package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.Bench.f;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import com.sun.net.httpserver.HttpServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.netty.channel.EventLoopGroup;
import io.netty.handler.ssl.SslContext;

/**
 * Section 9: anchors the benchmark cannot flatter. Caddy (the Debian package) beside the library's Netty server as
 * the README's quickstart builds it ({@link QuickstartServer}, run on the quickstart's dependencies only), both as
 * processes of their own, measured with the same clients in interleaved rounds: (1) the on-demand first handshake of
 * a new name (each server with its own Pebble as ACME CA, Caddy with an {@code ask} endpoint); (2) the handshake to a
 * name already loaded; (3) steady full-handshake throughput and server CPU per handshake (process CPU time, all
 * threads) with the same static certificate.
 *
 * <pre>{@code
 * AnchorsBench.run(Path.of("benchmarks/target/results"));
 * }</pre>
 */
final class AnchorsBench {
    static final String SUFFIX = ".anchor.autocert4j.test";
    static final String STATIC_NAME = "static" + SUFFIX;
    static final int CONCURRENCY = 32;

    private AnchorsBench() {
    }

    static void run(Path out) throws Exception {
        boolean quick = Bench.quick();
        Rows rows = new Rows();
        StringBuilder md = new StringBuilder("## 9. Anchors: Caddy beside the library's Netty quickstart\n\n");
        Path work = Files.createTempDirectory("bench-anchors");
        String caddyBin = Files.isExecutable(Path.of("/usr/bin/caddy")) ? "/usr/bin/caddy" : "caddy";
        String caddyVersion = version(caddyBin);
        String qcp = System.getProperty("bench.quickstartCp");
        if (qcp == null || qcp.isBlank()) {
            throw new IllegalStateException("no quickstart class path (-Dbench.quickstartCp, set by bench.sh). Fix: run through ./bench.sh");
        }
        if (caddyVersion == null) {
            throw new IllegalStateException("caddy not found. Fix: run scripts/get-caddy.sh (Debian package caddy)");
        }
        md.append(f("Caddy `%s` (Debian package) and the README's Netty quickstart (`QuickstartServer`: the same pipeline, "
                + "`AutoCertTls.forServer(autoCert)`, the default `MultiThreadIoEventLoopGroup`) run as separate processes on "
                + "127.0.0.1; the quickstart's class path is exactly what its README dependency brings (`autocert4j-netty` and its "
                + "dependencies, plus slf4j-simple), so its TLS provider is the one a quickstart user gets. Same clients for both, "
                + "interleaved rounds whose order alternates.\n\n", caddyVersion));
        onDemand(quick, work, caddyBin, qcp, rows, md);
        throughput(quick, work, caddyBin, qcp, rows, md);
        Bench.write(out, "anchors", md.toString(), rows);
    }

    // ------------------------------------------------------------------ (1) + (2): on-demand, each with its own Pebble

    private static void onDemand(boolean quick, Path work, String caddyBin, String qcp, Rows rows, StringBuilder md) throws Exception {
        int rounds = quick ? 5 : 7;
        int perRound = quick ? 2 : 3;
        int[] ports = FreePorts.loopback(5);
        int libHttp = ports[0], libHttps = ports[1], caddyHttp = ports[2], caddyHttps = ports[3], askPort = ports[4];
        HttpServer ask = HttpServer.create(new InetSocketAddress("127.0.0.1", askPort), 16);
        AtomicLong asked = new AtomicLong();
        ask.createContext("/ask", ex -> {
            try (ex) {
                String q = ex.getRequestURI().getQuery();
                String domain = q == null ? "" : q.replaceAll("^.*domain=([^&]*).*$", "$1");
                asked.incrementAndGet();
                ex.sendResponseHeaders(domain.endsWith(SUFFIX) ? 200 : 403, -1);
            }
        });
        ask.start();
        Process lib = null;
        Process caddy = null;
        try (PebbleServer pl = PebbleServer.builder().httpPort(libHttp).flavor(PebbleServer.Flavor.LATEST).start();
             PebbleServer pc = PebbleServer.builder().httpPort(caddyHttp).flavor(PebbleServer.Flavor.LATEST).start()) {
            lib = startQuickstart(qcp, work.resolve("lib-ondemand"), List.of("ondemand", work.resolve("lib-od-store").toString(),
                    pl.directoryUri().toString(), pl.acmeServerCaPem().toString(), Integer.toString(libHttp), Integer.toString(libHttps), SUFFIX));
            String provider = readyLine(lib, work.resolve("lib-ondemand.out"));
            Path caddyfile = Files.writeString(work.resolve("Caddyfile.ondemand"), String.join("\n",
                    "{", "  admin off", "  http_port " + caddyHttp, "  https_port " + caddyHttps, "  skip_install_trust",
                    "  storage file_system " + work.resolve("caddy-od-data"), "  on_demand_tls {",
                    "    ask http://127.0.0.1:" + askPort + "/ask", "  }", "}",
                    "https:// {", "  tls {", "    on_demand", "    issuer acme {", "      dir " + pc.directoryUri(),
                    "      trusted_roots " + pc.acmeServerCaPem(), "      disable_tlsalpn_challenge", "    }", "  }", "  respond \"ok\"", "}", ""));
            caddy = startCaddy(caddyBin, caddyfile, work.resolve("caddy-od"), caddyHttps);
            OnDemandBench.TimedClient libClient = new OnDemandBench.TimedClient(pl.issuanceRoot());
            OnDemandBench.TimedClient caddyClient = new OnDemandBench.TimedClient(pc.issuanceRoot());
            InetSocketAddress libAddr = new InetSocketAddress("127.0.0.1", libHttps), caddyAddr = new InetSocketAddress("127.0.0.1", caddyHttps);
            List<String> libNames = new ArrayList<>(), caddyNames = new ArrayList<>();
            // warm-up: one new name each (the library's JIT, Caddy's ACME account)
            int next = 0;
            String w1 = "w" + next++ + SUFFIX, w2 = "w" + next++ + SUFFIX;
            double libWarm = libClient.handshake(libAddr, w1).seconds(), caddyWarm = caddyClient.handshake(caddyAddr, w2).seconds();
            libNames.add(w1);
            caddyNames.add(w2);
            List<Double> firstRatios = new ArrayList<>(), libFirst = new ArrayList<>(), caddyFirst = new ArrayList<>();
            List<Double> loadedRatios = new ArrayList<>(), libLoaded = new ArrayList<>(), caddyLoaded = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                List<Double> l = new ArrayList<>(), c = new ArrayList<>(), ll = new ArrayList<>(), cl = new ArrayList<>();
                for (String who : r % 2 == 0 ? List.of("lib", "caddy") : List.of("caddy", "lib")) {
                    boolean isLib = who.equals("lib");
                    OnDemandBench.TimedClient client = isLib ? libClient : caddyClient;
                    InetSocketAddress addr = isLib ? libAddr : caddyAddr;
                    List<String> names = isLib ? libNames : caddyNames;
                    for (int k = 0; k < perRound; k++) {
                        String name = "n" + next++ + SUFFIX;
                        // the client verifies the chain up to the issuing Pebble's root and the name (HTTPS identification)
                        (isLib ? l : c).add(client.handshake(addr, name).seconds());
                        names.add(name);
                    }
                    for (int k = 0; k < 2 * perRound; k++) { // loaded names: issued before, in memory
                        String name = names.get(ThreadLocalRandom.current().nextInt(names.size()));
                        (isLib ? ll : cl).add(client.handshake(addr, name).seconds() * 1e3);
                    }
                }
                libFirst.addAll(l);
                caddyFirst.addAll(c);
                libLoaded.addAll(ll);
                caddyLoaded.addAll(cl);
                firstRatios.add(Bench.median(l) / Bench.median(c));
                loadedRatios.add(Bench.median(ll) / Bench.median(cl));
                Bench.log(f("anchors on-demand round %d: first handshake lib %s s, caddy %s s; loaded lib %s ms, caddy %s ms", r + 1, Bench.list(l),
                        Bench.list(c), Bench.list(ll), Bench.list(cl)));
            }
            md.append("### On-demand: first handshake of a new name, and a loaded name\n\n");
            md.append(f("Each server has its own Pebble %s (flavor LATEST: every order validated, `PEBBLE_VA_NOSLEEP=1`, http-01 on the "
                    + "server's own port 80 stand-in). **Library**: the quickstart with `OnDemand.allow(name ends with %s)`, %s provider. "
                    + "**Caddy**: `tls { on_demand; issuer acme { dir <Pebble>; trusted_roots <Pebble's API CA>; disable_tlsalpn_challenge } }` "
                    + "with `on_demand_tls { ask http://127.0.0.1:<port>/ask }` (a local endpoint answering 200 for that suffix; asked %d "
                    + "times). Client: a JDK `SSLSocket`, a fresh `SSLContext` per connection (no resumption) trusting only the issuing "
                    + "Pebble's root, chain and name verified; time = connect to handshake complete. Per round and server: %d new names "
                    + "(first handshake, the order runs inside it), then %d handshakes to names it already holds; %d rounds, order "
                    + "alternating; ratio = median over rounds of (median library / median Caddy). Warm-up: one new name each "
                    + "(library %.3f s, Caddy %.3f s).\n\n", pl.version(), SUFFIX, provider, asked.get(), perRound, 2 * perRound, rounds,
                    libWarm, caddyWarm));
            md.append("| | library median | Caddy median | ratio library / Caddy (median of rounds) | min–max |\n|---|---:|---:|---:|---|\n");
            md.append(f("| first handshake, new name (s) | %.3f | %.3f | **%.3f** | %.3f–%.3f |\n", Bench.median(libFirst), Bench.median(caddyFirst),
                    Bench.median(firstRatios), HandshakeBench.min(firstRatios), HandshakeBench.max(firstRatios)));
            md.append(f("| handshake, loaded name (ms) | %.2f | %.2f | **%.3f** | %.3f–%.3f |\n\n", Bench.median(libLoaded), Bench.median(caddyLoaded),
                    Bench.median(loadedRatios), HandshakeBench.min(loadedRatios), HandshakeBench.max(loadedRatios)));
            rows.add("ondemand_first_handshake_vs_caddy", Bench.median(firstRatios), "ratio", "<= 0.5", Rows.Spread.of(firstRatios),
                    f("on-demand first handshake of a new name, library quickstart (%s) / Caddy %s, each with its own Pebble, median of the "
                            + "per-round ratios of medians, %d rounds of %d names each (library %.3f s, Caddy %.3f s)", provider,
                            version(caddyBin), rounds, perRound, Bench.median(libFirst), Bench.median(caddyFirst)));
            rows.add("ondemand_loaded_handshake_vs_caddy", Bench.median(loadedRatios), "ratio", "<= 1.5", Rows.Spread.of(loadedRatios),
                    f("handshake to an on-demand name already loaded, library quickstart (%s) / Caddy, JDK client verifying the chain, "
                            + "median of the per-round ratios of medians (library %.2f ms, Caddy %.2f ms)", provider, Bench.median(libLoaded),
                            Bench.median(caddyLoaded)));
        } finally {
            stop(lib);
            stop(caddy);
            ask.stop(0);
        }
    }

    // ------------------------------------------------------------------ (3): steady full-handshake throughput and CPU

    private static void throughput(boolean quick, Path work, String caddyBin, String qcp, Rows rows, StringBuilder md) throws Exception {
        int rounds = quick ? 5 : 7;
        Duration round = Duration.ofMillis(quick ? 1000 : 3000);
        Duration warm = Duration.ofMillis(quick ? 1500 : 10000); // the JVM's JIT needs it; Caddy gets the same
        Path store = Files.createDirectories(work.resolve("static-store"));
        BenchCa ca = BenchCa.create();
        KeyPair kp = BenchCa.ecKey();
        List<X509Certificate> chain = ca.chain(kp, List.of(STATIC_NAME));
        BenchCa.writeBundle(store, BenchCa.DEAD_DIRECTORY, STATIC_NAME, List.of(STATIC_NAME), kp.getPrivate(), chain);
        Path certPem = work.resolve("static-chain.pem"), keyPem = work.resolve("static-key.pem");
        StringBuilder chainPem = new StringBuilder();
        for (X509Certificate c : chain) {
            chainPem.append(BenchCa.pem(c));
        }
        Files.writeString(certPem, chainPem);
        Files.writeString(keyPem, BenchCa.keyPem(kp.getPrivate()));
        int[] ports = FreePorts.loopback(4);
        Process lib = null;
        Process caddy = null;
        EventLoopGroup clients = Bench.group(2);
        try {
            lib = startQuickstart(qcp, work.resolve("lib-static"), List.of("static", store.toString(), STATIC_NAME, Integer.toString(ports[0]),
                    Integer.toString(ports[1])));
            String provider = readyLine(lib, work.resolve("lib-static.out"));
            Path caddyfile = Files.writeString(work.resolve("Caddyfile.static"), String.join("\n",
                    "{", "  admin off", "  http_port " + ports[2], "  https_port " + ports[3], "  skip_install_trust", "  auto_https disable_redirects",
                    "  storage file_system " + work.resolve("caddy-static-data"), "}",
                    "https://" + STATIC_NAME + " {", "  tls " + certPem + " " + keyPem, "  respond \"ok\"", "}", ""));
            caddy = startCaddy(caddyBin, caddyfile, work.resolve("caddy-static"), ports[3]);
            // Two clients, both BoringSSL, TLS 1.3, no resumption. "same" offers only X25519, the key exchange Caddy 2.6.2
            // (Go 1.19) negotiates with any client, so both servers do the same cryptographic work: the rows. "default" keeps
            // BoringSSL's default groups, X25519MLKEM768 first (as current browsers): the library's BoringSSL then does the
            // hybrid post-quantum key exchange, Caddy 2.6.2 cannot and falls back to X25519, so that comparison is of
            // different handshakes (info rows, *_pq_client).
            Map<String, SslContext> clientsBy = new LinkedHashMap<>();
            clientsBy.put("same", x25519ClientContext());
            clientsBy.put("default", Bench.unverifiedClientContext());
            byte[] expected = chain.get(0).getEncoded();
            AtomicLong wrong = new AtomicLong();
            LoadClient.Observer check = (host, leaf, gen) -> {
                try {
                    if (!Arrays.equals(leaf.getEncoded(), expected)) {
                        wrong.incrementAndGet();
                    }
                } catch (CertificateEncodingException e) {
                    wrong.incrementAndGet();
                }
            };
            Map<String, InetSocketAddress> addr = new LinkedHashMap<>();
            addr.put("library", new InetSocketAddress("127.0.0.1", ports[1]));
            addr.put("caddy", new InetSocketAddress("127.0.0.1", ports[3]));
            Map<String, Long> pid = Map.of("library", lib.pid(), "caddy", caddy.pid());
            Map<String, String> groups = new LinkedHashMap<>();
            for (String c : clientsBy.keySet()) {
                for (String v : addr.keySet()) {
                    groups.put(c + "/" + v, negotiatedGroup(clients, clientsBy.get(c), addr.get(v)));
                }
            }
            Bench.log("anchors throughput: negotiated key exchange " + groups);
            for (String v : addr.keySet()) {
                new LoadClient(clients, clientsBy.get("same"), addr.get(v), () -> STATIC_NAME, false, check).run(CONCURRENCY, warm);
            }
            Map<String, List<Double>> rate = new LinkedHashMap<>(), cpu = new LinkedHashMap<>();
            long failures = 0, resumed = 0;
            List<String> errors = new ArrayList<>();
            for (int r = 0; r < rounds; r++) {
                List<String> order = new ArrayList<>(addr.keySet());
                if (r % 2 == 1) {
                    java.util.Collections.reverse(order);
                }
                StringBuilder line = new StringBuilder(f("anchors throughput round %d:", r + 1));
                for (String c : clientsBy.keySet()) {
                    for (String v : order) {
                        long c0 = processCpuNanos(pid.get(v));
                        LoadClient.Result res = new LoadClient(clients, clientsBy.get(c), addr.get(v), () -> STATIC_NAME, false, check)
                                .run(CONCURRENCY, round);
                        double us = (processCpuNanos(pid.get(v)) - c0) / 1e3 / Math.max(1, res.handshakesOk());
                        rate.computeIfAbsent(c + "/" + v, k -> new ArrayList<>()).add(res.rate());
                        cpu.computeIfAbsent(c + "/" + v, k -> new ArrayList<>()).add(us);
                        failures += res.handshakeFailures();
                        resumed += res.resumed();
                        if (errors.size() < 5) {
                            errors.addAll(res.errors().subList(0, Math.min(5 - errors.size(), res.errors().size())));
                        }
                        line.append(f(" %s client, %s %.0f hs/s %.0f µs CPU/hs;", c, v, res.rate(), us));
                    }
                }
                Bench.log(line.toString());
            }
            List<Double> rr = Bench.ratios(rate.get("same/library"), rate.get("same/caddy"));
            List<Double> cr = Bench.ratios(cpu.get("same/library"), cpu.get("same/caddy"));
            List<Double> prr = Bench.ratios(rate.get("default/library"), rate.get("default/caddy"));
            List<Double> pcr = Bench.ratios(cpu.get("default/library"), cpu.get("default/caddy"));
            boolean clean = failures == 0 && wrong.get() == 0 && resumed == 0;
            String dirty = clean ? "" : f("; %d failed handshakes, %d wrong certificates, %d resumed: not a valid figure", failures, wrong.get(), resumed);
            md.append("### Steady full-handshake throughput and server CPU, same certificate\n\n");
            md.append(f("The same ECDSA P-256 leaf + intermediate: the library's quickstart serves it from its store (a configured name, "
                    + "no CA contact), Caddy from `tls <chain.pem> <key.pem>`. Client as in section 1: %d closed-loop connections "
                    + "(Netty + BoringSSL, TLS 1.3, no resumption, no chain verification, the served leaf compared with the expected "
                    + "one), one full handshake per connection. Warm-up %.1f s each, then %d rounds of %.1f s per server and client, order "
                    + "alternating. *Server CPU* = the server process's CPU time (`/proc/<pid>/stat` utime + stime, every thread: "
                    + "GC and JIT included for the JVM, the Go runtime for Caddy) per completed handshake. Ratios = median over rounds "
                    + "of library / Caddy. Library provider: **%s**.\n\n", CONCURRENCY, warm.toMillis() / 1000.0, rounds,
                    round.toMillis() / 1000.0, provider));
            md.append(f("Two clients. **Same key exchange** (the rows): the client offers only X25519, which is what Caddy %s (Go 1.19) "
                    + "negotiates with any client, so both servers do the same cryptographic work. **Client default** (info rows "
                    + "`*_pq_client`): BoringSSL's default groups, X25519MLKEM768 first, as current browsers send; the library's BoringSSL "
                    + "then does the hybrid post-quantum key exchange (ML-KEM-768 encapsulation on top of X25519, about a fifth of its "
                    + "handshake CPU when profiled), which Caddy %s cannot do: it falls back to X25519, so that comparison is of different "
                    + "handshakes. Negotiated in this run (client/server: group): %s.\n\n", version(caddyBin), version(caddyBin), groups));
            md.append("| client | server | hs/s (median) | server CPU µs/hs (median) |\n|---|---|---:|---:|\n");
            for (String c : clientsBy.keySet()) {
                for (String v : addr.keySet()) {
                    md.append(f("| %s | %s | %.0f | %.0f |\n", c.equals("same") ? "same key exchange (X25519)" : "client default (X25519MLKEM768 offered)",
                            v, Bench.median(rate.get(c + "/" + v)), Bench.median(cpu.get(c + "/" + v))));
                }
            }
            md.append(f("\nSame key exchange: throughput ratio library / Caddy **%.3f** (per round %s); CPU per handshake library / Caddy "
                    + "**%.3f** (per round %s). Client default: throughput %.3f (per round %s), CPU %.3f (per round %s). "
                    + "Failed %d, wrong leaf %d, resumed %d.%s\n\n", Bench.median(rr), Bench.list(rr), Bench.median(cr), Bench.list(cr),
                    Bench.median(prr), Bench.list(prr), Bench.median(pcr), Bench.list(pcr), failures,
                    wrong.get(), resumed, errors.isEmpty() ? "" : " First errors: " + errors));
            rows.add("handshake_vs_caddy_default", clean ? Bench.median(rr) : Double.NaN, "ratio", ">= 1.0", Rows.Spread.of(rr),
                    f("full TLS 1.3 handshakes/s, the README's Netty quickstart on its default dependencies (%s provider) / Caddy %s, same "
                            + "certificate, same client offering X25519 only (the key exchange both negotiate), median of %d interleaved rounds "
                            + "(library %.0f, Caddy %.0f hs/s)%s", provider, version(caddyBin), rounds, Bench.median(rate.get("same/library")),
                            Bench.median(rate.get("same/caddy")), dirty));
            rows.add("handshake_cpu_vs_caddy_default", clean ? Bench.median(cr) : Double.NaN, "ratio", "<= 1.0", Rows.Spread.of(cr),
                    f("server process CPU per full handshake, library quickstart (%s) / Caddy, same rounds and client (library %.0f µs, "
                            + "Caddy %.0f µs)%s", provider, Bench.median(cpu.get("same/library")), Bench.median(cpu.get("same/caddy")), dirty));
            rows.add("handshake_vs_caddy_default_pq_client", clean ? Bench.median(prr) : Double.NaN, "ratio", "info", Rows.Spread.of(prr),
                    f("the same with the client's default groups (X25519MLKEM768 offered): library negotiates %s, Caddy %s; different "
                            + "handshakes (library %.0f, Caddy %.0f hs/s)%s", groups.get("default/library"), groups.get("default/caddy"),
                            Bench.median(rate.get("default/library")), Bench.median(rate.get("default/caddy")), dirty));
            rows.add("handshake_cpu_vs_caddy_default_pq_client", clean ? Bench.median(pcr) : Double.NaN, "ratio", "info", Rows.Spread.of(pcr),
                    f("server CPU per handshake with the client's default groups: library (%s) %.0f µs, Caddy (%s) %.0f µs%s",
                            groups.get("default/library"), Bench.median(cpu.get("default/library")), groups.get("default/caddy"),
                            Bench.median(cpu.get("default/caddy")), dirty));
        } finally {
            clients.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            stop(lib);
            stop(caddy);
        }
    }

    /** The bench client (BoringSSL, TLS 1.3, no resumption, not verifying) offering only the X25519 group. */
    private static SslContext x25519ClientContext() throws IOException {
        return Bench.noResumption(io.netty.handler.ssl.SslContextBuilder.forClient().sslProvider(io.netty.handler.ssl.SslProvider.OPENSSL)
                .trustManager(io.netty.handler.ssl.util.InsecureTrustManagerFactory.INSTANCE).protocols("TLSv1.3")
                .option(io.netty.handler.ssl.OpenSslContextOption.GROUPS, new String[] {"X25519"}).build());
    }

    /** The key-exchange group one handshake of {@code client} with {@code address} negotiates (BoringSSL's name), or the error. */
    private static String negotiatedGroup(EventLoopGroup group, SslContext client, InetSocketAddress address) {
        io.netty.handler.ssl.SslHandler[] ssl = new io.netty.handler.ssl.SslHandler[1];
        io.netty.channel.Channel ch = null;
        try {
            ch = new io.netty.bootstrap.Bootstrap().group(group).channel(io.netty.channel.socket.nio.NioSocketChannel.class)
                    .handler(new io.netty.channel.ChannelInitializer<io.netty.channel.socket.SocketChannel>() {
                        @Override
                        protected void initChannel(io.netty.channel.socket.SocketChannel c) {
                            ssl[0] = client.newHandler(c.alloc());
                            javax.net.ssl.SSLParameters p = ssl[0].engine().getSSLParameters();
                            p.setServerNames(List.of(new javax.net.ssl.SNIHostName(STATIC_NAME)));
                            ssl[0].engine().setSSLParameters(p);
                            c.pipeline().addLast(ssl[0]);
                        }
                    }).connect(address).sync().channel();
            if (!ssl[0].handshakeFuture().await(10, TimeUnit.SECONDS) || !ssl[0].handshakeFuture().isSuccess()) {
                return "handshake failed";
            }
            long pointer = ((io.netty.handler.ssl.ReferenceCountedOpenSslEngine) ssl[0].engine()).sslPointer();
            return io.netty.internal.tcnative.SSL.getGroupName(pointer);
        } catch (Exception e) {
            return "unknown (" + e + ")";
        } finally {
            if (ch != null) {
                ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            }
        }
    }

    // ------------------------------------------------------------------ processes

    private static Process startQuickstart(String qcp, Path log, List<String> args) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", qcp,
                QuickstartServer.class.getName()));
        cmd.addAll(args);
        return new ProcessBuilder(cmd).redirectError(log.resolveSibling(log.getFileName() + ".err").toFile())
                .redirectOutput(log.resolveSibling(log.getFileName() + ".out").toFile()).start();
    }

    /** Waits (at most 60 s) for the quickstart's READY line; returns its provider. */
    private static String readyLine(Process p, Path outFile) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (Files.exists(outFile)) {
                for (String l : Files.readAllLines(outFile)) {
                    if (l.startsWith("READY ")) {
                        return l.substring(6).trim();
                    }
                }
            }
            if (!p.isAlive()) {
                throw new IllegalStateException("the quickstart server exited (" + p.exitValue() + "); see " + outFile.resolveSibling(
                        outFile.getFileName().toString().replace(".out", ".err")));
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the quickstart server did not get ready in 60 s");
    }

    private static Process startCaddy(String bin, Path caddyfile, Path dir, int httpsPort) throws Exception {
        Files.createDirectories(dir);
        ProcessBuilder pb = new ProcessBuilder(bin, "run", "--config", caddyfile.toString(), "--adapter", "caddyfile")
                .redirectErrorStream(true).redirectOutput(dir.resolve("caddy.log").toFile());
        pb.environment().put("HOME", dir.toString());
        pb.environment().put("XDG_DATA_HOME", dir.resolve("data").toString());
        pb.environment().put("XDG_CONFIG_HOME", dir.resolve("config").toString());
        Process p = pb.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("caddy exited (" + p.exitValue() + "): " + Files.readString(dir.resolve("caddy.log")).lines()
                        .reduce((a, b) -> b).orElse(""));
            }
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress("127.0.0.1", httpsPort), 200);
                return p;
            } catch (IOException notYet) {
                Thread.sleep(50);
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException("caddy did not listen on " + httpsPort + " within 30 s; see " + dir.resolve("caddy.log"));
    }

    private static void stop(Process p) {
        if (p != null) {
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly().waitFor(5, TimeUnit.SECONDS); // reaped: its CPU counts as the section's own in bench.sh
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** utime + stime of a process (all threads), in nanoseconds, from /proc/<pid>/stat. */
    static long processCpuNanos(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // fields 14 and 15 of the whole line
        return ticks * (1_000_000_000L / CLK_TCK);
    }

    private static final long CLK_TCK = 100; // USER_HZ on Linux x86-64

    private static String version(String bin) {
        try {
            Process p = new ProcessBuilder(bin, "version").redirectErrorStream(true).start();
            String v = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor(10, TimeUnit.SECONDS);
            return p.exitValue() == 0 && !v.isEmpty() ? v.lines().findFirst().orElse(v).split(" ")[0] : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }
}
