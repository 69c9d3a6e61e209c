package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.Issuer;
import io.github.autocert4j.testkit.TlsProbe;
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
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
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
        Ca ca = new Ca();
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

    /** An in-memory CA behind the public Issuer SPI: signs the CSR's public key. */
    static final class Ca implements Issuer {
        final KeyPair key;
        final X509Certificate root;
        final Duration validity;

        Ca() throws Exception {
            this(Duration.ofDays(30));
        }

        /** A CA whose certificates are valid for {@code validity}. */
        Ca(Duration validity) throws Exception {
            this.validity = validity;
            KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
            g.initialize(new ECGenParameterSpec("secp256r1"));
            key = g.generateKeyPair();
            X500Name name = new X500Name("CN=prepare test CA");
            Instant now = Instant.now();
            var b = new JcaX509v3CertificateBuilder(name, BigInteger.ONE, Date.from(now.minusSeconds(3600)), Date.from(now.plus(Duration.ofDays(30))),
                    name, key.getPublic());
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
            root = new JcaX509CertificateConverter().getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
        }

        @Override
        public String id() {
            return "prepare-test-ca";
        }

        @Override
        public Result issue(Request r) {
            try {
                Instant now = Instant.now();
                var b = new JcaX509v3CertificateBuilder(root, BigInteger.valueOf(System.nanoTime()), Date.from(now.minusSeconds(60)),
                        Date.from(now.plus(validity)), new X500Name("CN=" + r.names().get(0)), r.publicKey());
                b.addExtension(Extension.subjectAlternativeName, false,
                        new GeneralNames(r.names().stream().map(n -> new GeneralName(GeneralName.dNSName, n)).toArray(GeneralName[]::new)));
                X509Certificate leaf = new JcaX509CertificateConverter().getCertificate(
                        b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(key.getPrivate())));
                return new Result(List.of(leaf), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }
}
