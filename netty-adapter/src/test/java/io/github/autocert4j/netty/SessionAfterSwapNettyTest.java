package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.ResumingClients;
import io.github.autocert4j.testdoubles.InMemoryCa;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * After a certificate swap no client resumes into the replaced certificate, with the JDK and the
 * OpenSSL providers, TLS 1.2 (session IDs) and TLS 1.3 (tickets), for a Java client that keeps its
 * SSLContext and for {@code openssl s_client -sess_out/-sess_in}. Before the swap the second
 * connection must resume (else the test could not fail); after {@code renewNow} the next
 * connection, offering the saved session, must be served the new certificate. Sessions never
 * outlive their certificate: with 1-hour certificates the session timeout (JDK) and the ticket
 * lifetime hint s_client reports are at most the time left.
 */
@IntegrationTest
class SessionAfterSwapNettyTest {
    static final String NAME = "resume.swap.test";
    static final Duration T = Duration.ofSeconds(10);
    static final Duration VALIDITY = Duration.ofHours(1);

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"JDK, TLSv1.2", "JDK, TLSv1.3", "OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3"})
    void javaClientGetsTheNewCertificateAfterASwap(SslProvider provider, String protocol) throws Exception {
        assertTrue(provider == SslProvider.JDK || OpenSsl.isAvailable(), "tcnative on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", VALIDITY);
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(dir.resolve("store")).certificate(NAME).build().start()) {
            PrepareKeyMaterialTest.awaitValid(autoCert, NAME);
            SslContext host = AutoCertSsl.contextBuilder(autoCert, provider).build();
            try (NettyTlsHost server = new NettyTlsHost(AutoCertTls.forServer(autoCert, host), 0)) {
                InetSocketAddress addr = server.address();
                ResumingClients.Java client = new ResumingClients.Java(ca.root, protocol);
                BigInteger first = autoCert.status(NAME).orElseThrow().serial();
                ResumingClients.Connection a = client.connect(addr, NAME, T);
                assertEquals(first, a.serial());
                assertEquals(protocol, a.protocol());
                ResumingClients.Connection b = client.connect(addr, NAME, T);
                assertTrue(b.reused(), "before the swap the Java client resumes (else this test proves nothing): " + b);
                BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
                assertNotEquals(first, renewed);
                ResumingClients.Connection c = client.connect(addr, NAME, T);
                assertEquals(renewed, c.serial(), "after the swap the resuming client gets the new certificate: " + c);
                assertFalse(c.reused(), "no resumption into the replaced certificate: " + c);
                assertLifetimeWithinValidity(autoCert, host);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"JDK, TLSv1.2", "JDK, TLSv1.3", "OPENSSL, TLSv1.2", "OPENSSL, TLSv1.3"})
    void opensslClientGetsTheNewCertificateAfterASwap(SslProvider provider, String protocol) throws Exception {
        assertTrue(provider == SslProvider.JDK || OpenSsl.isAvailable(), "tcnative on the test class path: " + OpenSsl.unavailabilityCause());
        InMemoryCa ca = new InMemoryCa("prepare-test-ca", VALIDITY);
        Path rootPem = dir.resolve("root.pem");
        Files.writeString(rootPem, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(ca.root.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        Path session = dir.resolve("session.pem");
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(dir.resolve("store")).certificate(NAME).build().start()) {
            PrepareKeyMaterialTest.awaitValid(autoCert, NAME);
            SslContext host = AutoCertSsl.contextBuilder(autoCert, provider).build();
            try (NettyTlsHost server = new NettyTlsHost(AutoCertTls.forServer(autoCert, host), 0)) {
                InetSocketAddress addr = server.address();
                BigInteger first = autoCert.status(NAME).orElseThrow().serial();
                ResumingClients.Connection a = ResumingClients.openssl(addr, NAME, protocol, rootPem, session, T);
                assertEquals(first, a.serial());
                assertFalse(a.reused(), a.toString());
                if (provider == SslProvider.JDK || protocol.equals("TLSv1.2")) {
                    // BoringSSL gives TLS 1.3 tickets its PSK lifetime (2 days), which Netty cannot set;
                    // TlsSessions drops every session when a certificate reaches notAfter instead.
                    assertTicketLifetimeWithinValidity(autoCert, session);
                }
                ResumingClients.Connection b = ResumingClients.openssl(addr, NAME, protocol, rootPem, session, T);
                assertTrue(b.reused(), "before the swap s_client resumes (else this test proves nothing): " + b);
                BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
                ResumingClients.Connection c = ResumingClients.openssl(addr, NAME, protocol, rootPem, session, T);
                assertFalse(c.reused(), "s_client offered the saved session; the server must not resume it: " + c);
                assertEquals(renewed, c.serial(), "after the swap s_client gets the new certificate");
            }
        }
    }

    /** The JDK session timeout (OpenSSL: the context's) is at most the time left until notAfter. */
    static void assertLifetimeWithinValidity(AutoCert autoCert, SslContext host) {
        long left = Duration.between(Instant.now(), autoCert.status(NAME).orElseThrow().notAfter()).toSeconds();
        long timeout = host.sessionContext().getSessionTimeout();
        assertTrue(timeout > 0 && timeout <= left, "session timeout " + timeout + " s must be within the " + left + " s left");
    }

    /** s_client's "TLS session ticket lifetime hint" (TLS 1.3 tickets, TLS 1.2 tickets) is at most the time left. */
    static void assertTicketLifetimeWithinValidity(AutoCert autoCert, Path session) throws Exception {
        String out = Files.readString(session.resolveSibling(session.getFileName() + ".out"), StandardCharsets.ISO_8859_1);
        Matcher m = Pattern.compile("lifetime hint: (\\d+)").matcher(out);
        long left = Duration.between(Instant.now(), autoCert.status(NAME).orElseThrow().notAfter()).toSeconds();
        while (m.find()) {
            long hint = Long.parseLong(m.group(1));
            assertTrue(hint <= left, "ticket lifetime hint " + hint + " s must be within the " + left + " s left");
        }
    }
}
