package io.github.autocert4j.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.TlsTrafficLoop;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS-ALPN-01 on a servlet container's own HTTPS connector, which Pebble dials as its
 * {@code tlsPort}: {@code autoCert.sslContext()} selects {@code acme-tls/1} for the validation
 * (or the container's own ALPN does, when it lists it) and the key manager answers with the
 * challenge certificate. Nothing listens on Pebble's http-01 port. Ordinary HTTP/1.1 requests,
 * and h2 negotiation where the connector offers it, keep working throughout.
 */
@WithPebble // one Pebble per container class (the annotation is inherited)
abstract class TlsAlpnServletContract {
    static final String APP = "alpn.servlet.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    static PebbleServer pebble;
    /** Where Pebble validates tls-alpn-01: the connector's port. */
    static int tlsPort;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        tlsPort = running.tlsPort();
    }

    /** The container, HTTPS on 127.0.0.1:{@code port} with the AutoCert's SSLContext, answering "tls <uri>". */
    abstract AutoCloseable startHost(AutoCert autoCert, int port, Path work) throws Exception;

    /** What a client offering h2 and http/1.1 negotiates with this connector ("" for no ALPN). */
    abstract String negotiatedWithH2Offer();

    @Test
    void issuesByTlsAlpn01OnTheConnectorWhileNormalTrafficFlows(@TempDir Path store, @TempDir Path work) throws Exception {
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate(APP).challengeTypes("tls-alpn-01").storageDirectory(store).build();
             AutoCloseable host = startHost(autoCert, tlsPort, work)) {
            InetSocketAddress addr = new InetSocketAddress("127.0.0.1", tlsPort);
            TlsTrafficLoop traffic = TlsTrafficLoop.start(addr, APP, "/x", "tls /x", negotiatedWithH2Offer(), 200_000);
            autoCert.start();
            CertificateStatus status = autoCert.renewNow(APP).get(60, TimeUnit.SECONDS);
            Thread.sleep(300);
            traffic.stop();

            assertEquals(CertificateStatus.State.VALID, status.state());
            assertTrue(autoCert.tlsAlpn01().servedCount() >= 1, "validated on the connector");
            assertEquals(0, autoCert.http01().answeredCount(), "http-01 was never used");
            TlsProbe.Result served = TlsProbe.handshake(addr, APP, pebble.issuanceRoot(), T);
            assertEquals(status.serial(), served.serial());
            assertEquals("tls /y", TlsProbe.httpsGet(addr, APP, "/y", pebble.issuanceRoot(), T).body());
            assertTrue(traffic.failures().isEmpty(), "ordinary traffic failed: " + traffic.failures());
            assertTrue(traffic.requests() > 0 && traffic.handshakes() > 0, traffic.requests() + " requests, " + traffic.handshakes() + " handshakes");
        }
    }
}
