package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * A server whose port 80 is blocked switches to TLS-ALPN-01 with one property (issue 17):
 * {@code autocert4j.challenge-types=tls-alpn-01}. Pebble validates on the HTTPS port (server.port is
 * Pebble's TLS-ALPN-01 port) and its HTTP-01 port reaches nothing, so only TLS-ALPN-01 can succeed. On
 * WebFlux, where Reactor Netty (not the AutoCert's SSLContext) negotiates ALPN, it also works with the
 * application's own AutoCert bean (before: "Cannot negotiate ALPN protocol acme-tls/1", no warning).
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SpringBootTlsAlpnTest {
    private static final String NAME = "alpn.autocert4j.test";

    private static Map<String, String> tlsAlpnOnly(PebbleServer pebble, Path store) {
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, NAME, store));
        props.put("server.port", Integer.toString(pebble.tlsPort()));
        props.put("autocert4j.http-port", Integer.toString(FreePorts.loopback())); // not where Pebble dials for http-01
        return props;
    }

    private static void servesAPebbleCertificateValidatedByTlsAlpn01(BootApp app, PebbleServer pebble, X509Certificate root)
            throws Exception {
        AutoCert autoCert = app.autoCert();
        Http.await("a certificate through tls-alpn-01", Duration.ofSeconds(60),
                () -> autoCert.status(NAME).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
        CertificateStatus s = autoCert.status(NAME).orElseThrow();
        TlsProbe.HttpResult page = TlsProbe.httpsGet(app.https(), NAME, "/", root, Duration.ofSeconds(10));
        assertEquals(200, page.status());
        assertEquals(TestApplication.PAGE, page.body().trim());
        assertEquals(s.serial(), page.serial());
        // Pebble logs no challenge type: nothing listened where it dials for http-01, so the valid authorization was tls-alpn-01
        assertThrows(ConnectException.class, () -> new Socket(InetAddress.getLoopbackAddress(), pebble.httpPort()).close(),
                "nothing answers http-01 on Pebble's port " + pebble.httpPort());
        assertTrue(pebble.logTail(400).contains("set VALID by completed challenge"), pebble.logTail(30));
    }

    @ParameterizedTest
    @EnumSource(Server.class)
    void theChallengeTypePropertySwitchesToTlsAlpn01(Server server, PebbleServer pebble, X509Certificate root, @TempDir Path store)
            throws Exception {
        Map<String, String> props = tlsAlpnOnly(pebble, store);
        props.put("autocert4j.challenge-types", "tls-alpn-01");
        try (BootApp app = BootApp.start(server, props)) {
            servesAPebbleCertificateValidatedByTlsAlpn01(app, pebble, root);
        }
    }

    @Test
    void webFluxAnswersTlsAlpn01WithTheApplicationsOwnAutoCertBean(PebbleServer pebble, X509Certificate root, @TempDir Path store)
            throws Exception {
        try (BootApp app = BootApp.start(Server.REACTOR_NETTY, tlsAlpnOnly(pebble, store), OwnAutoCert.class)) {
            assertTrue(app.context.getBeansOfType(AutoCert.class).containsKey("ownAutoCert"), "the application's bean is used");
            servesAPebbleCertificateValidatedByTlsAlpn01(app, pebble, root);
        }
    }

    /** An application that builds its own AutoCert (the starter then builds none), with TLS-ALPN-01 only. */
    @Configuration(proxyBeanMethods = false)
    static class OwnAutoCert {
        @Bean(destroyMethod = "close")
        AutoCert ownAutoCert(Environment env) {
            return AutoCert.builder().directory(URI.create(env.getRequiredProperty("autocert4j.directory")))
                    .acmeServerTrust(Path.of(env.getRequiredProperty("autocert4j.acme-server-trust")))
                    .agreeToTermsOfService(true)
                    .certificate(env.getRequiredProperty("autocert4j.domains"))
                    .storageDirectory(Path.of(env.getRequiredProperty("autocert4j.storage-directory")))
                    .challengeTypes("tls-alpn-01")
                    .build();
        }
    }
}
