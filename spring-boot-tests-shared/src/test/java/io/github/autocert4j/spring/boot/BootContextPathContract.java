package io.github.autocert4j.spring.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A servlet application under {@code server.servlet.context-path=/app}: the CA still asks for
 * {@code /.well-known/acme-challenge/} at the root, outside the application's context, and the
 * starter must answer it there (a Tomcat engine valve, a Jetty handler routing it into the
 * context). Without that the order fails validation and no certificate is ever issued.
 */
@WithPebble
@Timeout(value = 120, unit = TimeUnit.SECONDS)
abstract class BootContextPathContract {
    private static final Duration TIMEOUT = Duration.ofSeconds(5);

    abstract Server server();

    @Test
    void obtainsTheCertificateWhenTheApplicationHasAContextPath(PebbleServer pebble, X509Certificate issuanceRoot,
            @TempDir Path store) throws Exception {
        String name = "ctx-" + server().name().toLowerCase() + ".autocert4j.test";
        Map<String, String> props = new LinkedHashMap<>(BootApp.pebbleProperties(pebble, name, store));
        props.put("server.servlet.context-path", "/app");
        try (BootApp app = BootApp.start(server(), props)) {
            AutoCert autoCert = app.autoCert();
            Http.await("the certificate from Pebble, validated at the root path", Duration.ofSeconds(30),
                    () -> autoCert.status(name).map(s -> s.state() == CertificateStatus.State.VALID).orElse(false));
            CertificateStatus status = autoCert.status(name).orElseThrow();
            assertEquals(0, status.consecutiveFailures(), status.toString());

            TlsProbe.HttpResult page = TlsProbe.httpsGet(app.https(), name, "/app/", issuanceRoot, TIMEOUT);
            assertEquals(200, page.status(), page.body());
            assertEquals(TestApplication.PAGE, page.body().trim());
            assertEquals(status.serial(), page.serial(), "Boot's HTTPS port serves the certificate Pebble issued");

            // The plain port answers challenge probes at the root like the adapters, and redirects the application's pages.
            int plain = pebble.httpPort();
            assertEquals(404, Http.plain(plain, "GET", name, "/.well-known/acme-challenge/unknownToken_123").status());
            assertEquals(400, Http.plain(plain, "GET", name, "/.well-known/acme-challenge/bad.token").status());
            assertEquals(400, Http.plain(plain, "GET", name, "/.well-known/%61cme-challenge/unknownToken_123").status(),
                    "an encoded prefix is never a CA");
            assertEquals(405, Http.plain(plain, "DELETE", name, "/.well-known/acme-challenge/unknownToken_123").status());
            assertEquals(404, Http.plain(plain, "GET", name, "/").status(), "outside the context: the server's 404, no redirect");
            Http.Response redirect = Http.plain(plain, "GET", name, "/app/page");
            assertEquals(301, redirect.status());
            assertEquals("https://" + name + ":" + app.httpsPort() + "/app/page", redirect.header("Location"));

            MeterRegistry meters = app.context.getBean(MeterRegistry.class);
            assertTrue(BootServerContract.challenges(meters, "200") >= 1.0, "Pebble's validation was answered on the plain port");
            assertEquals(1.0, BootServerContract.challenges(meters, "404"), "counted once, not by the valve and the filter both");
            assertEquals(2.0, BootServerContract.challenges(meters, "400"));
            assertEquals(1.0, BootServerContract.challenges(meters, "405"));
        }
    }
}
