package io.github.autocert4j;

import io.github.autocert4j.internal.store.CertBundle;
import io.github.autocert4j.internal.store.Pem;
import io.github.autocert4j.internal.tls.Handshakes;
import io.github.autocert4j.internal.tls.LiveKeyManager;
import io.github.autocert4j.internal.tls.SelfSigned;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.KeyManager;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLEngineResult;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLServerSocket;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(60)
class LiveKeyManagerTest {

    private static final ChainVerifierTest.TestPki PKI = new ChainVerifierTest.TestPki("LKM");
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stop() throws InterruptedException {
        pool.shutdownNow();
        assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }

    private static CertBundle fallback() {
        return SelfSigned.create(List.of("app.example.test"), ChainVerifierTest.NOW);
    }

    @Test
    void beforeAnyInstallTheFallbackIsServed() {
        CertBundle fb = fallback();
        LiveKeyManager km = new LiveKeyManager("app.example.test", fb);
        LiveKeyManager.Entry e = km.select("app.example.test");
        assertEquals("fallback#0", e.alias);
        assertSame(e, km.select(null));
        assertSame(e, km.select("unknown.example.test"));
        assertArrayEquals(fb.chain().toArray(), km.getCertificateChain("fallback#0"));
        assertSame(fb.keyPair().getPrivate(), km.getPrivateKey("fallback#0"));
        assertEquals("fallback#0", km.chooseServerAlias("EC", null, null));
        assertNull(km.currentChain("app.example.test"));
        assertEquals(0, km.getServerAliases("EC", null).length, "the fallback is not a live certificate");
    }

    @Test
    void sniSelectsExactWildcardAndDefault() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle app = PKI.bundle(KeyType.EC_P256, "app.example.test", "www.example.test");
        CertBundle api = PKI.bundle(KeyType.EC_P256, "api.other.test");
        CertBundle wild = PKI.bundle(KeyType.EC_P256, "*.wild.test", "wild.test");
        km.install("app.example.test", List.of("app.example.test", "www.example.test"), app);
        km.install("api.other.test", List.of("api.other.test"), api);
        km.install("*.wild.test", List.of("*.wild.test", "wild.test"), wild);

        assertSame(app.leaf(), km.select("app.example.test").chain[0]);
        assertSame(app.leaf(), km.select("WWW.Example.TEST").chain[0], "SNI is case-insensitive");
        assertSame(api.leaf(), km.select("api.other.test").chain[0]);
        assertSame(wild.leaf(), km.select("a.wild.test").chain[0]);
        assertSame(wild.leaf(), km.select("wild.test").chain[0]);
        // a wildcard covers exactly one label
        assertSame(app.leaf(), km.select("a.b.wild.test").chain[0], "*.wild.test must not match a.b.wild.test: default instead");
        // no SNI or unknown SNI: the default (first configured) certificate
        assertSame(app.leaf(), km.select(null).chain[0]);
        assertSame(app.leaf(), km.select("nobody.example.test").chain[0]);
        assertSame(app.leaf(), km.select("localhost").chain[0]);
        assertSame(app.leaf(), km.select("").chain[0]);
        assertSame(app.leaf(), km.select(".wild.test").chain[0]);
        assertEquals(3, km.getServerAliases("EC", null).length);
        assertEquals("LiveKeyManager[certificates=3]", km.toString());
    }

    @Test
    void otherCertificatesServeTheirNamesWhileTheDefaultIsStillTheFallback() {
        CertBundle fb = fallback();
        LiveKeyManager km = new LiveKeyManager("app.example.test", fb);
        CertBundle api = PKI.bundle(KeyType.EC_P256, "api.other.test");
        km.install("api.other.test", List.of("api.other.test"), api);
        assertSame(api.leaf(), km.select("api.other.test").chain[0]);
        assertSame(fb.leaf(), km.select(null).chain[0]);
    }

    @Test
    void keyTypeMustMatch() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle ec = PKI.bundle(KeyType.EC_P256, "app.example.test");
        km.install("app.example.test", List.of("app.example.test"), ec);
        String alias = km.chooseServerAlias("EC", null, null);
        assertEquals("app.example.test#1", alias);
        assertNull(km.chooseServerAlias("RSA", null, null), "an EC certificate is not offered for RSA");
        assertNull(km.chooseEngineServerAlias("RSASSA-PSS", null, null));
        assertEquals(alias, km.chooseEngineServerAlias("EC", null, null));
        assertEquals(0, km.getServerAliases("RSA", null).length);
        assertTrue(Handshakes.keyTypeMatches("EC_EC", "EC"));
        assertTrue(Handshakes.keyTypeMatches("EC", "ECDSA"));
        assertTrue(Handshakes.keyTypeMatches(null, "RSA"));
        assertTrue(Handshakes.keyTypeMatches("RSA", "RSA"));
        assertFalse(Handshakes.keyTypeMatches("EC", "RSA"));
        assertFalse(Handshakes.keyTypeMatches("RSA", "EC"));

        LiveKeyManager rsaKm = new LiveKeyManager("r.example.test", fallback());
        CertBundle rsa = PKI.bundle(KeyType.RSA_2048, "r.example.test");
        rsaKm.install("r.example.test", List.of("r.example.test"), rsa);
        assertNull(rsaKm.chooseServerAlias("EC", null, null));
        assertEquals("r.example.test#1", rsaKm.chooseServerAlias("RSA", null, null));
    }

    @Test
    void neverActsAsAClient() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        assertNull(km.getClientAliases("EC", null));
        assertNull(km.chooseClientAlias(new String[] {"EC"}, null, null));
        assertNull(km.chooseEngineClientAlias(new String[] {"EC"}, null, null));
        assertNull(km.getCertificateChain(null));
        assertNull(km.getPrivateKey(null));
        assertNull(km.getPrivateKey("no-such-alias#9"));
    }

    @Test
    void swapKeepsThePreviousGenerationResolvableAndDropsTheOneBefore() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle g1 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle g2 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle g3 = PKI.bundle(KeyType.EC_P256, "app.example.test");

        km.install("app.example.test", List.of("app.example.test"), g1);
        String a1 = km.chooseServerAlias("EC", null, null);
        // a handshake picked a1; then a renewal swaps in g2 before it asks for the key and chain
        km.install("app.example.test", List.of("app.example.test"), g2);
        String a2 = km.chooseServerAlias("EC", null, null);
        assertNotEquals(a1, a2, "a new certificate is a new alias");
        assertSame(g1.keyPair().getPrivate(), km.getPrivateKey(a1), "the in-flight handshake still gets its own key");
        assertEquals(g1.leaf(), km.getCertificateChain(a1)[0]);
        assertSame(g2.keyPair().getPrivate(), km.getPrivateKey(a2));
        assertEquals(g2.leaf(), km.getCertificateChain(a2)[0]);
        assertArrayEquals(g2.chain().toArray(), km.currentChain("app.example.test"));

        km.install("app.example.test", List.of("app.example.test"), g3);
        String a3 = km.chooseServerAlias("EC", null, null);
        assertNull(km.getPrivateKey(a1), "two generations back is dropped");
        assertNull(km.getCertificateChain(a1));
        assertSame(g2.keyPair().getPrivate(), km.getPrivateKey(a2));
        assertSame(g3.keyPair().getPrivate(), km.getPrivateKey(a3));
        assertEquals(1, km.getServerAliases("EC", null).length);
        // the fallback alias stays resolvable for handshakes that picked it before the first install
        assertTrue(km.getPrivateKey("fallback#0") != null);
    }

    @Test
    void returnedChainIsACopyAndIntermediatesAreShared() {
        LiveKeyManager km = new LiveKeyManager("a.example.test", fallback());
        CertBundle a = PKI.bundle(KeyType.EC_P256, "a.example.test");
        CertBundle b = PKI.bundle(KeyType.EC_P256, "b.example.test");
        // a separately parsed copy of the same intermediate
        CertBundle bCopy;
        try {
            bCopy = new CertBundle(b.keyPair(), Pem.decodeCertificates(Pem.encodeCertificates(b.chain())));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        km.install("a.example.test", List.of("a.example.test"), a);
        km.install("b.example.test", List.of("b.example.test"), bCopy);
        X509Certificate[] chainA = km.select("a.example.test").chain;
        X509Certificate[] chainB = km.select("b.example.test").chain;
        assertSame(chainA[1], chainB[1], "one parsed copy of a shared intermediate");
        String alias = km.select("a.example.test").alias;
        X509Certificate[] got = km.getCertificateChain(alias);
        got[0] = null;
        assertEquals(a.leaf(), km.getCertificateChain(alias)[0], "callers cannot modify the live chain");
    }

    @Test
    void entryToStringHasNoKeyMaterial() {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle app = PKI.bundle(KeyType.EC_P256, "app.example.test");
        km.install("app.example.test", List.of("app.example.test"), app);
        String s = km.select(null).toString();
        assertTrue(s.contains("app.example.test#1"), s);
        assertFalse(s.contains("PRIVATE") || s.contains(app.keyPair().getPrivate().toString()), s);
    }

    // ------------------------------------------------------------------ real JSSE handshakes

    private static SSLContext serverContext(LiveKeyManager km) throws Exception {
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(new KeyManager[] {km}, null, null);
        return ctx;
    }

    private static SSLContext clientContext() throws Exception {
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("root", PKI.root);
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** One TLS handshake over a loopback socket; returns the chain the server presented. */
    private Certificate[] socketHandshake(SSLContext server, SSLContext client, String sni, String protocol) throws Exception {
        try (SSLServerSocket ss = (SSLServerSocket) server.getServerSocketFactory().createServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            ss.setSoTimeout(10_000);
            Future<?> accept = pool.submit(() -> {
                try (SSLSocket s = (SSLSocket) ss.accept()) {
                    s.setSoTimeout(10_000);
                    InputStream in = s.getInputStream();
                    int b = in.read();
                    OutputStream out = s.getOutputStream();
                    out.write(b);
                    out.flush();
                }
                return null;
            });
            Certificate[] chain;
            // closed before waiting for the server: a TLS 1.3 close waits for the peer's close_notify
            try (SSLSocket c = (SSLSocket) client.getSocketFactory().createSocket()) {
                c.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), ss.getLocalPort()), 10_000);
                c.setSoTimeout(10_000);
                SSLParameters p = c.getSSLParameters();
                p.setProtocols(new String[] {protocol});
                p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
                c.setSSLParameters(p);
                c.startHandshake();
                c.getOutputStream().write(42);
                c.getOutputStream().flush();
                assertEquals(42, c.getInputStream().read());
                assertEquals(protocol, c.getSession().getProtocol());
                chain = c.getSession().getPeerCertificates();
            }
            accept.get(10, TimeUnit.SECONDS);
            return chain;
        }
    }

    @Test
    void realSocketHandshakesPresentTheLiveChainAndSeeSwaps() throws Exception {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle app1 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle api = PKI.bundle(KeyType.RSA_2048, "api.example.test");
        km.install("app.example.test", List.of("app.example.test"), app1);
        km.install("api.example.test", List.of("api.example.test"), api);
        SSLContext server = serverContext(km);
        SSLContext client = clientContext();

        for (String protocol : List.of("TLSv1.3", "TLSv1.2")) {
            Certificate[] viaSni = socketHandshake(server, client, "app.example.test", protocol);
            assertArrayEquals(app1.chain().toArray(), viaSni, protocol);
            Certificate[] noSni = socketHandshake(server, client, null, protocol);
            assertEquals(app1.leaf(), noSni[0], "no SNI: default certificate (" + protocol + ")");
            Certificate[] rsa = socketHandshake(server, client, "api.example.test", protocol);
            assertEquals(api.leaf(), rsa[0], "SNI selects the RSA certificate (" + protocol + ")");
        }

        // renewal: the next handshake on the same SSLContext presents the new chain, no restart
        CertBundle app2 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        km.install("app.example.test", List.of("app.example.test"), app2);
        assertEquals(app2.leaf(), socketHandshake(server, client, "app.example.test", "TLSv1.3")[0]);
        assertEquals(app2.leaf(), socketHandshake(server, client, null, "TLSv1.2")[0]);
        assertEquals(api.leaf(), socketHandshake(server, client, "api.example.test", "TLSv1.3")[0]);
    }

    @Test
    void realEngineHandshakesPresentTheLiveChainAndSeeSwaps() throws Exception {
        LiveKeyManager km = new LiveKeyManager("app.example.test", fallback());
        CertBundle app1 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        CertBundle other = PKI.bundle(KeyType.EC_P384, "*.other.test");
        km.install("app.example.test", List.of("app.example.test"), app1);
        km.install("*.other.test", List.of("*.other.test"), other);
        SSLContext server = serverContext(km);
        SSLContext client = clientContext();

        assertEquals(app1.leaf(), engineHandshake(server, client, "app.example.test")[0]);
        assertEquals(other.leaf(), engineHandshake(server, client, "x.other.test")[0]);
        assertEquals(app1.leaf(), engineHandshake(server, client, "x.y.other.test")[0]);
        CertBundle app2 = PKI.bundle(KeyType.EC_P256, "app.example.test");
        km.install("app.example.test", List.of("app.example.test"), app2);
        assertEquals(app2.leaf(), engineHandshake(server, client, "app.example.test")[0]);
        assertEquals(app2.leaf(), engineHandshake(server, client, null)[0]);
    }

    @Test
    void fallbackIsServedBeforeTheFirstCertificate() throws Exception {
        CertBundle fb = fallback();
        LiveKeyManager km = new LiveKeyManager("app.example.test", fb);
        SSLContext trustAll = SSLContext.getInstance("TLS");
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setCertificateEntry("fb", fb.leaf());
        TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
        tmf.init(ks);
        trustAll.init(null, tmf.getTrustManagers(), null);
        assertEquals(fb.leaf(), engineHandshake(serverContext(km), trustAll, "app.example.test")[0]);
    }

    /** A complete in-memory TLS handshake between two SSLEngines (bounded loop). */
    private static Certificate[] engineHandshake(SSLContext server, SSLContext client, String sni) throws Exception {
        SSLEngine c = client.createSSLEngine(sni == null ? null : sni, sni == null ? -1 : 443);
        c.setUseClientMode(true);
        SSLParameters p = c.getSSLParameters();
        p.setServerNames(sni == null ? List.of() : List.of(new SNIHostName(sni)));
        c.setSSLParameters(p);
        SSLEngine s = server.createSSLEngine();
        s.setUseClientMode(false);
        int size = Math.max(c.getSession().getPacketBufferSize(), s.getSession().getPacketBufferSize()) * 4;
        ByteBuffer cToS = ByteBuffer.allocate(size);
        ByteBuffer sToC = ByteBuffer.allocate(size);
        ByteBuffer cApp = ByteBuffer.allocate(size);
        ByteBuffer sApp = ByteBuffer.allocate(size);
        ByteBuffer empty = ByteBuffer.allocate(0);
        c.beginHandshake();
        s.beginHandshake();
        for (int i = 0; i < 1000; i++) {
            if (done(c) && done(s)) {
                return c.getSession().getPeerCertificates();
            }
            step(c, empty, cToS, sToC, cApp);
            step(s, empty, sToC, cToS, sApp);
        }
        throw new AssertionError("handshake did not finish: client " + c.getHandshakeStatus() + ", server " + s.getHandshakeStatus());
    }

    private static boolean done(SSLEngine e) {
        SSLEngineResult.HandshakeStatus hs = e.getHandshakeStatus();
        return hs == SSLEngineResult.HandshakeStatus.NOT_HANDSHAKING || hs == SSLEngineResult.HandshakeStatus.FINISHED;
    }

    private static void step(SSLEngine e, ByteBuffer empty, ByteBuffer out, ByteBuffer in, ByteBuffer app) throws Exception {
        switch (e.getHandshakeStatus()) {
            case NEED_WRAP -> e.wrap(empty, out);
            case NEED_UNWRAP, NEED_UNWRAP_AGAIN -> {
                in.flip();
                e.unwrap(in, app);
                in.compact();
            }
            case NEED_TASK -> {
                Runnable task;
                while ((task = e.getDelegatedTask()) != null) {
                    task.run();
                }
            }
            default -> { }
        }
    }
}
