package io.github.autocert4j.benchmarks;

import java.lang.reflect.Method;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLParameters;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.timeout.ReadTimeoutHandler;

/**
 * Closed-loop TLS load: {@code concurrency} slots, each connecting, doing one full handshake
 * (optionally one HTTP request), closing, and starting over, for a fixed time.
 *
 * <p>No resumption: every engine is created without peer host/port, so Netty's client session
 * cache (keyed by host:port) is never consulted, and no session is offered; SNI is set through
 * {@code SSLParameters}. Resumed handshakes are nevertheless counted (expected 0).
 *
 * <pre>{@code
 * LoadClient.Result r = new LoadClient(group, clientCtx, addr, () -> "app.bench.test", false, null).run(16, Duration.ofSeconds(5));
 * }</pre>
 */
final class LoadClient {
    /** Told about every completed handshake: requested name, served leaf, generation when the connection began. */
    interface Observer {
        void onHandshake(String host, X509Certificate leaf, long startGeneration);
    }

    record Result(long handshakesInWindow, double seconds, long handshakesOk, long handshakeFailures, long requestsOk,
                  long requestFailures, long resumed, List<String> errors) {
        double rate() {
            return handshakesInWindow / seconds;
        }
    }

    private static final byte[] REQUEST = "GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII);
    private static final Method IS_SESSION_REUSED = reusedMethod();

    private final EventLoopGroup group;
    private final SslContext ctx;
    private final InetSocketAddress address;
    private final Supplier<String> sni;
    private final boolean request;
    private final Observer observer;
    private LongSupplier generation = () -> 0;

    private volatile boolean stop;
    private final AtomicLong ok = new AtomicLong();
    private final AtomicLong hsFail = new AtomicLong();
    private final AtomicLong reqOk = new AtomicLong();
    private final AtomicLong reqFail = new AtomicLong();
    private final AtomicLong resumed = new AtomicLong();
    private final Queue<String> errors = new ConcurrentLinkedQueue<>();
    private CountDownLatch slots;

    LoadClient(EventLoopGroup group, SslContext ctx, InetSocketAddress address, Supplier<String> sni, boolean request, Observer observer) {
        this.group = group;
        this.ctx = ctx;
        this.address = address;
        this.sni = sni;
        this.request = request;
        this.observer = observer;
    }

    LoadClient generation(LongSupplier g) {
        this.generation = g;
        return this;
    }

    /** Runs the load for {@code duration}, then lets in-flight connections finish (at most 20 s). */
    Result run(int concurrency, Duration duration) throws InterruptedException {
        stop = false;
        slots = new CountDownLatch(concurrency);
        long t0 = System.nanoTime();
        for (int i = 0; i < concurrency; i++) {
            launch();
        }
        Thread.sleep(duration.toMillis()); // the measurement window
        stop = true;
        long inWindow = ok.get();
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (!slots.await(20, TimeUnit.SECONDS)) {
            errors.add("some connections were still open 20 s after the end of the run");
        }
        return new Result(inWindow, seconds, ok.get(), hsFail.get(), reqOk.get(), reqFail.get(), resumed.get(),
                errors.stream().limit(10).toList());
    }

    private void launch() {
        if (stop) {
            slots.countDown();
            return;
        }
        String host = sni.get();
        long gen = generation.getAsLong();
        Conn conn = new Conn(host, gen);
        ChannelFuture cf = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000)
                .option(ChannelOption.TCP_NODELAY, true)
                .handler(conn)
                .connect(address);
        cf.addListener(f -> {
            if (!f.isSuccess()) {
                conn.finish(false, "connect: " + f.cause());
            }
        });
    }

    private final class Conn extends ChannelInitializer<SocketChannel> {
        final String host;
        final long gen;
        final AtomicBoolean done = new AtomicBoolean();
        volatile boolean handshaken;
        final StringBuilder response = new StringBuilder();

        Conn(String host, long gen) {
            this.host = host;
            this.gen = gen;
        }

        @Override
        protected void initChannel(SocketChannel ch) {
            SSLEngine engine = ctx.newEngine(ch.alloc());
            SSLParameters p = engine.getSSLParameters();
            p.setServerNames(List.of(new SNIHostName(host)));
            engine.setSSLParameters(p);
            SslHandler ssl = new SslHandler(engine);
            ssl.setHandshakeTimeoutMillis(10_000);
            ch.pipeline().addLast(ssl);
            if (request) {
                ch.pipeline().addLast(new ReadTimeoutHandler(10));
            }
            ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                @Override
                public void channelRead(ChannelHandlerContext c, Object msg) {
                    ByteBuf buf = (ByteBuf) msg;
                    try {
                        if (response.length() < 4096) {
                            response.append(buf.toString(StandardCharsets.US_ASCII));
                        }
                    } finally {
                        buf.release();
                    }
                }

                @Override
                public void channelInactive(ChannelHandlerContext c) {
                    if (request && handshaken) {
                        String r = response.toString();
                        boolean good = r.startsWith("HTTP/1.1 200") && r.endsWith("\r\n\r\n" + TlsServer.BODY);
                        finish(good, good ? null : "request: bad response '" + r.lines().findFirst().orElse("") + "'");
                    } else if (!handshaken) {
                        finish(false, "closed before the handshake completed");
                    }
                }

                @Override
                public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
                    if (!handshaken) {
                        finish(false, "handshake: " + cause);
                    } else if (request) {
                        finish(false, "request: " + cause);
                    }
                    c.close();
                }
            });
            ssl.handshakeFuture().addListener(f -> {
                if (!f.isSuccess()) {
                    finish(false, "handshake: " + f.cause());
                    ch.close();
                    return;
                }
                handshaken = true;
                ok.incrementAndGet();
                if (isResumed(engine)) {
                    resumed.incrementAndGet();
                }
                if (observer != null) {
                    Certificate[] peer = engine.getSession().getPeerCertificates();
                    observer.onHandshake(host, (X509Certificate) peer[0], gen);
                }
                if (request) {
                    ch.writeAndFlush(Unpooled.wrappedBuffer(REQUEST));
                } else {
                    ch.close();
                    finish(true, null);
                }
            });
        }

        void finish(boolean good, String error) {
            if (!done.compareAndSet(false, true)) {
                return;
            }
            if (!handshaken) {
                hsFail.incrementAndGet();
            } else if (request) {
                (good ? reqOk : reqFail).incrementAndGet();
            }
            if (error != null && errors.size() < 50) {
                errors.add(error);
            }
            launch();
        }
    }

    /** Whether this (BoringSSL) client engine's handshake resumed a session; fails loudly if that cannot be told. */
    static boolean isResumed(SSLEngine engine) {
        if (IS_SESSION_REUSED == null || !IS_SESSION_REUSED.getDeclaringClass().isInstance(engine)) {
            throw new IllegalStateException("cannot tell whether " + engine.getClass().getName() + " resumed its session; "
                    + "the benchmark clients must be Netty OpenSSL engines");
        }
        try {
            return Boolean.TRUE.equals(IS_SESSION_REUSED.invoke(engine));
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("isSessionReused() failed", e);
        }
    }

    private static Method reusedMethod() {
        try {
            Method m = Class.forName("io.netty.handler.ssl.ReferenceCountedOpenSslEngine").getDeclaredMethod("isSessionReused");
            m.setAccessible(true);
            return m;
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }
}
