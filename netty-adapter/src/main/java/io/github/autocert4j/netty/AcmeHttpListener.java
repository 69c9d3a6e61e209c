package io.github.autocert4j.netty;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

import io.github.autocert4j.Http01Responder;
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
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.timeout.ReadTimeoutHandler;

/**
 * A minimal plain-HTTP listener that only answers ACME HTTP-01 challenges, for hosts with no
 * port-80 listener of their own: certbot's standalone mode, but in-process, so nothing else
 * competes for the port. Everything other than a challenge gets 404.
 *
 * <pre>{@code
 * try (AcmeHttpListener port80 = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress(80))) {
 *     autoCert.start();
 *     ...
 * }
 * }</pre>
 */
public final class AcmeHttpListener implements AutoCloseable {
    private final EventLoopGroup group;
    private final Channel channel;

    private AcmeHttpListener(EventLoopGroup group, Channel channel) {
        this.group = group;
        this.channel = channel;
    }

    /** Binds {@code address} and starts answering; throws if the port cannot be bound. */
    public static AcmeHttpListener bind(Http01Responder responder, InetSocketAddress address) throws InterruptedException {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            Channel ch = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(new ReadTimeoutHandler(30), new HttpServerCodec(),
                                    new AcmeChallengeHandler(responder), new NotFound());
                        }
                    }).bind(address).sync().channel();
            return new AcmeHttpListener(group, ch);
        } catch (RuntimeException | InterruptedException e) {
            group.shutdownGracefully();
            throw e;
        }
    }

    /** The bound address (useful with port 0). */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) channel.localAddress();
    }

    @Override
    public void close() {
        channel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** 404 for anything that is not a challenge; closes the connection. */
    private static final class NotFound extends SimpleChannelInboundHandler<HttpObject> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
            if (msg instanceof HttpRequest) {
                FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.NOT_FOUND,
                        Unpooled.copiedBuffer("Not Found\n", StandardCharsets.US_ASCII));
                r.headers().set(HttpHeaderNames.CONTENT_LENGTH, r.content().readableBytes());
                r.headers().set(HttpHeaderNames.CONNECTION, "close");
                ctx.writeAndFlush(r).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
