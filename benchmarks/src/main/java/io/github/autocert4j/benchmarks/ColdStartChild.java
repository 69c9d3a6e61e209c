package io.github.autocert4j.benchmarks;

import static io.github.autocert4j.benchmarks.ColdStartMarks.mark;

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
 * The fresh JVM of the cold-start benchmark: what the README's Netty quickstart does on its first start with an empty
 * store, up to its first certificate being live: {@code build()}, port 80 with {@code AcmeChallengeHandler} in the
 * host's own pipeline, {@code start()}, then {@code AutoCertTls.forServer} and port 443 with {@code tls.newHandler()}
 * (OpenSSL's initialisation when netty-tcnative is on the class path, the contexts) while the first order runs.
 * Prints {@code T <label> <epoch-ms>} at each step for the parent ({@link ColdStartBench}) to attribute the time.
 * Until 2026-12-07 it bound {@code AcmeHttpListener} only and left out port 443, which the quickstart pays before
 * its first certificate (about 0.2-0.4 s then: docs/startup.md).
 *
 * <p>Args: directory, acme-trust-pem, http-port, store-dir, name [, {@code exit}]. With {@code exit} the JVM ends
 * through {@code System.exit} (an orderly exit: what a training run for a class-data-sharing archive or an AOT cache
 * needs to write it); without, through {@code Runtime.halt} right after the certificate is live. Port 443 is bound
 * to a free loopback port.
 *
 * <p>This class must reference nothing it does not use on that path: the JVM verifies a main class before
 * {@code main} runs and loads every class the verifier needs for an assignability check. When the breakdown lived
 * here, its {@code Security.addProvider(new BouncyCastleProvider())} made the verifier load BouncyCastle's provider
 * from its signed jar (jar signature check, ~0.2 s) before {@code main}, which the benchmark counted as JVM start;
 * no user's server pays that. The breakdown is {@link ColdStartBreakdown}.
 *
 * <pre>{@code
 * java -cp ... io.github.autocert4j.benchmarks.ColdStartChild https://127.0.0.1:14000/dir ca.pem 5002 /tmp/store app.test
 * }</pre>
 */
public final class ColdStartChild {
    private ColdStartChild() {
    }

    public static void main(String[] args) throws Exception {
        mark("main");
        URI directory = URI.create(args[0]);
        Path trust = Path.of(args[1]);
        int httpPort = Integer.parseInt(args[2]);
        Path store = Path.of(args[3]);
        String name = args[4];
        CompletableFuture<Void> live = new CompletableFuture<>();
        AutoCert autoCert = AutoCert.builder().directory(directory).acmeServerTrust(trust).agreeToTermsOfService(true)
                .email("ops@autocert4j.test").certificate(name).storageDirectory(store)
                .listener(e -> {
                    if (e instanceof CertEvent.Issued) {
                        live.complete(null);
                    } else if (e instanceof CertEvent.Failed f) {
                        live.completeExceptionally(new IllegalStateException(f.error()));
                    }
                }).build();
        mark("built");
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(NioIoHandler.newFactory());
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", httpPort)).sync();
        mark("listening");
        autoCert.start();
        mark("started");
        AutoCertTls tls = AutoCertTls.forServer(autoCert);
        new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(tls.newHandler(), new HttpServerCodec());
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync();
        mark("https");
        live.get(60, TimeUnit.SECONDS);
        mark("live");
        ColdStartThreadCpu.print(); // after the mark: not part of the measured time
        System.out.flush();
        if (args.length > 5 && args[5].equals("exit")) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
            autoCert.close();
            System.exit(0); // training run: the JVM writes its archive / AOT cache on this orderly exit
        }
        Runtime.getRuntime().halt(0); // the measurement ends at "live"; no orderly shutdown needed
    }
}
