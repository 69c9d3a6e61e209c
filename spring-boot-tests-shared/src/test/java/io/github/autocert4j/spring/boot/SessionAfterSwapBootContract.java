package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.ResumingClients;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Sessions after a swap on Boot's own HTTPS port, per server: clients that keep their sessions —
 * a Java client reusing its SSLContext (TLS 1.2 and 1.3) and {@code openssl s_client -sess_in}
 * (TLS 1.2 and 1.3) — resume before a live renewal (so the test can fail) and get the new
 * certificate, in a full handshake, after it.
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class SessionAfterSwapBootContract {
    private static final Duration T = Duration.ofSeconds(10);

    abstract Server server();

    @Test
    void noClientResumesIntoTheReplacedCertificate(PebbleServer pebble, X509Certificate issuanceRoot, @TempDir Path dir) throws Exception {
        String name = "resume-" + server().name().toLowerCase().replace('_', '-') + ".autocert4j.test";
        Path root = dir.resolve("root.pem");
        Files.writeString(root, "-----BEGIN CERTIFICATE-----\n" + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII))
                .encodeToString(issuanceRoot.getEncoded()) + "\n-----END CERTIFICATE-----\n");
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, name, dir.resolve("store")));
        try (BootApp app = BootApp.start(server(), props)) {
            AutoCert autoCert = app.autoCert();
            Http.await("the certificate from Pebble", Duration.ofSeconds(30),
                    () -> autoCert.status(name).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
            InetSocketAddress https = app.https();
            BigInteger first = autoCert.status(name).orElseThrow().serial();
            List<ResumingClients.Java> javaClients = List.of(new ResumingClients.Java(issuanceRoot, "TLSv1.2"),
                    new ResumingClients.Java(issuanceRoot, "TLSv1.3"));
            List<String> protocols = List.of("TLSv1.2", "TLSv1.3");
            for (ResumingClients.Java client : javaClients) {
                assertEquals(first, client.connect(https, name, T).serial());
                ResumingClients.Connection again = client.connect(https, name, T);
                assertTrue(again.reused(), "before the swap the Java client resumes (else this test proves nothing): " + again);
            }
            for (String protocol : protocols) {
                Path session = dir.resolve("session-" + protocol);
                assertEquals(first, ResumingClients.openssl(https, name, protocol, root, session, T).serial());
                ResumingClients.Connection again = ResumingClients.openssl(https, name, protocol, root, session, T);
                assertTrue(again.reused(), "before the swap s_client resumes (else this test proves nothing): " + again + "\n"
                        + Files.readString(dir.resolve("session-" + protocol + ".out"), StandardCharsets.ISO_8859_1));
            }

            BigInteger renewed = autoCert.renewNow(name).get(60, TimeUnit.SECONDS).serial();
            assertNotEquals(first, renewed);

            for (ResumingClients.Java client : javaClients) {
                ResumingClients.Connection after = client.connect(https, name, T);
                assertEquals(renewed, after.serial(), "after the swap the resuming Java client gets the new certificate: " + after);
                assertFalse(after.reused(), after.toString());
            }
            for (String protocol : protocols) {
                ResumingClients.Connection after = ResumingClients.openssl(https, name, protocol, root, dir.resolve("session-" + protocol), T);
                assertFalse(after.reused(), "s_client offered the saved session; the server must not resume it: " + after);
                assertEquals(renewed, after.serial(), "after the swap s_client gets the new certificate (" + protocol + ")");
            }
        }
    }
}
