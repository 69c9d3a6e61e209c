package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AutoCertSsl#prepareKeyMaterial}: with OpenSSL it prepares one key material per served
 * certificate, with the JDK provider none; handshakes over real sockets afterwards get each name's
 * own certificate, and a renewal after the preparation is served at once.
 */
class PrepareKeyMaterialTest {
    static final List<String> NAMES = List.of("a.prepare.test", "b.prepare.test", "c.prepare.test");

    @TempDir
    Path store;

    @Test
    void preparesEveryServedCertificateAndHandshakesServeThem() throws Exception {
        assertTrue(OpenSsl.isAvailable(), "netty-tcnative-boringssl-static is on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", Duration.ofDays(30));
        var b = AutoCert.builder().issuer(ca).storageDirectory(store);
        NAMES.forEach(b::certificate);
        try (AutoCert autoCert = b.build().start()) {
            for (String n : NAMES) {
                awaitValid(autoCert, n);
            }
            SslContext openssl = AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).build();
            assertEquals(3, AutoCertSsl.prepareKeyMaterial(openssl, autoCert), "one key material per certificate");
            assertEquals(0, AutoCertSsl.prepareKeyMaterial(AutoCertSsl.contextBuilder(autoCert, SslProvider.JDK).build(), autoCert),
                    "the JDK provider keeps no per-certificate state");
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            try {
                Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                        .childHandler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(openssl.newHandler(ch.alloc()));
                            }
                        }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
                InetSocketAddress addr = (InetSocketAddress) server.localAddress();
                for (String n : NAMES) {
                    assertEquals(autoCert.status(n).orElseThrow().serial(), TlsProbe.handshake(addr, n, ca.root, Duration.ofSeconds(10)).serial(), n);
                }
                BigInteger renewed = autoCert.renewNow("b.prepare.test").get(20, TimeUnit.SECONDS).serial();
                assertEquals(renewed, TlsProbe.handshake(addr, "b.prepare.test", ca.root, Duration.ofSeconds(10)).serial(), "renewal served at once");
                server.close().sync();
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
        }
    }

    static void awaitValid(AutoCert autoCert, String name) throws InterruptedException {
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < end; Thread.sleep(10)) {
            if (autoCert.status(name).orElseThrow().state() == CertificateStatus.State.VALID) {
                return;
            }
        }
        throw new AssertionError(name + " never became valid: " + autoCert.status(name));
    }

}
