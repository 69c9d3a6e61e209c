package io.github.autocert4j.micronaut;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLEngine;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.github.autocert4j.testkit.ResumingEngines;
import io.micronaut.http.HttpVersion;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.util.ReferenceCountUtil;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * After a certificate swap no client resumes into the replaced certificate on Micronaut's HTTPS context
 * ({@link AutoCertSslBuilder#build()}: OpenSSL, the default with tcnative; and the JDK provider's
 * {@code newContext}), TLS 1.2 and TLS 1.3, for a JDK client that keeps its session cache. In memory: server
 * engines of the very context Micronaut gets. Before the swap the second handshake must resume (else the test
 * could not fail); after {@code renewNow} the next one must be a full handshake with the new certificate.
 */
class SessionAfterSwapMicronautTest {
    static final String NAME = AutoCertSslBuilderJdkTest.NAME; // awaitValid waits for it

    @TempDir
    Path store;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3", "JDK, TLSv1.2", "JDK, TLSv1.3"})
    void theResumingClientGetsTheNewCertificateAfterASwap(String provider, String protocol) throws Exception {
        assertTrue(OpenSsl.isAvailable(), "tcnative on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("micronaut-resume-ca", Duration.ofHours(1));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(store).certificate(NAME).build().start()) {
            BigInteger first = AutoCertSslBuilderJdkTest.awaitValid(autoCert).serial();
            AutoCertSslBuilder builder = new AutoCertSslBuilder(autoCert, AutoCertSslBuilderJdkTest.ssl(null, null),
                    AutoCertSslBuilderJdkTest.server(HttpVersion.HTTP_1_1));
            SslContext context = "JDK".equals(provider) ? builder.newContext(io.netty.handler.ssl.SslProvider.JDK) : builder.build().orElseThrow();
            assertEquals("JDK".equals(provider), context instanceof JdkSslContext, "the provider under test: " + context.getClass());
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

    static ResumingEngines.Handshake handshake(ResumingEngines client, SslContext context) throws Exception {
        SSLEngine server = context.newEngine(ByteBufAllocator.DEFAULT);
        try {
            return client.handshake(server);
        } finally {
            ReferenceCountUtil.release(server);
        }
    }
}
