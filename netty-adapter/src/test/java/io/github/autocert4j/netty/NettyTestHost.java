package io.github.autocert4j.netty;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;

/** A real Netty host as a user would write it: port "80" with the challenge handler before its own routes, and port "443". */
final class NettyTestHost implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final Channel http;
    final Channel https;

    NettyTestHost(AutoCert autoCert, int httpPort, int httpsPort, SslProvider provider, boolean aggregatePlainHttp) throws Exception {
        SslContext tls = AutoCertSsl.contextBuilder(autoCert, provider).build();
        http = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec());
                        if (aggregatePlainHttp) {
                            ch.pipeline().addLast(new HttpObjectAggregator(65536));
                            ch.pipeline().addLast(new AcmeChallengeHandler(autoCert.http01()));
                        } else {
                            ch.pipeline().addLast(new AcmeChallengeHandler(autoCert.http01()));
                            ch.pipeline().addLast(new HttpObjectAggregator(65536));
                        }
                        ch.pipeline().addLast(new App("plain"));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", httpPort)).sync().channel();
        https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(65536), new App("tls"));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", httpsPort)).sync().channel();
    }

    InetSocketAddress httpsAddress() {
        return (InetSocketAddress) https.localAddress();
    }

    @Override
    public void close() {
        http.close().syncUninterruptibly();
        https.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** The host's own route: answers every path with "<kind> <path>". */
    static final class App extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String kind;

        App(String kind) {
            this.kind = kind;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(kind + " " + req.uri(), StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
            ctx.writeAndFlush(r);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // e.g. a client rejecting the self-signed fallback
        }
    }
}
