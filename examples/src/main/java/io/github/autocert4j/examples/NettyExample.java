package io.github.autocert4j.examples;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertSsl;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
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

/**
 * A Netty server with a plain-HTTP port (ACME challenges + redirect to HTTPS) and an HTTPS port
 * (a small app) whose certificate autocert4j obtains and renews live. Settings: {@link ExampleConfig}.
 *
 * <pre>{@code
 * mvn -q -pl examples exec:java -Dexec.mainClass=io.github.autocert4j.examples.NettyExample -Dacme.directory=...
 * }</pre>
 */
public final class NettyExample implements AutoCloseable {
    private final AutoCert autoCert;
    private final EventLoopGroup group;
    private final Channel http;
    private final Channel https;

    private NettyExample(AutoCert autoCert, EventLoopGroup group, Channel http, Channel https) {
        this.autoCert = autoCert;
        this.group = group;
        this.http = http;
        this.https = https;
    }

    public static void main(String[] args) throws Exception {
        try (NettyExample server = start(ExampleConfig.fromEnvironment())) {
            server.https.closeFuture().sync();
        }
    }

    /** Starts both listeners, then the certificate manager; prints where to connect. */
    public static NettyExample start(ExampleConfig c) throws Exception {
        AutoCert autoCert = c.buildAutoCert();
        SslContext tls = AutoCertSsl.serverContext(autoCert);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(0, NioIoHandler.newFactory());
        Channel http = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(),
                                new AcmeChallengeHandler(autoCert.http01()), // ACME first, then the host's own handlers
                                new HttpObjectAggregator(65536),
                                new RedirectToHttps(c.httpsPort()));
                    }
                }).bind(new InetSocketAddress(c.bind(), c.httpPort())).sync().channel();
        Channel https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(),
                                new HttpObjectAggregator(65536), new HelloApp());
                    }
                }).bind(new InetSocketAddress(c.bind(), c.httpsPort())).sync().channel();
        c.printEndpoints(autoCert, ((InetSocketAddress) https.localAddress()).getPort());
        autoCert.start();
        return new NettyExample(autoCert, group, http, https);
    }

    public AutoCert autoCert() {
        return autoCert;
    }

    @Override
    public void close() {
        autoCert.close();
        http.close().syncUninterruptibly();
        https.close().syncUninterruptibly();
        group.shutdownGracefully().syncUninterruptibly();
    }

    /** The host's own port-80 behaviour: everything that is not an ACME challenge goes to HTTPS. */
    static final class RedirectToHttps extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final int httpsPort;

        RedirectToHttps(int httpsPort) {
            this.httpsPort = httpsPort;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String host = req.headers().get(HttpHeaderNames.HOST, "localhost").replaceFirst(":\\d+$", "");
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.MOVED_PERMANENTLY);
            r.headers().set(HttpHeaderNames.LOCATION, "https://" + host + (httpsPort == 443 ? "" : ":" + httpsPort) + req.uri());
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, 0);
            ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The app on the HTTPS port. */
    static final class HelloApp extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("hello over TLS from autocert4j\n", StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
            r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
            HttpUtil.setKeepAlive(r, HttpUtil.isKeepAlive(req));
            ctx.writeAndFlush(r);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // e.g. a client that does not trust the self-signed fallback
        }
    }
}
