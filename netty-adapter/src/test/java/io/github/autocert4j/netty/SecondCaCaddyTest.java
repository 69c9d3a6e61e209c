package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.security.interfaces.RSAPublicKey;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLHandshakeException;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.AutoCertBuilder;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.IssuanceException;
import io.github.autocert4j.KeyType;
import io.github.autocert4j.testkit.CaddyAcmeServer;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.internal.KeepAliveTlsClient;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The second ACME server: Caddy 2.6's built-in CA ({@code acme_server}, smallstep's ACME code), started by the test
 * kit as {@link CaddyAcmeServer}, against a real Netty host on Caddy's fixed validation ports 80 and 443 (at the
 * server's own loopback address). Every served chain is verified by a TLS client that trusts only Caddy's root.
 * Issuance, a forced renewal swapped in under an open connection, a restart that orders nothing, two names in one
 * certificate, an RSA key, an IP-address certificate (http-01 and tls-alpn-01), TLS-ALPN-01 alone, and a failed validation reported within
 * seconds with Caddy's problem type and detail (Caddy leaves the challenge {@code pending} with an {@code error}).
 */
@IntegrationTest
class SecondCaCaddyTest {
    static final String APP = "app.caddy.autocert4j.test";
    static final String WWW = "www.caddy.autocert4j.test";
    static final String RSA = "rsa.caddy.autocert4j.test";
    static final String ALPN = "alpn.caddy.autocert4j.test";
    static final String DEAD = "dead.caddy.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);
    /** Bound for one order at Caddy (validation of local listeners takes well under a second). */
    static final long ORDER_SECONDS = 30;

    static CaddyAcmeServer caddy;

    @BeforeAll
    static void startCaddy() {
        caddy = CaddyAcmeServer.builder().name(APP).name(WWW).name(RSA).name(ALPN).name(DEAD).start();
    }

    @AfterAll
    static void stopCaddy() {
        if (caddy != null) {
            caddy.close();
        }
    }

    static AutoCertBuilder builder(Path store, List<CertEvent> events) {
        return AutoCert.builder()
                .directory(caddy.directoryUri())
                .acmeServerTrust(caddy.rootCaPem())
                .agreeToTermsOfService(true)
                .email("ops@autocert4j.test")
                .storageDirectory(store)
                .listener(events::add);
    }

    static CertificateStatus awaitValid(AutoCert autoCert, String name) throws InterruptedException {
        return awaitValidAt(caddy, autoCert, name);
    }

    /** Waits (at most {@link #ORDER_SECONDS}) until {@code name} has a CA-issued certificate; the failure shows Caddy's log. */
    static CertificateStatus awaitValidAt(CaddyAcmeServer caddy, AutoCert autoCert, String name) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ORDER_SECONDS);
        while (System.nanoTime() < deadline) {
            CertificateStatus s = autoCert.status(name).orElseThrow();
            if (s.state() == CertificateStatus.State.VALID) {
                return s;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate for " + name + " from Caddy within " + ORDER_SECONDS + " s: "
                + autoCert.status(name) + "\n" + caddy.logTail(30));
    }

    /** The chain is leaf + Caddy's intermediate, verified up to Caddy's root by the probe; checks the names on the leaf. */
    static void assertIssuedByCaddy(TlsProbe.Result served, String... names) throws Exception {
        X509Certificate leaf = served.leaf();
        assertTrue(served.chain().size() >= 2, "leaf and Caddy's intermediate are served: " + served.chain().size());
        assertEquals(served.chain().get(1).getSubjectX500Principal(), leaf.getIssuerX500Principal());
        assertEquals(caddy.rootCa().getSubjectX500Principal(), served.chain().get(1).getIssuerX500Principal(),
                "the intermediate is signed by the root the client trusts");
        List<String> sans = leaf.getSubjectAlternativeNames().stream().map(e -> String.valueOf(e.get(1))).toList();
        for (String n : names) {
            assertTrue(sans.contains(n), n + " in " + sans);
        }
        Duration lifetime = Duration.between(leaf.getNotBefore().toInstant(), leaf.getNotAfter().toInstant());
        // Caddy 2.6: 12 h, with notBefore backdated by a minute against clock skew
        assertTrue(lifetime.compareTo(Duration.ofHours(12)) >= 0 && lifetime.compareTo(Duration.ofHours(12).plusMinutes(5)) <= 0,
                "Caddy 2.6 issues 12-hour certificates: " + lifetime);
    }

    @Test
    void issuesRenewsWithHotSwapAndRestartsWithoutANewOrder(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        long orders0 = caddy.requestCount("POST", "/new-order"); // one Caddy for the class: count this test's orders only
        BigInteger renewedSerial;
        try (AutoCert autoCert = builder(store, events).certificate(APP, WWW).build();
                CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.JDK, true)) {
            InetSocketAddress tls = host.httpsAddress();
            assertThrows(SSLHandshakeException.class, () -> TlsProbe.handshake(tls, APP, caddy.rootCa(), T),
                    "before issuance: the self-signed fallback, not trusted");
            autoCert.start();
            CertificateStatus first = awaitValid(autoCert, APP);
            TlsProbe.Result app = TlsProbe.handshake(tls, APP, caddy.rootCa(), T);
            assertIssuedByCaddy(app, APP, WWW);
            assertEquals(first.serial(), app.serial());
            assertEquals(app.serial(), TlsProbe.handshake(tls, WWW, caddy.rootCa(), T).serial(), "SAN: one certificate, two names");
            assertTrue(autoCert.http01().answeredCount() >= 2, "both names validated by http-01 on the host's port 80");

            // renewal, swapped in while a connection opened before it keeps working on its old session
            try (KeepAliveTlsClient open = new KeepAliveTlsClient(tls, APP, caddy.rootCa())) {
                assertEquals("tls /before", open.get("/before"));
                CertificateStatus renewed = autoCert.renewNow(WWW).get(ORDER_SECONDS, TimeUnit.SECONDS);
                renewedSerial = renewed.serial();
                assertNotEquals(first.serial(), renewedSerial);
                TlsProbe.Result after = TlsProbe.handshake(tls, APP, caddy.rootCa(), T);
                assertEquals(renewedSerial, after.serial(), "new handshakes get the renewed certificate");
                assertIssuedByCaddy(after, APP, WWW);
                assertEquals("tls /after", open.get("/after"), "the connection opened before the swap still works");
                assertEquals(first.serial(), open.serial());
            }
            assertEquals(2, events.stream().filter(e -> e instanceof CertEvent.Issued).count(), events.toString());
        }

        // restart: a new AutoCert on the same store serves the stored certificate and orders nothing
        long ordersBefore = caddy.requestCount("POST", "/new-order");
        assertEquals(2, ordersBefore - orders0, "Caddy saw the first order and the renewal: " + caddy.requests());
        List<CertEvent> again = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder(store, again).certificate(APP, WWW).build();
                CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.JDK, true)) {
            autoCert.start();
            assertEquals(renewedSerial, awaitValid(autoCert, APP).serial());
            assertEquals(renewedSerial, TlsProbe.handshake(host.httpsAddress(), WWW, caddy.rootCa(), T).serial());
            assertTrue(again.stream().anyMatch(e -> e instanceof CertEvent.Loaded l && l.serial().equals(renewedSerial)),
                    again.toString());
            assertTrue(again.stream().noneMatch(e -> e instanceof CertEvent.Issued), "no new order after a restart: " + again);
            assertEquals(0, autoCert.http01().answeredCount(), "no validation either");
            assertEquals(ordersBefore, caddy.requestCount("POST", "/new-order"), "Caddy saw no new order: " + caddy.requests());
        }
    }

    @Test
    void rsaKeyOnTheOpenSslProvider(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder(store, events).certificate(RSA).keyType(KeyType.RSA_2048).build();
                CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.OPENSSL, true)) {
            assertTrue(OpenSsl.isAvailable(), "netty-tcnative must load on this machine: " + OpenSsl.unavailabilityCause());
            autoCert.start();
            awaitValid(autoCert, RSA);
            TlsProbe.Result served = TlsProbe.handshake(host.httpsAddress(), RSA, caddy.rootCa(), T);
            assertIssuedByCaddy(served, RSA);
            RSAPublicKey key = assertInstanceOf(RSAPublicKey.class, served.leaf().getPublicKey());
            assertEquals(2048, key.getModulus().bitLength());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"http-01", "tls-alpn-01"})
    void ipAddressCertificateServedWithoutSni(String challengeType, @TempDir Path store) throws Exception {
        String ip = caddy.validationAddress().getHostAddress();
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        boolean http = challengeType.equals("http-01");
        try (AutoCert autoCert = builder(store, events).certificate(ip).allowIpAddresses(true).challengeTypes(challengeType).build();
                CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.JDK, http)) {
            autoCert.start();
            CertificateStatus s = awaitValid(autoCert, ip);
            TlsProbe.Result served = TlsProbe.handshake(host.httpsAddress(), ip, caddy.rootCa(), T);
            assertEquals(s.serial(), served.serial(), "no SNI at " + ip + ": the IP certificate, IP SAN verified");
            assertIssuedByCaddy(served, ip);
            assertTrue(http ? autoCert.http01().answeredCount() >= 1 : autoCert.tlsAlpn01().servedCount() >= 1,
                    "validated by " + challengeType + " at " + ip);
        }
    }

    @Test
    void tlsAlpnOnlyWithoutPort80(@TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder(store, events).certificate(ALPN).challengeTypes("tls-alpn-01").build();
                CaddyHost host = new CaddyHost(autoCert, caddy.validationAddress(), SslProvider.JDK, false)) {
            autoCert.start();
            awaitValid(autoCert, ALPN);
            assertIssuedByCaddy(TlsProbe.handshake(host.httpsAddress(), ALPN, caddy.rootCa(), T), ALPN);
            assertTrue(autoCert.tlsAlpn01().servedCount() >= 1, "validated by tls-alpn-01 on port 443");
        }
    }

    /**
     * Nothing listens on port 80 (http-01) or 443 (tls-alpn-01) where Caddy validates: Caddy records a connection
     * error on the challenge and leaves it (and the authorization) {@code pending}. The failure must come back within
     * seconds with Caddy's verdict, not after the order timeout.
     */
    @ParameterizedTest
    @ValueSource(strings = {"http-01", "tls-alpn-01"})
    void failedValidationIsReportedWithinSecondsWithTheCasProblem(String challengeType, @TempDir Path store) throws Exception {
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = builder(store, events).certificate(DEAD).challengeTypes(challengeType).build()) {
            long t0 = System.nanoTime();
            autoCert.start(); // orders at once: no certificate yet
            CertEvent.Failed failed = null;
            while (failed == null && System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(ORDER_SECONDS)) {
                failed = events.stream().filter(CertEvent.Failed.class::isInstance).map(CertEvent.Failed.class::cast)
                        .findFirst().orElse(null);
                Thread.sleep(20);
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            assertTrue(failed != null, "no failure reported within " + ORDER_SECONDS + " s: " + autoCert.status(DEAD)
                    + "\nrequests: " + caddy.requests());
            IssuanceException failure = failed.failure();
            System.out.println(challengeType + ": failed validation at Caddy reported after " + took.toMillis() + " ms: " + failure.getMessage());
            assertTrue(took.compareTo(Duration.ofSeconds(10)) < 0, "reported within seconds of Caddy's verdict, took " + took
                    + ": " + failure.getMessage());
            assertEquals("urn:ietf:params:acme:error:connection", failure.problemType().orElse(null), failure.getMessage());
            String detail = failure.detail().orElse("");
            assertTrue(detail.contains("connect"), "Caddy's detail: " + detail);
            assertTrue(failure.getMessage().contains(detail), "the message carries Caddy's detail: " + failure.getMessage());
            assertTrue(failure.getMessage().contains(DEAD) && failure.getMessage().contains(challengeType),
                    "names the identifier and the challenge: " + failure.getMessage());
            assertEquals(failure, autoCert.status(DEAD).orElseThrow().lastFailure().orElse(null), "status() tells the same");
        }
    }
}
