package io.github.autocert4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariDataSource;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AcmeChallengeHandler;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.postgres.PostgresCertStore;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.PostgresServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.UnverifiedTls;
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
import io.netty.handler.ssl.SslContext;

/**
 * A Netty node whose PostgreSQL does not answer at start (issue 18): a database host that accepts TCP but
 * never answers, behind a HikariCP pool with its default timeouts (connectionTimeout 30 s, which HikariCP
 * also makes pgjdbc's login timeout). Before, {@code build()} and {@code start()} each waited that out
 * (30 s per store call: 90 s before HTTPS); now both return within seconds, HTTPS answers at once with the
 * fallback, and once PostgreSQL answers on that address the stored certificate is served within seconds,
 * without an order at the CA.
 */
@WithPebble
class StoreDownAtStartNettyTest {
    static final String NAME = "app.storedown.test";

    @Test
    void aNodeStartsAtOnceWithItsDatabaseSilentAndServesTheStoredCertificateSecondsAfterItAnswers(PebbleServer pebble) throws Exception {
        int dbPort = FreePorts.loopback();
        try (PostgresServer pg = PostgresServer.builder().port(dbPort).start()) {
            String prefix = "sd" + Long.toHexString(System.nanoTime() & 0xffffff) + "_";
            BigInteger stored;
            try (HikariDataSource pool = pool(pg); Node first = Node.start(pebble, pool, prefix)) {
                stored = awaitValid(first.autoCert, Duration.ofSeconds(60));
            }
            long issuedBefore = issued(pebble);

            pg.stop();
            // The database host is silent: connections are accepted (into the backlog) and never answered.
            ServerSocket silent = new ServerSocket(dbPort, 50, InetAddress.getLoopbackAddress());
            HikariDataSource pool = pool(pg);
            Node node = null;
            try {
                long t0 = System.nanoTime();
                node = Node.start(pebble, pool, prefix);
                long startMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                // build() waits at most 2 s for the store's probe, start() not at all once that probe is pending
                assertTrue(startMillis < 5000, "build + listen + start took " + startMillis + " ms with the database silent");
                BigInteger fallback = UnverifiedTls.servedLeaf(new InetSocketAddress("127.0.0.1", node.httpsPort), NAME, 5000)
                        .getSerialNumber();
                assertNotEquals(stored, fallback, "HTTPS answers at once, with the fallback");
                assertEquals(CertificateStatus.State.PENDING, node.autoCert.status(NAME).orElseThrow().state());

                Thread.sleep(3000);
                silent.close(); // queued connections are reset, as when the host comes back
                pg.start();
                long upAt = System.nanoTime();
                long deadline = upAt + TimeUnit.SECONDS.toNanos(40);
                BigInteger served = null;
                while (!stored.equals(served) && System.nanoTime() < deadline) {
                    try {
                        served = TlsProbe.handshake(new InetSocketAddress("127.0.0.1", node.httpsPort), NAME, pebble.issuanceRoot(),
                                Duration.ofSeconds(2)).serial();
                    } catch (IOException notYet) {
                        Thread.sleep(100);
                    }
                }
                long servedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
                assertEquals(stored, served, "the stored certificate is served once the database answers: " + node.autoCert.status(NAME));
                // the read that waited when PostgreSQL came back fails with the pool's error, the next one (≤ 2 s later) works
                assertTrue(servedMillis < 10_000, "served " + servedMillis + " ms after the database answered");
                Thread.sleep(1000);
                assertEquals(issuedBefore, issued(pebble), "no certificate was ordered: the outage was not taken for an empty store");
                System.out.println("StoreDownAtStartNettyTest: build + listen + start took " + startMillis + " ms with the database silent; "
                        + "stored certificate served " + servedMillis + " ms after it answered");
            } finally {
                if (!silent.isClosed()) {
                    silent.close();
                }
                if (node != null) {
                    node.close();
                }
                pool.close();
            }
        }
    }

    /** A pool with HikariCP's defaults, as an application has it. */
    private static HikariDataSource pool(PostgresServer pg) {
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(pg.jdbcUrl());
        ds.setUsername(pg.user());
        ds.setPassword(pg.password());
        return ds;
    }

    private static long issued(PebbleServer pebble) throws IOException {
        return Files.readAllLines(pebble.logFile(), StandardCharsets.UTF_8).stream().filter(l -> l.contains("Issued certificate serial")).count();
    }

    private static BigInteger awaitValid(AutoCert autoCert, Duration max) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = autoCert.status(NAME).orElseThrow();
            if (s.state() == CertificateStatus.State.VALID) {
                return s.serial();
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no certificate within " + max + ": " + autoCert.status(NAME));
    }

    /** One node: the store on PostgreSQL, Netty's plain-HTTP (challenges) and HTTPS listeners, then start(). */
    private static final class Node implements AutoCloseable {
        final AutoCert autoCert;
        final EventLoopGroup group;
        final int httpsPort;
        final Channel http;
        final Channel https;
        final PostgresCertStore store;

        private Node(AutoCert autoCert, PostgresCertStore store, EventLoopGroup group, Channel http, Channel https, int httpsPort) {
            this.autoCert = autoCert;
            this.store = store;
            this.group = group;
            this.http = http;
            this.https = https;
            this.httpsPort = httpsPort;
        }

        static Node start(PebbleServer pebble, HikariDataSource pool, String prefix) throws Exception {
            PostgresCertStore store = PostgresCertStore.builder(pool).tablePrefix(prefix).build();
            AutoCert autoCert = AutoCert.builder().directory(URI.create(pebble.directoryUri().toString()))
                    .acmeServerTrust(pebble.acmeServerCaPem()).agreeToTermsOfService(true).certificate(NAME).store(store).build();
            SslContext tls = AutoCertSsl.serverContext(autoCert);
            EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
            Channel http = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpServerCodec(), new AcmeChallengeHandler(autoCert.http01()));
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", pebble.httpPort())).sync().channel();
            int httpsPort = FreePorts.loopback();
            Channel https = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(tls.newHandler(ch.alloc()), new HttpServerCodec(), new HttpObjectAggregator(65536),
                                    new NettyExample.HelloApp());
                        }
                    }).bind(new InetSocketAddress("127.0.0.1", httpsPort)).sync().channel();
            autoCert.start();
            return new Node(autoCert, store, group, http, https, httpsPort);
        }

        @Override
        public void close() {
            autoCert.close();
            store.close();
            http.close().syncUninterruptibly();
            https.close().syncUninterruptibly();
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }
}
