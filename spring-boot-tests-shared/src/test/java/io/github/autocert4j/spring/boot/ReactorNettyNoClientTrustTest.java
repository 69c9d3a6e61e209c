package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.EngineHandshake;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reactor Netty's contexts (OpenSSL, and the JDK's with {@code tls-alpn-01}) ask for no client certificate, and an
 * engine told to want one names no acceptable issuer: their trust is {@link io.github.autocert4j.NoClientCertificates},
 * not Netty's default, the JDK's trust store, which the OpenSSL context would copy into itself (~140 CA certificates)
 * and the JDK's would load at {@code init} (docs/startup.md). Runs on Netty 4.1 (Boot 3.5) and 4.2 (Boot 4).
 */
class ReactorNettyNoClientTrustTest {
    static final String NAME = ReactorNettyJdkContextTest.NAME;

    @TempDir
    Path store;

    @Test
    void bothContextsTrustNoClientAndNameNoIssuer() throws Exception {
        assertTrue(OpenSsl.isAvailable(), "netty-tcnative-boringssl-static is on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("reactor-noclient-ca", Duration.ofDays(30));
        for (List<String> challenges : List.of(List.of("http-01"), List.of("tls-alpn-01"))) {
            try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store.resolve(challenges.get(0))).certificate(NAME)
                    .challengeTypes(challenges.toArray(new String[0])).build().start()) {
                ReactorNettyJdkContextTest.awaitValid(autoCert);
                SslContext context = ReactorNettyHttps.serverContext(autoCert);
                assertEquals(challenges.contains("tls-alpn-01"), context instanceof ReactorNettyHttps.JdkAlpn,
                        challenges + ": the JDK context with tls-alpn-01, OpenSSL's otherwise: " + context.getClass());                assertNull(issuersAsked(context, ca, false), challenges + ": no certificate request");
                assertEquals(List.of(), issuersAsked(context, ca, true), challenges + " (" + context.getClass().getSimpleName()
                        + "): an engine that wants a client certificate names no issuer");
            }
        }
    }

    private static List<String> issuersAsked(SslContext context, InMemoryCa ca, boolean want) throws Exception {
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            server.setWantClientAuth(want);
            return EngineHandshake.requestedIssuers(server, NAME, ca.root);
        } finally {
            ReferenceCountUtil.release(server);
        }
    }
}
