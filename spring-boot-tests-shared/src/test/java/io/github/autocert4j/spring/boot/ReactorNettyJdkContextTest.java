package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLHandshakeException;

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
import io.netty.handler.ssl.OpenSslServerSessionContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.Version;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.netty.http.Http11SslContextSpec;

/**
 * Reactor Netty's context with the JDK provider (the provider with {@code tls-alpn-01}, or without netty-tcnative):
 * a plain {@link JdkSslContext} from {@link ReactorNettyHttps#jdkServerContext} whose engines negotiate ALPN themselves,
 * not the {@code JdkSslServerContext} of Netty's builder behind {@link Http11SslContextSpec}, whose static initialiser
 * instantiates BouncyCastle's JCA provider (0.4-0.9 s of a fresh JVM's server start, docs/spring-boot.md), nor Netty's
 * ALPN wrapper, which does the same at the first connection up to Netty 4.2.9. Its engines equal those of the spec's
 * context as the starter configured it before, and strict clients get the issued certificate and the same ALPN
 * protocol from both for every offer (none, and no alert, when they offer neither protocol). Runs on Netty 4.1
 * (Boot 3.5) and 4.2 (Boot 4).
 */
class ReactorNettyJdkContextTest {
    static final String NAME = "jdk.reactor.test";

    @TempDir
    Path store;

    /** Enabled protocols, cipher suites, client mode and client authentication of one new server engine of {@code context}. */
    static List<List<String>> engineSettings(SslContext context) {
        SSLEngine engine = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            return List.of(List.of(engine.getEnabledProtocols()), List.of(engine.getEnabledCipherSuites()),
                    List.of(String.valueOf(engine.getUseClientMode()), String.valueOf(engine.getNeedClientAuth()),
                            String.valueOf(engine.getWantClientAuth())));
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

            assertEquals(ReactorNettyHttps.JdkAlpn.class, context.getClass(), "ReactorNettyHttps.jdkServerContext, not Netty's "
                    + "JdkSslServerContext (Netty " + Version.identify().get("netty-handler").artifactVersion() + ")");
            JdkSslContext jdk = ((ReactorNettyHttps.JdkAlpn) context).jdk;
            assertEquals(JdkSslContext.class, jdk.getClass());
            assertSame(autoCert.tlsSessions().jsseProvider(), jdk.context().getProvider(), "the session-renewing JSSE provider (TlsSessions)");
            assertSame(jdk.context().getServerSessionContext(), context.sessionContext());
            // What the starter built before: Reactor Netty's spec (its defaults: Netty's ciphers, identity filter) set to JDK.
            SslContext viaSpec = Http11SslContextSpec.forServer(autoCert.keyManagerFactory()).configure(b -> b.sslProvider(SslProvider.JDK)
                    .sslContextProvider(autoCert.tlsSessions().jsseProvider())
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, ApplicationProtocolNames.HTTP_1_1,
                            TlsAlpn01Responder.ACME_TLS_1))).sslContext();
            assertNotEquals(JdkSslContext.class, viaSpec.getClass());
            assertEquals(engineSettings(viaSpec), engineSettings(context), "the same enabled protocols and cipher suites as the spec's context");

            // The same protocol negotiated as with the spec's context (Netty's ALPN wrapper) for every offer; NO_ADVERTISE:
            // a client offering neither protocol gets no ALPN and no alert; the server's order of preference wins. acme-tls/1
            // alone is selected, and then refused by the live key manager: no TLS-ALPN-01 challenge is pending
            // (SpringBootTlsAlpnTest has Pebble validate through it).
            List<List<String>> offers = List.of(List.of("h2", "http/1.1"), List.of("h2"), List.of(TlsAlpn01Responder.ACME_TLS_1),
                    List.of(TlsAlpn01Responder.ACME_TLS_1, "http/1.1"), List.of());
            List<String> expected = List.of("http/1.1", "", "refused: No available authentication scheme", "http/1.1", "");
            for (int i = 0; i < offers.size(); i++) {
                String[] offered = offers.get(i).toArray(new String[0]);
                assertEquals(expected.get(i), negotiated(viaSpec, ca, offered, issued), "spec's context, client offers " + offers.get(i));
                assertEquals(expected.get(i), negotiated(context, ca, offered, issued), "this context, client offers " + offers.get(i));
            }
            // No BouncyCastle JCA provider from this context: none built, no ALPN wrapper asked whether BC JSSE is in use.
            // (Checked in a fresh JVM by benchmarks/ab/hostab.sh; this JVM loaded it for viaSpec already.)
        }
    }

    /** The ALPN protocol a strict client offering {@code offered} gets from a new server engine of {@code context}. */
    static String negotiated(SslContext context, InMemoryCa ca, String[] offered, CertificateStatus issued) throws Exception {
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            SSLEngine client;
            try {
                client = EngineHandshake.run(EngineHandshake.client(NAME, ca.root, offered), server);
            } catch (SSLHandshakeException e) {
                return "refused: " + e.getMessage();
            }
            assertEquals(issued.serial(), EngineHandshake.leaf(client.getSession()).getSerialNumber(), "the issued certificate");
            return client.getApplicationProtocol();
        } finally {
            ReferenceCountUtil.release(server);
        }
    }

    @Test
    void withoutTlsAlpn01TheProviderIsOpenSslWhenTcnativeIsPresent() throws Exception {
        InMemoryCa ca = new InMemoryCa("reactor-jdk-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build()) {
            SslContext context = ReactorNettyHttps.serverContext(autoCert);
            assertTrue(OpenSsl.isAvailable(), "the starter brings netty-tcnative: " + OpenSsl.unavailabilityCause());
            assertFalse(context instanceof ReactorNettyHttps.JdkAlpn || context instanceof JdkSslContext,
                    "OpenSSL: Reactor Netty's spec, as before, not a JDK context: " + context.getClass());
            assertInstanceOf(OpenSslServerSessionContext.class, context.sessionContext(), "an OpenSSL server context");
        }
    }
}
