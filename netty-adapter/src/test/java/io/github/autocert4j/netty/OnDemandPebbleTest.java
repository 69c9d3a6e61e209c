package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import javax.net.ssl.SSLException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * On-demand TLS end to end: real Pebble, a real Netty host whose HTTPS port runs on ONE event-loop
 * thread with {@link AutoCertTls}, real TLS clients verifying the chain against Pebble's
 * root. Allowed names get certificates at their first handshake, denied ones an alert and no
 * order, limits hold under a flood, a restart orders nothing and loads lazily, and a slow order
 * never stalls the event loop.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
@WithPebble
class OnDemandPebbleTest {
    static final Duration T = Duration.ofSeconds(60);
    static final String ZONE = ".shop.autocert4j.test";

    static PebbleServer pebble;
    static int httpPort;

    @TempDir
    Path store;
    final List<CertEvent> events = new CopyOnWriteArrayList<>();
    final List<AutoCloseable> open = new ArrayList<>();

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        httpPort = running.httpPort();
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) {
            open.get(i).close();
        }
    }

    AutoCert onDemand(OnDemand.Builder od, String... configured) {
        AutoCertBuilder b = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).storageDirectory(store).listener(events::add).onDemand(od.build());
        for (String c : configured) {
            b.certificate(c);
        }
        AutoCert a = b.build();
        open.add(a);
        return a; // started by host(...) once the plain port listens: an order placed earlier has its first validation refused
    }

    static OnDemand.Builder allowing(Predicate<String> p) {
        return OnDemand.allow(name -> CompletableFuture.completedFuture(p.test(name))).handshakeWait(T);
    }

    Host host(AutoCert a, Duration slowChallengesFor, String slowPrefix) throws Exception {
        Host h = new Host(a, slowChallengesFor, slowPrefix);
        open.add(h);
        a.start();
        return h;
    }

    long issued() {
        return events.stream().filter(e -> e instanceof CertEvent.Issued).count();
    }

    static X509Certificate handshake(Host h, String name) throws Exception {
        return TlsProbe.handshake(h.httpsAddress(), name, pebble.issuanceRoot(), T).leaf();
    }

    @Test
    void twoHundredAllowedNamesHandshakenConcurrentlyGetTwoHundredVerifiedCertificates() throws Exception {
        AutoCert a = onDemand(allowing(n -> n.endsWith(ZONE)).orderRate(10_000, 500).maxOrdersPerRegistrableDomain(1_000).maxConcurrentOrders(16));
        Host h = host(a, null, null);
        ExecutorService clients = Executors.newFixedThreadPool(64);
        try {
            Map<String, Future<X509Certificate>> served = new HashMap<>();
            for (int i = 0; i < 200; i++) {
                String name = "n" + i + ZONE;
                served.put(name, clients.submit(() -> handshake(h, name)));
            }
            Set<BigInteger> serials = ConcurrentHashMap.newKeySet();
            for (Map.Entry<String, Future<X509Certificate>> e : served.entrySet()) {
                X509Certificate leaf = e.getValue().get(3, TimeUnit.MINUTES); // TlsProbe verified chain and name
                assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> e.getKey().equals(s.get(1))), e.getKey());
                serials.add(leaf.getSerialNumber());
            }
            assertEquals(200, serials.size(), "one certificate per name");
            assertEquals(200, issued(), "200 orders, no more");
        } finally {
            clients.shutdownNow();
        }
    }

    @Test
    void deniedNamesGetATlsAlertAndNoOrderWhileAllowedOnesKeepWorking() throws Exception {
        AutoCert a = onDemand(allowing(n -> n.endsWith(ZONE)));
        Host h = host(a, null, null);
        for (String denied : List.of("evil.autocert4j.test", "other.example.test", "nope" + ZONE.replace("shop", "blog"))) {
            SSLException e = assertThrows(SSLException.class, () -> handshake(h, denied), denied);
            assertTrue(String.valueOf(e.getMessage()).contains("alert"), "a TLS alert, not a hang or a reset: " + e);
        }
        assertEquals(0, issued());
        assertTrue(handshake(h, "ok" + ZONE).getSubjectAlternativeNames().stream().anyMatch(s -> ("ok" + ZONE).equals(s.get(1))));
        assertEquals(1, issued());
    }

    @Test
    void aFloodOfRandomNamesCannotCauseAnOrderStorm() throws Exception {
        AutoCert a = onDemand(allowing(n -> true).orderRate(1, 5).maxConcurrentOrders(4));
        Host h = host(a, null, null);
        ExecutorService clients = Executors.newFixedThreadPool(32);
        AtomicInteger ok = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        long t0 = System.nanoTime();
        try {
            List<Future<?>> all = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                String name = "r" + Long.toHexString(Double.doubleToLongBits(Math.random())) + ".flood.autocert4j.test";
                all.add(clients.submit(() -> {
                    try {
                        handshake(h, name);
                        ok.incrementAndGet();
                    } catch (Exception e) {
                        refused.incrementAndGet();
                    }
                    return null;
                }));
            }
            for (Future<?> f : all) {
                f.get(2, TimeUnit.MINUTES);
            }
        } finally {
            clients.shutdownNow();
        }
        assertEquals(5, issued(), "the burst of five, then nothing");
        assertEquals(5, ok.get());
        assertEquals(95, refused.get(), "refused cleanly");
        assertTrue(Duration.ofNanos(System.nanoTime() - t0).compareTo(Duration.ofSeconds(90)) < 0, "refusals do not wait out the handshake bound");
    }

    @Test
    void afterARestartNothingIsOrderedAndCertificatesLoadOnFirstUse() throws Exception {
        Map<String, BigInteger> first = new HashMap<>();
        AutoCert a = onDemand(allowing(n -> n.endsWith(ZONE)));
        Host h = host(a, null, null);
        for (int i = 0; i < 10; i++) {
            first.put("s" + i + ZONE, handshake(h, "s" + i + ZONE).getSerialNumber());
        }
        assertEquals(10, issued());
        h.close();
        a.close();
        events.clear();

        AutoCert again = onDemand(allowing(n -> n.endsWith(ZONE)));
        Host h2 = host(again, null, null);
        assertTrue(again.status().isEmpty(), "nothing loaded at start-up");
        for (Map.Entry<String, BigInteger> e : first.entrySet()) {
            assertEquals(e.getValue(), handshake(h2, e.getKey()).getSerialNumber(), "the stored certificate");
        }
        assertEquals(0, issued(), "no order after the restart");
        assertEquals(10, again.status().size());
        assertEquals(10, events.stream().filter(e -> e instanceof CertEvent.Loaded).count());
    }

    @Test
    void aSlowOrderNeverStallsTheSingleEventLoop() throws Exception {
        AutoCert a = onDemand(allowing(n -> n.endsWith(ZONE)), "fast.autocert4j.test");
        Host h = host(a, Duration.ofSeconds(2), "slow");
        a.certificateReady("fast.autocert4j.test"); // configured: wait until it is issued
        long deadline = System.nanoTime() + T.toNanos();
        while (a.status("fast.autocert4j.test").orElseThrow().serial() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        // While the slow name's order waits two seconds for its validation, 100 handshakes for
        // another name must complete on the same (single) event-loop thread.
        CompletableFuture<X509Certificate> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return handshake(h, "slow" + ZONE);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(200); // the slow handshake is now waiting for its certificate
        // Counted, not timed: a stalled event loop completes none of them while the slow order runs;
        // a free one completes many (10 need ~0.7 s even at load 20 on 2 cores, the order takes >= 2 s).
        long t0 = System.nanoTime();
        int whileSlowPending = 0;
        for (int i = 0; i < 100; i++) {
            handshake(h, "fast.autocert4j.test");
            if (!slow.isDone()) {
                whileSlowPending++;
            }
        }
        long fastMillis = (System.nanoTime() - t0) / 1_000_000;
        assertTrue(whileSlowPending >= 10, "only " + whileSlowPending + " of 100 handshakes (" + fastMillis
                + " ms) completed while the slow order was running: the event loop waited for the order");
        X509Certificate leaf = slow.get(T.toSeconds(), TimeUnit.SECONDS);
        assertTrue(leaf.getSubjectAlternativeNames().stream().anyMatch(s -> ("slow" + ZONE).equals(s.get(1))));
        assertTrue(h.slowChallengesSeen.get() > 0, "the slow validation really happened");
    }

    /**
     * A Netty host: plain HTTP on Pebble's port with the challenge handler (optionally delaying
     * the challenge answers for one name, to make its order slow), HTTPS on ONE event-loop thread.
     */
    static final class Host implements AutoCloseable {
        final EventLoopGroup plainGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        final EventLoopGroup tlsGroup = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        final Channel http;
        final Channel https;
        final AtomicInteger slowChallengesSeen = new AtomicInteger();

        Host(AutoCert autoCert, Duration slowFor, String slowPrefix) throws Exception {
            SslContext live = AutoCertSsl.contextBuilder(autoCert, SslProvider.JDK).build();
            AutoCertTls tls = AutoCertTls.forServer(autoCert, live);
            http = new ServerBootstrap().group(plainGroup).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(65536));
                            if (slowFor != null) {
                                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        String host = msg instanceof HttpRequest r ? r.headers().get(HttpHeaderNames.HOST, "") : "";
                                        if (host.startsWith(slowPrefix)) {
                                            slowChallengesSeen.incrementAndGet();
                                            ctx.executor().schedule(() -> ctx.fireChannelRead(msg), slowFor.toMillis(), TimeUnit.MILLISECONDS);
                                        } else {
                                            ctx.fireChannelRead(msg);
                                        }
                                    }
                                });
                            }
                            ch.pipeline().addLast(new AcmeChallengeHandler(autoCert.http01()), new NettyTestHost.App("plain"));
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", httpPort)).sync().channel();
            https = new ServerBootstrap().group(tlsGroup).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                    new NettyTestHost.App("tls"));
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        }

        InetSocketAddress httpsAddress() {
            return (InetSocketAddress) https.localAddress();
        }

        private final java.util.concurrent.atomic.AtomicBoolean closed = new java.util.concurrent.atomic.AtomicBoolean();

        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            http.close().syncUninterruptibly();
            https.close().syncUninterruptibly();
            plainGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            tlsGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
