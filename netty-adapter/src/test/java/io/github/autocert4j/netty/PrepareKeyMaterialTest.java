package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.internal.UnverifiedTls;
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
                Channel server = serve(group, openssl);
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

    /**
     * A certificate not issued yet (the manager is not started) is not prepared: its handshakes get the self-signed
     * fallback, which is made at the first handshake needing it rather than here (in a fresh JVM making it loaded
     * BouncyCastle, ~0.25 s, before {@code start()}); that handshake still gets the fallback, converted then.
     */
    @Test
    void skipsCertificatesNotIssuedYetAndTheirHandshakesStillGetTheFallback() throws Exception {
        assertTrue(OpenSsl.isAvailable(), "netty-tcnative-boringssl-static is on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", Duration.ofDays(30));
        String name = NAMES.get(0);
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(name).build()) {
            assertEquals(CertificateStatus.State.PENDING, autoCert.status(name).orElseThrow().state());
            SslContext openssl = AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).build();
            assertEquals(0, AutoCertSsl.prepareKeyMaterial(openssl, autoCert), "nothing issued: nothing prepared");
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            try {
                Channel server = serve(group, openssl);
                X509Certificate served = UnverifiedTls.servedLeaf((InetSocketAddress) server.localAddress(), name, 10_000);
                assertEquals(autoCert.servedCertificate(name).chain().get(0), served, "the self-signed fallback, made at the handshake");
                assertEquals(served.getSubjectX500Principal(), served.getIssuerX500Principal(), "self-signed");
                server.close().sync();
            } finally {
                group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * Lazy loading ({@code lazyLoadAbove(0)}, the background sweep held back by the store): nothing is prepared while
     * a certificate is NOT_LOADED, and OpenSSL handshakes load each name's own certificate at its first handshake.
     */
    @Test
    void preparesNothingWhileLoadingLazilyAndFirstHandshakesLoadEachCertificate() throws Exception {
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", Duration.ofDays(30));
        // Configured first: the sweep's 4 threads take these and wait at the gate, so it reaches none of NAMES.
        List<String> held = List.of("f0.prepare.test", "f1.prepare.test", "f2.prepare.test", "f3.prepare.test");
        List<String> all = new java.util.ArrayList<>(held);
        all.addAll(NAMES);
        var seed = AutoCert.builder().issuer(ca).storageDirectory(store);
        all.forEach(seed::certificate);
        try (AutoCert seeded = seed.build().start()) {
            for (String n : all) {
                awaitValid(seeded, n);
            }
        }
        java.util.concurrent.CountDownLatch sweepGate = new java.util.concurrent.CountDownLatch(1);
        io.github.autocert4j.CertStore files = io.github.autocert4j.FileCertStore.of(store);
        io.github.autocert4j.CertStore gated = new io.github.autocert4j.CertStore() {
            @Override
            public java.util.Optional<byte[]> load(String key) throws java.io.IOException {
                if (Thread.currentThread().getName().startsWith("autocert4j-lazy-sweep")) {
                    try {
                        sweepGate.await(30, TimeUnit.SECONDS); // the sweep waits until the test is done
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new java.io.IOException("interrupted", e);
                    }
                }
                return files.load(key);
            }

            @Override
            public void store(String key, byte[] value) throws java.io.IOException {
                files.store(key, value);
            }

            @Override
            public List<String> list(String prefix) throws java.io.IOException {
                return files.list(prefix);
            }

            @Override
            public boolean delete(String key) throws java.io.IOException {
                return files.delete(key);
            }

            @Override
            public Lock lock(String name) throws java.io.IOException {
                return files.lock(name);
            }
        };
        var b = AutoCert.builder().issuer(ca).store(gated).lazyLoadAbove(0);
        all.forEach(b::certificate);
        try (AutoCert autoCert = b.build().start()) {
            assertEquals(all.size(), autoCert.status().stream().filter(s -> s.state() == CertificateStatus.State.NOT_LOADED).count());
            SslContext openssl = AutoCertSsl.contextBuilder(autoCert, SslProvider.OPENSSL).build();
            assertEquals(0, AutoCertSsl.prepareKeyMaterial(openssl, autoCert), "lazy: nothing prepared up front");
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            try {
                Channel server = serve(group, openssl);
                InetSocketAddress addr = (InetSocketAddress) server.localAddress();
                for (String n : NAMES) {
                    BigInteger served = TlsProbe.handshake(addr, n, ca.root, Duration.ofSeconds(10)).serial();
                    assertEquals(CertificateStatus.State.VALID, autoCert.status(n).orElseThrow().state(), n);
                    assertEquals(autoCert.status(n).orElseThrow().serial(), served, n);
                }
                server.close().sync();
            } finally {
                sweepGate.countDown();
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

    /** A loopback TLS server on {@code group} whose connections get {@code context}'s handler only. */
    private static Channel serve(EventLoopGroup group, SslContext context) throws InterruptedException {
        return new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(context.newHandler(ch.alloc()));
                    }
                }).bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }
}
