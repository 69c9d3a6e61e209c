package io.github.autocert4j.quarkus.test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import jakarta.inject.Inject;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.quarkus.AutoCertQuarkus;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * Renewal without restart: after {@code renewNow} (a real Pebble order) the running HTTPS server
 * presents the new certificate to new connections, from the same AutoCert, with no reload.
 */
@QuarkusTest
@QuarkusTestResource(value = PebbleResource.class, restrictToAnnotatedClass = true)
@IntegrationTest
class QuarkusRenewalTest {
    static final Duration T = Duration.ofSeconds(60);

    @PebbleResource.InjectPebble
    PebbleServer pebble;

    @Inject
    AutoCertQuarkus extension;

    @ConfigProperty(name = "quarkus.http.test-ssl-port")
    int httpsPort;

    @Test
    void newConnectionsGetTheRenewedCertificate() throws Exception {
        AutoCert autoCert = extension.autoCert();
        CertificateStatus first = Awaits.issued(autoCert, PebbleResource.NAME, pebble, T);
        InetSocketAddress https = new InetSocketAddress("127.0.0.1", httpsPort);
        assertEquals(first.serial(), TlsProbe.handshake(https, PebbleResource.NAME, pebble.issuanceRoot(), T).serial());

        CertificateStatus renewed = autoCert.renewNow(PebbleResource.NAME).get(T.toSeconds(), TimeUnit.SECONDS);
        assertNotEquals(first.serial(), renewed.serial(), "renewNow ordered a new certificate");
        BigInteger served = TlsProbe.handshake(https, PebbleResource.NAME, pebble.issuanceRoot(), T).serial();
        assertEquals(renewed.serial(), served, "a new connection gets the renewed certificate, without a restart");
        TlsProbe.HttpResult page = TlsProbe.httpsGet(https, PebbleResource.NAME, "/hello", pebble.issuanceRoot(), T);
        assertEquals(200, page.status());
        assertEquals(renewed.serial(), page.serial());
        assertSame(autoCert, extension.autoCert(), "the same AutoCert serves before and after");
    }
}
