package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.OnDemand;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code AutoCertTls.forServer} builds the TLS-ALPN-01 challenge context only when a connection can be routed to it:
 * with {@code tls-alpn-01} among the challenge types or with on-demand TLS (both read the ClientHello; on-demand TLS
 * can meet a peer's TLS-ALPN-01 answer in a shared store). With the default (http-01 only) every connection gets the
 * host context at once, and building the challenge context too cost a second OpenSSL context on the caller's thread
 * during a first start (docs/startup.md). The managers are built, never started: no CA is contacted.
 */
class AutoCertTlsChallengeContextTest {
    static final String NAME = "challenge-context.test";

    @org.junit.jupiter.api.io.TempDir
    Path dir;

    AutoCertTls forServer(SslProvider provider, AutoCertBuilder builder) throws Exception {
        assertTrue(provider == SslProvider.JDK || OpenSsl.isAvailable(), "tcnative on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("challenge-context-ca", Duration.ofDays(30));
        AutoCert autoCert = builder.issuer(ca).storageDirectory(dir.resolve("store")).build();
        try (autoCert) {
            SslContext host = AutoCertSsl.contextBuilder(autoCert, provider).build();
            AutoCertTls tls = AutoCertTls.forServer(autoCert, host);
            assertEquals(host, tls.hostContext());
            return tls;
        }
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void noChallengeContextWithHttp01Only(SslProvider provider) throws Exception {
        AutoCertTls tls = forServer(provider, AutoCert.builder().certificate(NAME));
        assertNull(tls.challengeContext(), "http-01 only, no on-demand TLS: no connection can reach a challenge context");
        assertEquals("HostSsl", tls.newHandler().getClass().getSimpleName(), "no ClientHello is read then");
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void challengeContextWithTlsAlpn01(SslProvider provider) throws Exception {
        AutoCertTls tls = forServer(provider, AutoCert.builder().certificate(NAME).challengeTypes("http-01", "tls-alpn-01"));
        assertNotNull(tls.challengeContext());
        assertEquals(provider == SslProvider.JDK, tls.challengeContext() instanceof io.netty.handler.ssl.JdkSslContext,
                "the challenge context uses the host context's provider");
        assertEquals("ClientHelloRouter", tls.newHandler().getClass().getSimpleName());
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void challengeContextWithOnDemandTls(SslProvider provider) throws Exception {
        AutoCertTls tls = forServer(provider, AutoCert.builder()
                .onDemand(OnDemand.allow(n -> CompletableFuture.completedFuture(true)).handshakeWait(Duration.ofSeconds(1)).build()));
        assertNotNull(tls.challengeContext(), "on-demand TLS reads the ClientHello: a peer's TLS-ALPN-01 answer can be routed there");
        assertEquals("ClientHelloRouter", tls.newHandler().getClass().getSimpleName());
    }
}
