package io.github.autocert4j.netty;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

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

/** A real Netty HTTPS host whose TLS entry is {@link AutoCertTls}: validations are answered on this port. */
final class NettyTlsHost implements AutoCloseable {
    final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    final Channel https;

    NettyTlsHost(AutoCertTls tls, int port) throws Exception {
        this(tls, new InetSocketAddress("127.0.0.1", port));
    }

    NettyTlsHost(AutoCertTls tls, InetSocketAddress bind) throws Exception {
        https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                new NettyTestHost.App("tls"));
                    }
                }).bind(bind).sync().channel();
    }

    InetSocketAddress address() {
        return (InetSocketAddress) https.localAddress();
    }

    @Override
    public void close() {
        https.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
