package io.github.autocert4j.servlet;

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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.ResumingClients;
import io.github.autocert4j.testdoubles.InMemoryCa;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * After a certificate swap no client resumes into the replaced certificate on a real container
 * whose HTTPS connector was given {@code autoCert.sslContext()} (TLS 1.2 session IDs/tickets and
 * TLS 1.3 tickets; a Java client reusing its SSLContext and {@code openssl s_client -sess_in}).
 * Before the swap the second connection must resume (so the test can fail); after
 * {@code renewNow} the next connection gets the new certificate. The container's own session
 * timeout (Tomcat sets 86,400 s) is capped at the time left on the 1-hour certificate.
 */
abstract class SessionAfterSwapContract {
    static final String NAME = "resume.servlet.test";
    static final Duration T = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    abstract ServletTestHost host(AutoCert autoCert, Path baseDir) throws Exception;

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void javaClientGetsTheNewCertificateAfterASwap(String protocol) throws Exception {
        InMemoryCa ca = new InMemoryCa("servlet-session-test-ca", Duration.ofHours(1));
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(dir.resolve("store")).certificate(NAME).build().start();
             ServletTestHost host = host(awaitValid(autoCert), dir.resolve("base"))) {
            InetSocketAddress addr = host.httpsAddress();
            ResumingClients.Java client = new ResumingClients.Java(ca.root, protocol);
            BigInteger first = autoCert.status(NAME).orElseThrow().serial();
            assertEquals(first, client.connect(addr, NAME, T).serial());
            ResumingClients.Connection b = client.connect(addr, NAME, T);
            assertTrue(b.reused(), "before the swap the Java client resumes (else this test proves nothing): " + b);
            BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
            assertNotEquals(first, renewed);
            ResumingClients.Connection c = client.connect(addr, NAME, T);
            assertEquals(renewed, c.serial(), "after the swap the resuming client gets the new certificate: " + c);
            assertFalse(c.reused(), c.toString());
            long left = Duration.between(Instant.now(), autoCert.status(NAME).orElseThrow().notAfter()).toSeconds();
            int timeout = autoCert.sslContext().getServerSessionContext().getSessionTimeout();
            assertTrue(timeout > 0 && timeout <= left, "session timeout " + timeout + " s must be within the " + left + " s left");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"TLSv1.2", "TLSv1.3"})
    void opensslClientGetsTheNewCertificateAfterASwap(String protocol) throws Exception {
        InMemoryCa ca = new InMemoryCa("servlet-session-test-ca", Duration.ofHours(1));
        Path root = ca.writeRoot(dir.resolve("root.pem"));
        Path session = dir.resolve("session.pem");
        try (AutoCert autoCert = AutoCert.builder().issuer(ca).storageDirectory(dir.resolve("store")).certificate(NAME).build().start();
             ServletTestHost host = host(awaitValid(autoCert), dir.resolve("base"))) {
            InetSocketAddress addr = host.httpsAddress();
            BigInteger first = autoCert.status(NAME).orElseThrow().serial();
            ResumingClients.Connection a = ResumingClients.openssl(addr, NAME, protocol, root, session, T);
            assertEquals(first, a.serial());
            String out = Files.readString(session.resolveSibling(session.getFileName() + ".out"), StandardCharsets.ISO_8859_1);
            long left = Duration.between(Instant.now(), autoCert.status(NAME).orElseThrow().notAfter()).toSeconds();
            for (Matcher m = Pattern.compile("lifetime hint: (\\d+)").matcher(out); m.find(); ) {
                assertTrue(Long.parseLong(m.group(1)) <= left, "ticket lifetime hint " + m.group(1) + " s must be within the " + left + " s left");
            }
            ResumingClients.Connection b = ResumingClients.openssl(addr, NAME, protocol, root, session, T);
            assertTrue(b.reused(), "before the swap s_client resumes (else this test proves nothing): " + b);
            BigInteger renewed = autoCert.renewNow(NAME).get(20, TimeUnit.SECONDS).serial();
            ResumingClients.Connection c = ResumingClients.openssl(addr, NAME, protocol, root, session, T);
            assertFalse(c.reused(), "s_client offered the saved session; the server must not resume it: " + c);
            assertEquals(renewed, c.serial(), "after the swap s_client gets the new certificate");
        }
    }

    static AutoCert awaitValid(AutoCert autoCert) throws InterruptedException {
        for (long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20); System.nanoTime() < end; Thread.sleep(10)) {
            if (autoCert.status(NAME).orElseThrow().state() == CertificateStatus.State.VALID) {
                return autoCert;
            }
        }
        throw new AssertionError(NAME + " never became valid: " + autoCert.status(NAME));
    }
}
