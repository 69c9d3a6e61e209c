package io.github.autocert4j.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.netty.AutoCertSsl;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.EngineHandshake;
import io.micronaut.http.HttpVersion;
import io.micronaut.http.server.HttpServerConfiguration;
import io.micronaut.http.ssl.ServerSslConfiguration;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link AutoCertSslBuilder} with the JDK provider (the provider without netty-tcnative; this module's other tests run
 * with tcnative, i.e. OpenSSL): the context is a plain {@link JdkSslContext}, not the {@code JdkSslServerContext} of
 * Netty's builder, whose static initialiser instantiates BouncyCastle's JCA provider (0.4-0.9 s of a fresh JVM's
 * {@code EmbeddedServer.start()}, docs/micronaut.md); its engines equal those of the builder's context for the same
 * {@code micronaut.server.ssl.protocols}/{@code ciphers}; and an in-memory handshake with a strict JDK client (trusting
 * only the test CA, checking the name) gets the issued certificate, TLS 1.2 and h2 over ALPN.
 */
class AutoCertSslBuilderJdkTest {
    static final String NAME = "jdk.micronaut.test";
    static final List<String> CIPHERS = List.of("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");

    @TempDir
    Path store;

    static ServerSslConfiguration ssl(String[] protocols, String[] ciphers) {
        ServerSslConfiguration ssl = new ServerSslConfiguration();
        ssl.setEnabled(true);
        ssl.setProtocols(protocols);
        ssl.setCiphers(ciphers);
        return ssl;
    }

    static HttpServerConfiguration server(HttpVersion version) {
        HttpServerConfiguration server = new HttpServerConfiguration();
        server.setHttpVersion(version);
        return server;
    }

    static ApplicationProtocolConfig h2() {
        return new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT,
                ApplicationProtocolNames.HTTP_2, ApplicationProtocolNames.HTTP_1_1);
    }

    static CertificateStatus awaitValid(AutoCert autoCert) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            CertificateStatus s = autoCert.status(NAME).orElseThrow();
            if (s.state() == CertificateStatus.State.VALID) {
                return s;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no certificate from the in-memory CA within 30 s: " + autoCert.status(NAME));
    }

    /** Enabled protocols, cipher suites and ALPN protocols of one new server engine of {@code context}. */
    static List<List<String>> engineSettings(SslContext context) {
        SSLEngine engine = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            return List.of(List.of(engine.getEnabledProtocols()), List.of(engine.getEnabledCipherSuites()),
                    context.applicationProtocolNegotiator().protocols(), List.of(String.valueOf(engine.getUseClientMode())));
        } finally {
            ReferenceCountUtil.release(engine);
        }
    }

    @Test
    void theJdkContextIsAPlainJdkSslContextWithTheConfiguredProtocolsCiphersAndH2AndHandshakes() throws Exception {
        InMemoryCa ca = new InMemoryCa("micronaut-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            CertificateStatus issued = awaitValid(autoCert);
            String[] ciphers = CIPHERS.toArray(new String[0]);
            SslContext jdk = new AutoCertSslBuilder(autoCert, ssl(new String[] {"TLSv1.2"}, ciphers), server(HttpVersion.HTTP_2_0))
                    .newContext(SslProvider.JDK);

            assertEquals(JdkSslContext.class, jdk.getClass(), "AutoCertSsl.jdkServerContext, not SslContextBuilder's JdkSslServerContext");
            assertSame(autoCert.tlsSessions().jsseProvider(), ((JdkSslContext) jdk).context().getProvider(),
                    "the session-renewing JSSE provider (TlsSessions), as contextBuilder sets it");
            assertEquals(List.of(List.of("TLSv1.2"), CIPHERS, List.of("h2", "http/1.1"), List.of("false")), engineSettings(jdk),
                    "micronaut.server.ssl.protocols/ciphers and h2 over ALPN");
            SslContext viaBuilder = AutoCertSsl.contextBuilder(autoCert, SslProvider.JDK).protocols("TLSv1.2")
                    .ciphers(List.of(ciphers)).applicationProtocolConfig(h2()).build();
            assertNotEquals(JdkSslContext.class, viaBuilder.getClass());
            assertEquals(engineSettings(viaBuilder), engineSettings(jdk), "the same engines as Netty's builder makes");

            // A strict client: trusts only the test CA, checks the name, offers h2 and http/1.1.
            SSLEngine server = jdk.newEngine(ByteBufAllocator.DEFAULT);
            try {
                SSLEngine client = EngineHandshake.run(EngineHandshake.client(NAME, ca.root, "h2", "http/1.1"), server);
                assertEquals("h2", client.getApplicationProtocol());
                assertEquals("TLSv1.2", client.getSession().getProtocol());
                assertTrue(CIPHERS.contains(client.getSession().getCipherSuite()), client.getSession().getCipherSuite());
                assertEquals(issued.serial(), EngineHandshake.leaf(client.getSession()).getSerialNumber(),
                        "the issued certificate, from the live key manager");
            } finally {
                ReferenceCountUtil.release(server);
            }
        }
    }

    @Test
    void withoutProtocolsCiphersOrHttp2TheEnginesEqualThoseOfNettysBuilder() throws Exception {
        InMemoryCa ca = new InMemoryCa("micronaut-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build()) {
            SslContext jdk = new AutoCertSslBuilder(autoCert, ssl(null, null), server(HttpVersion.HTTP_1_1)).newContext(SslProvider.JDK);
            assertEquals(JdkSslContext.class, jdk.getClass());
            assertEquals(List.of(), jdk.applicationProtocolNegotiator().protocols(), "no ALPN without http-version 2.0");
            assertEquals(engineSettings(AutoCertSsl.contextBuilder(autoCert, SslProvider.JDK).build()), engineSettings(jdk),
                    "Netty's default protocols and ciphers, as with the builder");
        }
    }

    @Test
    void anUnknownProtocolOrCipherFailsAtTheFirstEngineAsWithNettysBuilder() throws Exception {
        InMemoryCa ca = new InMemoryCa("micronaut-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build()) {
            // Netty's builder takes any protocol or cipher name (its identity cipher filter drops none) and so does the
            // context; the JDK engine refuses it when a connection makes one (Micronaut then closes that connection),
            // before and after the change alike.
            for (String[] protocolAndCipher : List.of(new String[] {"TLSv9", CIPHERS.get(0)}, new String[] {"TLSv1.2", "TLS_NOT_A_SUITE"})) {
                String[] protocols = {protocolAndCipher[0]};
                String[] ciphers = {protocolAndCipher[1]};
                SslContext jdk = new AutoCertSslBuilder(autoCert, ssl(protocols, ciphers), server(HttpVersion.HTTP_1_1))
                        .newContext(SslProvider.JDK);
                SslContext viaBuilder = AutoCertSsl.contextBuilder(autoCert, SslProvider.JDK).protocols(protocols)
                        .ciphers(List.of(ciphers)).build();
                IllegalArgumentException now = assertThrows(IllegalArgumentException.class, () -> jdk.newEngine(ByteBufAllocator.DEFAULT));
                IllegalArgumentException before = assertThrows(IllegalArgumentException.class,
                        () -> viaBuilder.newEngine(ByteBufAllocator.DEFAULT));
                assertEquals(before.getMessage(), now.getMessage());
                assertTrue(now.getMessage().contains("TLSv9") || now.getMessage().contains("TLS_NOT_A_SUITE"), now.getMessage());
            }
        }
    }
}
