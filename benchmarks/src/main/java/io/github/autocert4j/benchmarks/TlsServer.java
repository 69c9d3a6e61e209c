package io.github.autocert4j.benchmarks;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;
import java.util.function.Function;

import javax.net.ssl.SSLEngine;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslHandler;

/**
 * A minimal Netty HTTPS server on 127.0.0.1 answering every request with {@code 200 ok}; keeps the
 * connection open when the request asks for it (HTTP/1.1 without {@code Connection: close}).
 * Optionally told about every completed server handshake (its engine), on the event loop.
 *
 * <pre>{@code
 * try (TlsServer s = new TlsServer(sslContext, boss, workers)) { s.address(); }
 * }</pre>
 */
final class TlsServer implements AutoCloseable {
    static final String BODY = "ok";
    private final Channel channel;

    TlsServer(SslContext ctx, EventLoopGroup boss, EventLoopGroup workers) throws InterruptedException {
        this(ch -> ctx.newHandler(ch.alloc()), boss, workers, null);
    }

    TlsServer(Function<SocketChannel, ChannelHandler> tls, EventLoopGroup boss, EventLoopGroup workers) throws InterruptedException {
        this(tls, boss, workers, null);
    }

    /**
     * {@code tls} makes the first handler of each accepted channel (an SslHandler or an SniHandler);
     * {@code handshaken}, if set, gets the engine of every successful handshake of an SslHandler made by {@code tls}.
     */
    /** As {@link #TlsServer(Function, EventLoopGroup, EventLoopGroup)} on a given port of 127.0.0.1 (0: any free port). */
    TlsServer(Function<SocketChannel, ChannelHandler> tls, EventLoopGroup boss, EventLoopGroup workers, int port) throws InterruptedException {
        this(tls, boss, workers, null, port);
    }

    TlsServer(Function<SocketChannel, ChannelHandler> tls, EventLoopGroup boss, EventLoopGroup workers, Consumer<SSLEngine> handshaken)
            throws InterruptedException {
        this(tls, boss, workers, handshaken, 0);
    }

    private TlsServer(Function<SocketChannel, ChannelHandler> tls, EventLoopGroup boss, EventLoopGroup workers, Consumer<SSLEngine> handshaken,
                      int port) throws InterruptedException {
        channel = new ServerBootstrap().group(boss, workers).channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ChannelHandler h = tls.apply(ch);
                        if (handshaken != null && h instanceof SslHandler ssl) {
                            ssl.handshakeFuture().addListener(f -> {
                                if (f.isSuccess()) {
                                    handshaken.accept(ssl.engine());
                                }
                            });
                        }
                        ch.pipeline().addLast(h, new HttpServerCodec(), new HttpObjectAggregator(8192), new Ok());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", port)).sync().channel();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().awaitUninterruptibly();
    }

    private static final class Ok extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(BODY, StandardCharsets.US_ASCII));
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, BODY.length());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
            ChannelFuture f = ctx.writeAndFlush(r);
            if (!keepAlive) {
                f.addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // clients closing right after the handshake cause resets; not the server's failure
        }
    }
}
