package io.github.autocert4j.examples;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.util.Arrays;
import java.util.List;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
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
 * (a small app) whose certificate autocert4j obtains and renews live.
 *
 * <p>Configuration (system property, else environment variable):
 * <pre>
 * acme.directory  ACME_DIRECTORY   ACME directory URL (required)
 * acme.trust      ACME_TRUST       PEM file to trust for the ACME API (private CAs such as Pebble)
 * names           NAMES            comma-separated names of the certificate (default app.autocert4j.test)
 * http.port       HTTP_PORT        plain-HTTP port (default 80)
 * https.port      HTTPS_PORT       HTTPS port (default 443)
 * bind            BIND             address to bind (default 127.0.0.1)
 * store           STORE            store directory (default ./autocert4j-store)
 * profile         PROFILE          ACME profile (optional)
 * email           EMAIL            contact e-mail (optional)
 * </pre>
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
        try (NettyExample server = start(Config.fromEnvironment())) {
            server.https.closeFuture().sync();
        }
    }

    /** Starts both listeners, then the certificate manager; prints where to connect. */
    public static NettyExample start(Config c) throws Exception {
        AutoCert.Builder builder = AutoCert.builder()
                .directory(URI.create(c.directory()))
                .agreeToTermsOfService(true)
                .certificate(c.names().toArray(String[]::new))
                .storageDirectory(c.store())
                .listener(NettyExample::print);
        if (c.trust() != null) {
            builder.acmeServerTrust(c.trust());
        }
        if (c.profile() != null) {
            builder.profile(c.profile());
        }
        if (c.email() != null) {
            builder.email(c.email());
        }
        AutoCert autoCert = builder.build();
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
        System.out.println("https-url: https://" + c.names().get(0) + ":" + c.httpsPort() + "/");
        System.out.println("connect-to: " + c.bind() + ":" + c.httpsPort());
        System.out.flush();
        autoCert.start();
        return new NettyExample(autoCert, group, http, https);
    }

    static void print(CertEvent event) {
        if (event instanceof CertEvent.Issued i) {
            printCertificate(i.serial().toString(16), i.notAfter());
        } else if (event instanceof CertEvent.Loaded l) {
            printCertificate(l.serial().toString(16), l.notAfter());
        } else if (event instanceof CertEvent.Failed f) {
            System.out.println("certificate-error: " + f.error());
        }
        System.out.flush();
    }

    private static void printCertificate(String serialHex, Instant notAfter) {
        System.out.println("certificate: serial=" + serialHex + " notAfter=" + DateTimeFormatter.ISO_INSTANT.format(notAfter));
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

    /** Example settings. */
    public record Config(String directory, Path trust, List<String> names, int httpPort, int httpsPort, String bind,
                         Path store, String profile, String email) {
        static Config fromEnvironment() {
            String directory = setting("acme.directory", "ACME_DIRECTORY", null);
            if (directory == null) {
                throw new IllegalArgumentException("set -Dacme.directory=<ACME directory URL> (or ACME_DIRECTORY), e.g. "
                        + AutoCert.LETS_ENCRYPT_STAGING);
            }
            String trust = setting("acme.trust", "ACME_TRUST", null);
            return new Config(directory, trust == null ? null : Path.of(trust),
                    Arrays.stream(setting("names", "NAMES", "app.autocert4j.test").split(",")).map(String::trim).toList(),
                    Integer.parseInt(setting("http.port", "HTTP_PORT", "80")),
                    Integer.parseInt(setting("https.port", "HTTPS_PORT", "443")),
                    setting("bind", "BIND", "127.0.0.1"),
                    Path.of(setting("store", "STORE", "autocert4j-store")),
                    setting("profile", "PROFILE", null),
                    setting("email", "EMAIL", null));
        }

        static String setting(String property, String env, String fallback) {
            String v = System.getProperty(property);
            if (v == null || v.isBlank()) {
                v = System.getenv(env);
            }
            return v == null || v.isBlank() ? fallback : v;
        }
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
