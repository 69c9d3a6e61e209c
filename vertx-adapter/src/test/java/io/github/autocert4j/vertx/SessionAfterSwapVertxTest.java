package io.github.autocert4j.vertx;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.ResumingEngines;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * After a certificate swap no client resumes into the replaced certificate on a Vert.x HTTPS server's context: the
 * one the engine {@link AutoCertVertx#configure} installs builds (through a copy of the options, as Vert.x copies
 * them), asked as Vert.x asks it; TLS 1.2 and TLS 1.3 with a JDK client that keeps its session cache. In memory:
 * server engines of that context. Before the swap the second handshake must resume (else the test could not fail);
 * after {@code renewNow} the next one must be a full handshake with the new certificate.
 */
class SessionAfterSwapVertxTest {
    static final String NAME = "resume.vertx.test";

    @TempDir
    Path store;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"TLSv1.2", "TLSv1.3"})
    void theResumingClientGetsTheNewCertificateAfterASwap(String protocol) throws Exception {
        InMemoryCa ca = new InMemoryCa("vertx-resume-ca", Duration.ofHours(1));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            BigInteger first = awaitValid(autoCert).serial();
            HttpServerOptions options = new HttpServerOptions(AutoCertVertx.configure(new HttpServerOptions(), autoCert));
            SslContext context = options.getSslEngineOptions().sslContextFactory().useAlpn(options.isUseAlpn()).forClient(false)
                    .enabledCipherSuites(options.getEnabledCipherSuites()).applicationProtocols(List.of("h2", "http/1.1"))
                    .clientAuth(ClientAuth.NONE).serverName(null).keyMananagerFactory(options.getKeyCertOptions().getKeyManagerFactory(null))
                    .create();
            assertSame(JdkSslContext.class, context.getClass(), "the plain server context JdkServerEngineOptions builds");
            ResumingEngines client = new ResumingEngines(NAME, ca.root, protocol);

            ResumingEngines.Handshake a = handshake(client, context);
            assertEquals(first, a.serial());
            assertEquals(protocol, a.protocol());
            ResumingEngines.Handshake b = handshake(client, context);
            assertTrue(b.reused(), "before the swap the client resumes (else this test proves nothing): " + b);

            BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
            assertNotEquals(first, renewed);
            ResumingEngines.Handshake c = handshake(client, context);
            assertFalse(c.reused(), "no resumption into the replaced certificate: " + c);
            assertEquals(renewed, c.serial(), "after the swap the resuming client gets the new certificate: " + c);
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

    static ResumingEngines.Handshake handshake(ResumingEngines client, SslContext context) throws Exception {
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            return client.handshake(server);
        } finally {
            ReferenceCountUtil.release(server);
        }
    }
}
