package io.github.autocert4j.netty;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.Http01Responder;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.timeout.WriteTimeoutHandler;
import io.netty.util.ReferenceCountUtil;

/**
 * A minimal plain-HTTP listener that only answers ACME HTTP-01 challenges, for hosts with no
 * port-80 listener of their own: certbot's standalone mode, but in-process, so nothing else
 * competes for the port. Everything other than a challenge gets 404.
 *
 * <p>It is exposed to the internet, so it defends itself: every request must arrive complete
 * (request line, headers and body) within the request deadline (default 10 s), counted from the
 * connection's start or the end of the previous request, so an idle or slowly dripping
 * ("slowloris") connection is closed at the deadline; a response that the client does not read
 * within the deadline closes the connection too; request lines and headers are limited to 4 KB
 * and 8 KB; HTTP versions other than 1.0 and 1.1 get {@code 505} (as HTTP/1.1; the request's
 * version is never echoed).
 *
 * <pre>{@code
 * try (AcmeHttpListener port80 = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress(80))) {
 *     autoCert.start();
 *     ...
 * }
 * }</pre>
 */
public final class AcmeHttpListener implements AutoCloseable {
    /** How long a client may take to send a complete request (and to read the answer) by default. */
    public static final Duration DEFAULT_REQUEST_DEADLINE = Duration.ofSeconds(10);

    private final EventLoopGroup group;
    private final Channel channel;

    private AcmeHttpListener(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Binds {@code address} and starts answering, with the default request deadline; throws if the port cannot be bound. */
    public static AcmeHttpListener bind(Http01Responder responder, InetSocketAddress address) throws InterruptedException {
        return bind(responder, address, DEFAULT_REQUEST_DEADLINE);
    }

    /**
     * Binds {@code address} and starts answering; a connection that has not sent a complete request
     * within {@code requestDeadline} (from its start, or from the end of its previous request) is
     * closed. CAs send their validation request at once, so a few seconds are plenty.
     */
    public static AcmeHttpListener bind(Http01Responder responder, InetSocketAddress address, Duration requestDeadline)
            throws InterruptedException {
        if (responder == null) {
            throw new IllegalArgumentException("responder is null: pass autoCert.http01()");
        }
        if (address == null) {
            throw new IllegalArgumentException("address is null: pass e.g. new InetSocketAddress(80)");
        }
        if (requestDeadline == null || requestDeadline.isNegative() || requestDeadline.isZero()) {
            throw new IllegalArgumentException("requestDeadline must be a positive duration, e.g. Duration.ofSeconds(10): " + requestDeadline);
        }
        long deadlineMillis = Math.max(1, requestDeadline.toMillis());
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .childOption(ChannelOption.ALLOCATOR, UnpooledByteBufAllocator.DEFAULT)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(handlers(responder, deadlineMillis));
                        }
                    }).bind(address).sync().channel();
            ch.eventLoop().execute(() -> warmUp(responder, deadlineMillis));
            return new AcmeHttpListener(group, ch);
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully();
            throw e;
        }
    }

    private static ChannelHandler[] handlers(Http01Responder responder, long deadlineMillis) {
        return new ChannelHandler[] {new WriteTimeoutHandler(deadlineMillis, TimeUnit.MILLISECONDS), new HttpServerCodec(4096, 8192, 8192),
            new RequestDeadline(deadlineMillis), new VersionGuard(), new AcmeChallengeHandler(responder), new NotFound()};
    }

    /**
     * Serves one request that is not a challenge ({@code GET /}, answered 404) through the listener's own pipeline, in
     * memory, on the event loop right after the bind: in a fresh JVM the first request otherwise pays on arrival for
     * loading and initialising the HTTP codec and the buffer allocator (0.1-0.3 s), and the first request is the CA's
     * validation of the first certificate (issue 23). Here that runs while the CA is still being asked for the order.
     * A failure is ignored: a real request then pays as before.
     *
     * <p>The listener's connections (and this warm-up) use Netty's unpooled allocator, not the default pooling one: the
     * pool's first allocation takes a chunk and, whenever the JDK has JFR (Netty 4.2 checks {@code FlightRecorder}),
     * loads Netty's allocator JFR event classes and with them the JDK's JFR event machinery (about 140 classes, with
     * their annotation proxies) on the event loop, none of which a listener answering a few short requests needs: the
     * event loop loads about 260 classes to the first certificate instead of about 390. In a fresh JVM that cut the
     * child's CPU to the first certificate by about 0.1-0.15 s and spawn to live by 60-90 ms (per-round medians of 10
     * and 12 interleaved rounds, {@code docs/startup.md}); what clients get is unchanged.
     */
    private static void warmUp(Http01Responder responder, long deadlineMillis) {
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setAllocator(UnpooledByteBufAllocator.DEFAULT);
        ch.pipeline().addLast(handlers(responder, deadlineMillis));
        try {
            ch.writeInbound(Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: warm-up.invalid\r\n\r\n", StandardCharsets.US_ASCII));
            for (Object out = ch.readOutbound(); out != null; out = ch.readOutbound()) {
                ReferenceCountUtil.release(out);
            }
        } catch (RuntimeException e) {
            // nothing to do: the first real request loads what is missing
        } finally {
            ch.finishAndReleaseAll();
        }
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /**
     * Closes the connection unless a complete request (up to its last content) arrives within the
     * deadline, counted from the connection's start and again from the end of each request. Unlike
     * a read timeout, a client dripping one byte at a time cannot extend it.
     */
    static final class RequestDeadline extends ChannelInboundHandlerAdapter {
        private final long millis;
        private ScheduledFuture<?> pending;

        RequestDeadline(long millis) {
            this.millis = millis;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (ctx.channel().isActive()) {
                arm(ctx);
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (pending == null) {
                arm(ctx); // not armed yet by handlerAdded (the handler was added before the channel was active)
            }
            ctx.fireChannelActive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof LastHttpContent) {
                arm(ctx); // the next request on this connection gets its own deadline
            }
            ctx.fireChannelRead(msg);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancel();
            ctx.fireChannelInactive();
        }

        private void arm(ChannelHandlerContext ctx) {
            cancel();
            pending = ctx.executor().schedule((Runnable) ctx::close, millis, TimeUnit.MILLISECONDS);
        }

        private void cancel() {
            if (pending != null) {
                pending.cancel(false);
                pending = null;
            }
        }
    }

    /** 505 for any HTTP version other than 1.0 and 1.1, answered as HTTP/1.1; closes the connection. */
    static final class VersionGuard extends ChannelInboundHandlerAdapter {
        private boolean rejected;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (rejected) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpRequest r && !r.decoderResult().isFailure()) {
                HttpVersion v = r.protocolVersion();
                if (!HttpVersion.HTTP_1_1.equals(v) && !HttpVersion.HTTP_1_0.equals(v)) {
                    rejected = true;
                    ReferenceCountUtil.release(msg);
                    closeWith(ctx, HttpResponseStatus.HTTP_VERSION_NOT_SUPPORTED);
                    return;
                }
            }
            ctx.fireChannelRead(msg);
        }
    }

    /** Answers {@code status} with its reason phrase as the body and closes the connection. */
    private static void closeWith(ChannelHandlerContext ctx, HttpResponseStatus status) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                Unpooled.copiedBuffer(status.reasonPhrase() + "\n", StandardCharsets.US_ASCII));
        res.headers().set(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
        res.headers().set(HttpHeaderNames.CONNECTION, "close");
        ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
    }

    /** 404 for anything that is not a challenge (400 for what the codec could not decode); closes the connection. */
    private static final class NotFound extends SimpleChannelInboundHandler<HttpObject> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpRequest r) {
                closeWith(ctx, r.decoderResult().isFailure() ? HttpResponseStatus.BAD_REQUEST : HttpResponseStatus.NOT_FOUND);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
