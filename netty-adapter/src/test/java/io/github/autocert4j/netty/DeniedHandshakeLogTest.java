package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.testkit.internal.UnverifiedTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpServerCodec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A denied on-demand handshake is logged as one line per name per interval, without a stack trace:
 * a Netty host built like the README's quickstart (its handler does not override exceptionCaught,
 * so a failed handshake would reach the pipeline's tail, which Netty logs with the whole stack
 * trace, about 40 lines each: 22.8 MB for 5,000 denied handshakes) is hit by 200 handshakes for two
 * names nobody allows, with the log captured and its lines counted.
 */
@Timeout(120)
class DeniedHandshakeLogTest {

    @TempDir
    Path store;

    @Test
    void deniedHandshakesLogOneLinePerNamePerIntervalAndNoStackTrace() throws Exception {
        OnDemand nobody = OnDemand.allow(name -> CompletableFuture.completedFuture(false)).build();
        PrintStream err = System.err;
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try (AutoCert autoCert = AutoCert.builder().directory("https://127.0.0.1:9/dir").agreeToTermsOfService(true)
                .onDemand(nobody).storageDirectory(store).build().start()) {
            AutoCertTls tls = AutoCertTls.forServer(autoCert);
            Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            // as in the README: no exceptionCaught of its own
                            ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                    new SimpleChannelInboundHandler<FullHttpRequest>() {
                                        @Override
                                        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
                                            ctx.close();
                                        }
                                    });
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
            InetSocketAddress address = (InetSocketAddress) server.localAddress();
            System.setErr(new PrintStream(log, true, StandardCharsets.UTF_8));
            try {
                for (int i = 0; i < 100; i++) {
                    for (String name : List.of("denied-one.example.test", "denied-two.example.test")) {
                        assertThrows(IOException.class, () -> UnverifiedTls.servedLeaf(address, name, 5_000), name);
                    }
                }
                Thread.sleep(200); // the server side's last failures are logged after the client saw the alert
            } finally {
                System.setErr(err);
                server.close().sync();
            }
        } finally {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
        String text = log.toString(StandardCharsets.UTF_8);
        List<String> lines = text.lines().toList();
        err.println("captured log (" + lines.size() + " lines, " + text.length() + " bytes):\n"
                + String.join("\n", lines.subList(0, Math.min(20, lines.size()))));
        assertFalse(lines.stream().anyMatch(l -> l.startsWith("\tat ") || l.contains("exceptionCaught")),
                "no stack trace, nothing reached the pipeline's tail:\n" + text.substring(0, Math.min(4000, text.length())));
        for (String name : List.of("denied-one.example.test", "denied-two.example.test")) {
            long mentions = lines.stream().filter(l -> l.contains(name)).count();
            assertEquals(1, mentions, "one line for " + name + " in this interval:\n" + text);
            assertTrue(lines.stream().anyMatch(l -> l.contains(name) && l.contains("refused")), text);
        }
        assertTrue(lines.size() <= 4, "200 denied handshakes, a handful of lines: " + lines.size() + "\n" + text);
    }
}
