import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.netty.AcmeChallengeHandler;
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

public class NettyServer {
    public static void main(String[] args) throws Exception {
        AutoCert autoCert = AutoCert.builder()
                .directory(System.getProperty("acme.directory", AutoCert.LETS_ENCRYPT_PRODUCTION.toString()))  // or LETS_ENCRYPT_STAGING
                .agreeToTermsOfService(true)
                .email("ops@example.com")
                .certificate("example.com", "www.example.com")
                .storageDirectory(Path.of(System.getProperty("certs", "/var/lib/myapp/certs")))
                .build();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());

        // port 80: the challenge handler first, then your own handlers on the same port
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()),
                                new HttpObjectAggregator(65536), new Reply("use https"));
                    }
                }).bind(Integer.getInteger("http.port", 80)).sync();
        autoCert.start();   // once port 80 answers: serves a stored certificate at once; orders and renews in the background

        // port 443 (set up while the first order runs)
        AutoCertTls tls = AutoCertTls.forServer(autoCert);      // the live certificate: renewals reach new connections
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new Reply("hello over TLS"));
                    }
                }).bind(Integer.getInteger("https.port", 443)).sync();
    }

    /** Stands for your application: answers every request with a fixed text. */
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
    }
}
