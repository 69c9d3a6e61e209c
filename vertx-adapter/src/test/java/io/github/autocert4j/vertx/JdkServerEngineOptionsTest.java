package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.KeyStore;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.OnDemand;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkApplicationProtocolNegotiator;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.JdkSSLEngineOptions;
import io.vertx.core.net.OpenSSLEngineOptions;
import io.vertx.core.spi.tls.DefaultSslContextFactory;
import io.vertx.core.spi.tls.SslContextFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link JdkServerEngineOptions}: a plain server context is a {@link JdkSslContext} (not Netty's
 * {@code JdkSslServerContext}, whose static initialiser instantiates BouncyCastle's JCA provider)
 * configured as Vert.x's own factory configures it; everything else is Vert.x's own factory's
 * answer; {@link AutoCertVertx#configure} installs it, keeps it through copies, and leaves the
 * OpenSSL engine or a JDK-engine subclass of the user's alone. No server, no network: the AutoCert
 * is built, never started.
 */
class JdkServerEngineOptionsTest {
    @TempDir
    Path store;
    AutoCert autoCert;
    KeyManagerFactory kmf;

    @BeforeEach
    void build() throws Exception {
        autoCert = AutoCert.builder().directory("https://127.0.0.1:9/dir").agreeToTermsOfService(true).storageDirectory(store)
                .certificate("engine.autocert4j.test").build();
        kmf = AutoCertVertx.keyCertOptions(autoCert).getKeyManagerFactory(null);
    }

    @AfterEach
    void close() throws Exception {
        autoCert.close();
    }

    /** Both factories given the same requests. */
    private SslContext[] both(boolean client, TrustManagerFactory tmf, ClientAuth auth, boolean alpn, List<String> protocols,
            Set<String> ciphers) throws Exception {
        SslContextFactory ours = new JdkServerEngineOptions(autoCert).sslContextFactory();
        SslContextFactory vertx = new DefaultSslContextFactory(SslProvider.JDK, false);
        SslContext[] out = new SslContext[2];
        int i = 0;
        for (SslContextFactory f : List.of(ours, vertx)) {
            f.useAlpn(alpn).forClient(client).enabledCipherSuites(ciphers).applicationProtocols(protocols);
            if (!client) {
                f.clientAuth(auth).serverName(null);
            }
            f.keyMananagerFactory(kmf);
            if (tmf != null) {
                f.trustManagerFactory(tmf);
            }
            out[i++] = f.create();
        }
        return out;
    }

    @SuppressWarnings("deprecation") // JdkApplicationProtocolNegotiator: the only view of the ALPN failure behaviours
    private void assertConfiguredAlike(SslContext vertx, SslContext ours, String what) throws Exception {
        assertEquals(vertx.isClient(), ours.isClient(), what);
        assertEquals(vertx.cipherSuites(), ours.cipherSuites(), what + ": cipher suites and their order");
        assertEquals(vertx.applicationProtocolNegotiator().protocols(), ours.applicationProtocolNegotiator().protocols(), what);
        JdkApplicationProtocolNegotiator v = (JdkApplicationProtocolNegotiator) vertx.applicationProtocolNegotiator();
        JdkApplicationProtocolNegotiator o = (JdkApplicationProtocolNegotiator) ours.applicationProtocolNegotiator();
        assertSame(v.getClass(), o.getClass(), what + ": negotiator");
        if (!v.protocols().isEmpty()) { // the default (no ALPN) negotiator has no factories: it throws
            assertSame(v.protocolSelectorFactory(), o.protocolSelectorFactory(), what + ": selector failure behaviour");
            assertSame(v.protocolListenerFactory(), o.protocolListenerFactory(), what + ": listener failure behaviour");
        }
        assertSame(v.wrapperFactory().getClass(), o.wrapperFactory().getClass(), what);
        assertEquals(vertx.sessionCacheSize(), ours.sessionCacheSize(), what);
        assertEquals(vertx.sessionTimeout(), ours.sessionTimeout(), what);
        assertEquals(SSLContext.getInstance("TLS").getProvider(), ((JdkSslContext) vertx).context().getProvider(), what);
        if (ours.getClass() == JdkSslContext.class) {
            // the one legitimate difference: a plain server context of ours is renewed on every swap (docs/tls-sessions.md)
            assertSame(autoCert.tlsSessions().jsseProvider(), ((JdkSslContext) ours).context().getProvider(), what + ": TlsSessions' provider");
        } else {
            assertEquals(((JdkSslContext) vertx).context().getProvider(), ((JdkSslContext) ours).context().getProvider(), what);
        }
        assertEquals(((JdkSslContext) vertx).context().getProtocol(), ((JdkSslContext) ours).context().getProtocol(), what);
        SSLEngine ve = vertx.newEngine(ByteBufAllocator.DEFAULT);
        SSLEngine oe = ours.newEngine(ByteBufAllocator.DEFAULT);
        assertEquals(ve.getClass(), oe.getClass(), what + ": engine wrapper (ALPN)");
        assertEquals(ve.getUseClientMode(), oe.getUseClientMode(), what);
        assertEquals(Arrays.asList(ve.getEnabledProtocols()), Arrays.asList(oe.getEnabledProtocols()), what);
        assertEquals(Arrays.asList(ve.getEnabledCipherSuites()), Arrays.asList(oe.getEnabledCipherSuites()), what);
        assertEquals(ve.getNeedClientAuth(), oe.getNeedClientAuth(), what);
        assertEquals(ve.getWantClientAuth(), oe.getWantClientAuth(), what);
    }

    @Test
    void aPlainServerContextIsAJdkSslContextConfiguredAsVertxWould() throws Exception {
        Set<String> ciphers = new LinkedHashSet<>(List.of("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        for (Object[] c : new Object[][] {
                {true, List.of("h2", "http/1.1"), null, null}, // HttpServerOptions' defaults with ALPN on
                {false, List.of("h2", "http/1.1"), null, ClientAuth.NONE},
                {true, List.of(), null, ClientAuth.NONE},
                {true, List.of("http/1.1"), ciphers, ClientAuth.NONE},
                {false, null, Set.of(), ClientAuth.NONE}}) {
            @SuppressWarnings("unchecked")
            SslContext[] s = both(false, null, (ClientAuth) c[3], (boolean) c[0], (List<String>) c[1], (Set<String>) c[2]);
            String what = "alpn " + c[0] + " " + c[1] + ", ciphers " + c[2] + ", client auth " + c[3];
            assertSame(JdkSslContext.class, s[0].getClass(), what + ": built directly, not through Netty's JdkSslServerContext");
            assertEquals("io.netty.handler.ssl.JdkSslServerContext", s[1].getClass().getName(), what + ": what Vert.x builds");
            assertConfiguredAlike(s[1], s[0], what);
        }
        SslContext[] alpn = both(false, null, ClientAuth.NONE, true, List.of("h2", "http/1.1"), null);
        assertEquals(List.of("h2", "http/1.1"), alpn[0].applicationProtocolNegotiator().protocols(), "the comparison saw ALPN");
        assertTrue(alpn[0].cipherSuites().size() > 4, "the JDK's enabled suites, not a short list: " + alpn[0].cipherSuites());
        SslContext[] chosen = both(false, null, ClientAuth.NONE, false, null, ciphers);
        assertEquals(List.copyOf(ciphers), chosen[0].cipherSuites(), "the given suites");
        assertNotEquals(alpn[0].cipherSuites(), chosen[0].cipherSuites());
    }

    @Test
    void clientsTrustManagersAndClientAuthAreVertxsOwnAnswer() throws Exception {
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init((KeyStore) null);
        for (Object[] c : new Object[][] {
                {true, null, null}, {true, tmf, null}, {false, tmf, ClientAuth.NONE},
                {false, null, ClientAuth.REQUIRE}, {false, null, ClientAuth.OPTIONAL}, {false, tmf, ClientAuth.REQUIRE}}) {
            SslContext[] s = both((boolean) c[0], (TrustManagerFactory) c[1], (ClientAuth) c[2], true, List.of("h2", "http/1.1"), null);
            String what = (((boolean) c[0]) ? "client" : "server") + ", trust managers " + (c[1] != null) + ", client auth " + c[2];
            assertEquals(s[1].getClass(), s[0].getClass(), what);
            assertNotEquals(JdkSslContext.class, s[0].getClass(), what + ": Vert.x's factory's context");
            assertConfiguredAlike(s[1], s[0], what);
        }
        SslContext[] need = both(false, null, ClientAuth.REQUIRE, false, null, null);
        assertTrue(need[0].newEngine(ByteBufAllocator.DEFAULT).getNeedClientAuth(), "client auth reached Vert.x's factory");
    }

    @Test
    void configureInstallsTheEngineAndCopiesKeepIt() {
        HttpServerOptions unset = AutoCertVertx.configure(new HttpServerOptions(), autoCert);
        assertSame(JdkServerEngineOptions.class, unset.getSslEngineOptions().getClass(), "unset engine: Vert.x's JDK choice, built directly");
        assertEquals(false, unset.getSslEngineOptions().getUseWorkerThread(), "not on-demand: no worker thread");
        HttpServerOptions copy = new HttpServerOptions(unset);
        assertSame(JdkServerEngineOptions.class, copy.getSslEngineOptions().getClass(), "HttpServerOptions' copy (Vert.x copies its options)");
        assertSame(JdkServerEngineOptions.class, unset.getSslEngineOptions().copy().getClass());

        HttpServerOptions worker = AutoCertVertx.configure(
                new HttpServerOptions().setSslEngineOptions(new JdkSSLEngineOptions().setUseWorkerThread(true)), autoCert);
        assertSame(JdkServerEngineOptions.class, worker.getSslEngineOptions().getClass(), "the plain JDK engine of the user");
        assertEquals(true, worker.getSslEngineOptions().getUseWorkerThread(), "the user's setting kept");
        assertEquals(true, new HttpServerOptions(worker).getSslEngineOptions().getUseWorkerThread(), "kept in copies");
        assertSame(JdkServerEngineOptions.class, AutoCertVertx.configure(worker, autoCert).getSslEngineOptions().getClass(), "twice");
    }

    @Test
    void theOpenSslEngineAndAUsersOwnJdkEngineAreLeftAlone() {
        OpenSSLEngineOptions openSsl = new OpenSSLEngineOptions().setSessionCacheEnabled(false);
        HttpServerOptions o = AutoCertVertx.configure(new HttpServerOptions().setSslEngineOptions(openSsl), autoCert);
        assertSame(openSsl, o.getSslEngineOptions(), "an OpenSSL engine setting is never changed");
        assertEquals(false, openSsl.isSessionCacheEnabled());

        JdkSSLEngineOptions own = new JdkSSLEngineOptions() {
            @Override
            public SslContextFactory sslContextFactory() {
                return super.sslContextFactory();
            }
        };
        assertSame(own, AutoCertVertx.configure(new HttpServerOptions().setSslEngineOptions(own), autoCert).getSslEngineOptions(),
                "a JDK engine subclass of the user's (its own factory) is left alone");
    }

    @Test
    void onDemandRunsHandshakeWorkOnTheWorkerPoolWithTheDirectEngine(@TempDir Path other) throws Exception {
        try (AutoCert onDemand = AutoCert.builder().directory("https://127.0.0.1:9/dir").agreeToTermsOfService(true)
                .storageDirectory(other).onDemand(OnDemand.allow(n -> CompletableFuture.completedFuture(true)).build()).build()) {
            HttpServerOptions o = AutoCertVertx.configure(new HttpServerOptions(), onDemand);
            assertInstanceOf(JdkServerEngineOptions.class, o.getSslEngineOptions());
            assertEquals(true, o.getSslEngineOptions().getUseWorkerThread());
        }
    }
}
