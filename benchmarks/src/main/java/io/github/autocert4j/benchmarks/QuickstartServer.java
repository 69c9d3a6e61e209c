package io.github.autocert4j.benchmarks;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.FileCertStore;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.RenewalPolicy;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.netty.AutoCertTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
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
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;

/**
 * The README's Netty quickstart as a process of its own, for the anchors section ({@link AnchorsBench}): the same
 * pipeline (port 80: {@code AcmeChallengeHandler}; port 443: {@code AutoCertTls.forServer(autoCert)} first), the same
 * default event loop group, run by bench.sh on the quickstart's dependencies only (autocert4j-netty and what it
 * brings), so the TLS provider is whatever a user of the quickstart gets. Uses nothing but the public API and Netty.
 *
 * <p>Args: {@code static <store> <name> <http-port> <https-port>} serves the stored certificate of {@code name} (no CA:
 * an unreachable directory, no ARI); {@code ondemand <store> <directory> <acme-trust-pem> <http-port> <https-port>
 * <suffix>} gets certificates on demand for names ending in {@code suffix}. Prints {@code READY <provider>} once both
 * ports listen and {@code start()} returned.
 *
 * <pre>{@code
 * java -cp <quickstart class path> io.github.autocert4j.benchmarks.QuickstartServer static /tmp/store a.test 5002 5443
 * }</pre>
 */
public final class QuickstartServer {
    private QuickstartServer() {
    }

    public static void main(String[] args) throws Exception {
        boolean onDemand = args[0].equals("ondemand");
        AutoCertBuilder b = AutoCert.builder().agreeToTermsOfService(true).email("ops@autocert4j.test").store(FileCertStore.of(Path.of(args[1])));
        int http;
        int https;
        if (onDemand) {
            String suffix = args[6];
            b.directory(URI.create(args[2])).acmeServerTrust(Path.of(args[3]))
                    .onDemand(OnDemand.allow(n -> CompletableFuture.completedFuture(n.endsWith(suffix)))
                            .orderRate(1_000_000, 100_000).handshakeWait(Duration.ofSeconds(60)).build());
            http = Integer.parseInt(args[4]);
            https = Integer.parseInt(args[5]);
        } else {
            b.directory(URI.create("https://127.0.0.1:1/dir")).certificate(args[2])
                    .renewal(RenewalPolicy.defaults().withAri(false).withCheckInterval(Duration.ofDays(30)));
            http = Integer.parseInt(args[3]);
            https = Integer.parseInt(args[4]);
        }
        AutoCert autoCert = b.build();
        AutoCertTls tls = AutoCertTls.forServer(autoCert);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()),
                                new HttpObjectAggregator(65536), new Reply("use https"));
                    }
                }).bind("127.0.0.1", http).sync();
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536), new Reply("ok"));
                    }
                }).bind("127.0.0.1", https).sync();
        autoCert.start();
        System.out.println("READY " + AutoCertSsl.defaultProvider());
        System.out.flush();
        Thread.currentThread().join(); // until the parent destroys this process
    }

    /** Answers every request with a fixed text. */
    static final class Reply extends SimpleChannelInboundHandler<FullHttpRequest> {
        private final String text;

        Reply(String text) {
            this.text = text;
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest request) {
            DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            response.headers().set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes());
            ctx.writeAndFlush(response);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // clients closing right after the handshake cause resets
        }
    }
}
