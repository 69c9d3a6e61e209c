package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.TlsAlpn01Responder;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.EngineHandshake;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.Version;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.netty.http.Http11SslContextSpec;

/**
 * Reactor Netty's context with the JDK provider (the provider with {@code tls-alpn-01}, or without netty-tcnative):
 * a plain {@link JdkSslContext} from {@link ReactorNettyHttps#jdkServerContext}, not the {@code JdkSslServerContext}
 * of Netty's builder behind {@link Http11SslContextSpec}, whose static initialiser instantiates BouncyCastle's JCA
 * provider (0.4-0.9 s of a fresh JVM's server start, docs/spring-boot.md); its engines equal those of the spec's
 * context as the starter configured it before; a strict client gets the issued certificate, http/1.1 when it offers
 * it, and no ALPN (no alert) when it offers neither protocol. Runs on Netty 4.1 (Boot 3.5) and 4.2 (Boot 4).
 */
class ReactorNettyJdkContextTest {
    static final String NAME = "jdk.reactor.test";

    @TempDir
    Path store;

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

    @Test
    void withTlsAlpn01TheContextIsAPlainJdkSslContextEqualToTheSpecsAndHandshakes() throws Exception {
        InMemoryCa ca = new InMemoryCa("reactor-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME)
                .challengeTypes("tls-alpn-01").build().start()) {
            CertificateStatus issued = awaitValid(autoCert);
            SslContext context = ReactorNettyHttps.serverContext(autoCert);

            assertEquals(JdkSslContext.class, context.getClass(), "ReactorNettyHttps.jdkServerContext, not Netty's JdkSslServerContext"
                    + " (Netty " + Version.identify().get("netty-handler") + ")");
            assertSame(autoCert.tlsSessions().jsseProvider(), ((JdkSslContext) context).context().getProvider(),
                    "the session-renewing JSSE provider (TlsSessions)");
            assertEquals(List.of(ApplicationProtocolNames.HTTP_1_1, TlsAlpn01Responder.ACME_TLS_1),
                    context.applicationProtocolNegotiator().protocols());
            // What the starter built before: Reactor Netty's spec (its defaults: Netty's ciphers, identity filter) set to JDK.
            SslContext viaSpec = Http11SslContextSpec.forServer(autoCert.keyManagerFactory()).configure(b -> b.sslProvider(SslProvider.JDK)
                    .sslContextProvider(autoCert.tlsSessions().jsseProvider())
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1,
                            TlsAlpn01Responder.ACME_TLS_1))).sslContext();
            assertNotEquals(JdkSslContext.class, viaSpec.getClass());
            assertEquals(engineSettings(viaSpec), engineSettings(context), "the same engines as the spec's context");

            for (String[] offered : List.of(new String[] {"h2", "http/1.1"}, new String[] {"h2"})) {
                SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
                try {
                    SSLEngine client = EngineHandshake.run(EngineHandshake.client(NAME, ca.root, offered), server);
                    assertEquals(issued.serial(), EngineHandshake.leaf(client.getSession()).getSerialNumber(), "the issued certificate");
                    // NO_ADVERTISE: a client offering neither protocol gets no ALPN and no alert
                    assertEquals(offered.length == 2 ? "http/1.1" : "", client.getApplicationProtocol(), String.join(",", offered));
                } finally {
                    ReferenceCountUtil.release(server);
                }
            }
        }
    }

    @Test
    void withoutTlsAlpn01TheProviderIsOpenSslWhenTcnativeIsPresent() throws Exception {
        InMemoryCa ca = new InMemoryCa("reactor-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build()) {
            SslContext context = ReactorNettyHttps.serverContext(autoCert);
            assertTrue(OpenSsl.isAvailable(), "the starter brings netty-tcnative: " + OpenSsl.unavailabilityCause());
            assertNotEquals(JdkSslContext.class, context.getClass(), "OpenSSL: Reactor Netty's spec, as before");
        }
    }
}
