package io.github.autocert4j.netty;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.CaddyAcmeServer;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.ssl.SslProvider;

/**
 * A real Netty host where Caddy's validator looks: port 80 (the challenge handler before the host's own routes) and
 * port 443 ({@link AutoCertTls}, so tls-alpn-01 is answered too), both at {@link CaddyAcmeServer#validationAddress()}.
 */
final class CaddyHost implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final Channel http;
    final Channel https;

    /** Port 80 and 443; {@code plainHttp=false}: only 443 (a host that can only be validated by tls-alpn-01). */
    CaddyHost(AutoCert autoCert, InetAddress at, SslProvider provider, boolean plainHttp) throws Exception {
        try {
            http = plainHttp ? new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()),
                                    new HttpObjectAggregator(65536), new NettyTestHost.App("plain"));
                        }
                    }).bind(new InetSocketAddress(at, CaddyAcmeServer.HTTP_PORT)).sync().channel() : null;
            AutoCertTls tls = AutoCertTls.forServer(autoCert, AutoCertSsl.contextBuilder(autoCert, provider).build());
            https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                    new NettyTestHost.App("tls"));
                        }
                    }).bind(new InetSocketAddress(at, CaddyAcmeServer.TLS_PORT)).sync().channel();
        } catch (Exception | Error e) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
            throw e;
        }
    }

    InetSocketAddress httpsAddress() {
        return (InetSocketAddress) https.localAddress();
    }

    @Override
    public void close() {
        if (http != null) {
            http.close().syncUninterruptibly();
        }
        https.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
