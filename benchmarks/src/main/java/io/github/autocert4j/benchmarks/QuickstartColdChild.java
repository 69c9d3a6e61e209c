package io.github.autocert4j.benchmarks;

import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertTls;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.HttpServerCodec;

/**
 * A fresh JVM doing what the README's Netty quickstart does on its first start, up to its first certificate:
 * {@code build()}, {@code AutoCertTls.forServer(autoCert)}, port 80 with {@code AcmeChallengeHandler} in the host's own
 * pipeline, port 443 with {@code tls.newHandler()}, then {@code start()}. Unlike {@link ColdStartChild} (which binds
 * {@code AcmeHttpListener} only) it includes what the quickstart's port 443 costs before {@code start()}: OpenSSL's
 * initialisation when netty-tcnative is on the class path, and the contexts (docs/startup.md, "What the JIT compiles").
 * Not part of {@code bench.sh}; same arguments and {@code T <label> <epoch-ms>} lines as {@link ColdStartChild}
 * (directory, acme-trust-pem, http-port, store-dir, name); port 443 is bound to a free loopback port.
 *
 * <pre>{@code
 * java -cp <quickstart class path> io.github.autocert4j.benchmarks.QuickstartColdChild https://127.0.0.1:14000/dir ca.pem 5002 /tmp/store app.test
 * }</pre>
 */
public final class QuickstartColdChild {
    private QuickstartColdChild() {
    }

    public static void main(String[] args) throws Exception {
        ColdStartChild.mark("main");
        CompletableFuture<Void> live = new CompletableFuture<>();
        AutoCert autoCert = AutoCert.builder().directory(URI.create(args[0])).acmeServerTrust(Path.of(args[1]))
                .agreeToTermsOfService(true).email("ops@autocert4j.test").certificate(args[4]).storageDirectory(Path.of(args[3]))
                .listener(e -> {
                    if (e instanceof CertEvent.Issued) {
                        live.complete(null);
                    } else if (e instanceof CertEvent.Failed f) {
                        live.completeExceptionally(new IllegalStateException(f.error()));
                    }
                }).build();
        ColdStartChild.mark("built");
        AutoCertTls tls = AutoCertTls.forServer(autoCert);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[2]))).sync();
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync();
        ColdStartChild.mark("listening");
        autoCert.start();
        ColdStartChild.mark("started");
        live.get(60, TimeUnit.SECONDS);
        ColdStartChild.mark("live");
        System.out.flush();
        Runtime.getRuntime().halt(0); // the measurement ends at "live"
    }
}
