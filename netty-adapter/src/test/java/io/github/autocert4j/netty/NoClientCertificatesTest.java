package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.NoClientCertificates;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.EngineHandshake;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The server contexts of this module trust no client certificate and name no acceptable issuer
 * ({@link NoClientCertificates}): Netty's default, the JDK's trust store, would be loaded and, with OpenSSL, copied
 * into every context (~140 CA certificates, docs/startup.md). Seen from a TLS 1.2 client, which is told the acceptable
 * issuers in a certificate request: {@code contextBuilder(...).build()} and {@code jdkServerContext} ask for no client
 * certificate; with {@code clientAuth(OPTIONAL)} the request names no issuer; a trust manager of the host's own
 * replaces it (the control: the client then sees that trust's issuer).
 */
class NoClientCertificatesTest {
    static final String NAME = "app.noclient.test";

    @TempDir
    Path store;

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void serverContextsAskNoClientCertificateAndNameNoIssuer(SslProvider provider) throws Exception {
        assertTrue(OpenSsl.isAvailable(), "netty-tcnative-boringssl-static is on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("noclient-test-ca", Duration.ofDays(30));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            awaitValid(autoCert);
            SslContext plain = provider == SslProvider.JDK ? AutoCertSsl.jdkServerContext(autoCert, null, null, null)
                    : AutoCertSsl.contextBuilder(autoCert, provider).build();
            assertNull(issuersAsked(plain, ca), "no certificate request");

            List<String> named = issuersAsked(AutoCertSsl.contextBuilder(autoCert, provider).clientAuth(ClientAuth.OPTIONAL).build(), ca);
            assertNotNull(named, "clientAuth(OPTIONAL): a certificate request");
            assertEquals(0, named.size(), "no acceptable issuer named (the JDK's trust store names ~140): " + named.stream().limit(3).toList());

            // The control: the host's own trust replaces it, and its issuer is named.
            TrustManagerFactory own = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            ks.setCertificateEntry("root", ca.root);
            own.init(ks);
            assertEquals(List.of(ca.root.getSubjectX500Principal().getName()),
                    issuersAsked(AutoCertSsl.contextBuilder(autoCert, provider).clientAuth(ClientAuth.OPTIONAL).trustManager(own).build(), ca),
                    "the host's own trust is used");
        }
    }

    @Test
    void aClientCertificateIsRefusedWithTheFix() {
        CertificateException e = assertThrows(CertificateException.class,
                () -> NoClientCertificates.INSTANCE.checkClientTrusted(new X509Certificate[0], "ECDHE_ECDSA", (SSLEngine) null));
        assertTrue(e.getMessage().contains("contextBuilder(...).clientAuth(...).trustManager(...)"), e.getMessage());
        assertEquals(0, NoClientCertificates.INSTANCE.getAcceptedIssuers().length);
        assertEquals(List.of(NoClientCertificates.INSTANCE), List.of(NoClientCertificates.factory().getTrustManagers()),
                "the factory hands out the same trust");
        assertEquals(List.of(NoClientCertificates.INSTANCE), List.of(NoClientCertificates.managers()));
        assertThrows(CertificateException.class, () -> NoClientCertificates.INSTANCE.checkServerTrusted(new X509Certificate[0], "RSA"));
    }

    private static List<String> issuersAsked(SslContext context, InMemoryCa ca) throws Exception {
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            return EngineHandshake.requestedIssuers(server, NAME, ca.root);
        } finally {
            ReferenceCountUtil.release(server);
        }
    }

    private static void awaitValid(AutoCert autoCert) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (autoCert.status(NAME).orElseThrow().state() != CertificateStatus.State.VALID) {
            assertTrue(System.nanoTime() < deadline, "no certificate within 20 s: " + autoCert.status(NAME));
            Thread.sleep(20);
        }
    }
}
