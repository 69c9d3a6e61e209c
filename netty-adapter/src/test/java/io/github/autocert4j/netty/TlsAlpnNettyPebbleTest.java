package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.CertificateStatus;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.github.autocert4j.testkit.internal.TlsTrafficLoop;
import io.github.autocert4j.testkit.internal.UnverifiedTls;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS-ALPN-01 end to end on a real Netty host, with the JDK and the OpenSSL providers: Pebble
 * validates on the host's own TLS port (its {@code tlsPort}), nothing listens on Pebble's http-01
 * port, and {@code challengeTypes("tls-alpn-01")} keeps http-01 out of the orders. Meanwhile the
 * same port serves ordinary HTTP/1.1 requests and negotiates h2 for clients offering it, unaffected.
 */
@WithPebble
class TlsAlpnNettyPebbleTest {
    static final String APP = "alpn.autocert4j.test";
    static final String WWW = "www.alpn.autocert4j.test";
    static final Duration T = Duration.ofSeconds(10);

    static PebbleServer pebble;
    /** Where Pebble validates tls-alpn-01: the host's TLS port. */
    static int tlsPort;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        tlsPort = running.tlsPort();
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void issuesByTlsAlpn01OnTheHostsTlsPortWhileNormalTrafficFlows(SslProvider provider, @TempDir Path store) throws Exception {
        if (provider == SslProvider.OPENSSL) {
            assertTrue(OpenSsl.isAvailable(), "netty-tcnative must load on this machine: " + OpenSsl.unavailabilityCause());
        }
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = AutoCert.builder()
                .directory(pebble.directoryUri())
                .acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .certificate(APP, WWW)
                .challengeTypes("tls-alpn-01")
                .storageDirectory(store)
                .listener(events::add)
                .build()) {
            // The host's own context, with its own ALPN (h2 first), untouched by autocert4j.
            SslContext hostTls = AutoCertSsl.contextBuilder(autoCert, provider)
                    .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
                            ApplicationProtocolConfig.SelectorFailureBehavior.NO_ADVERTISE,
                            ApplicationProtocolConfig.SelectedListenerFailureBehavior.ACCEPT, "h2", "http/1.1"))
                    .build();
            AutoCertTls tls = AutoCertTls.forServer(autoCert, hostTls);
            try (NettyTlsHost host = new NettyTlsHost(tls, tlsPort)) {
                InetSocketAddress addr = host.address();
                TlsTrafficLoop traffic = TlsTrafficLoop.start(addr, APP, "/x", "tls /x", "h2", 200_000);

                autoCert.start();
                CertificateStatus status = autoCert.renewNow(APP).get(60, TimeUnit.SECONDS);
                // Some traffic after the swap too, then stop.
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                while (System.nanoTime() < until) {
                    Thread.sleep(20);
                }
                traffic.stop();

                assertEquals(CertificateStatus.State.VALID, status.state(), () -> status + "\n" + pebble.logTail(30));
                assertTrue(autoCert.tlsAlpn01().servedCount() >= 2, "both names validated on the TLS port: "
                        + autoCert.tlsAlpn01().servedCount());
                assertEquals(0, autoCert.http01().answeredCount(), "http-01 was never used");
                assertFalse(autoCert.tlsAlpn01().isPending(APP), "challenge withdrawn after validation");

                // The issued chain verifies to Pebble's root, for both names.
                TlsProbe.Result app = TlsProbe.handshake(addr, APP, pebble.issuanceRoot(), T);
                assertEquals(status.serial(), app.serial());
                assertEquals(status.serial(), TlsProbe.handshake(addr, WWW, pebble.issuanceRoot(), T).serial());
                assertEquals("tls /y", TlsProbe.httpsGet(addr, APP, "/y", pebble.issuanceRoot(), T).body());

                // Ordinary traffic was served throughout, before, during and after the validation.
                assertTrue(traffic.failures().isEmpty(), "ordinary traffic failed: " + traffic.failures());
                assertTrue(traffic.requests() > 0 && traffic.handshakes() > 0,
                        "traffic ran: " + traffic.requests() + " requests, " + traffic.handshakes() + " h2 handshakes");

                // A handshake offering acme-tls/1 with no pending challenge is not given a challenge certificate.
                X509Certificate served = acmeTlsHandshake(addr, APP);
                assertTrue(served == null || served.getExtensionValue("1.3.6.1.5.5.7.1.31") == null,
                        "no challenge certificate without a pending challenge");
            }
        }
    }

    /**
     * When the CA offers both and port 80 answers too, the preference order decides: tls-alpn-01
     * first validates on the TLS port, http-01 first on port 80.
     */
    @org.junit.jupiter.api.Test
    void thePreferenceOrderDecidesWhenBothCouldWork(@TempDir Path store) throws Exception {
        for (List<String> order : List.of(List.of("tls-alpn-01", "http-01"), List.of("http-01", "tls-alpn-01"))) {
            Path dir = store.resolve(order.get(0));
            try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                    .agreeToTermsOfService(true).certificate(APP).challengeTypes(order.toArray(String[]::new))
                    .storageDirectory(dir).build();
                 AcmeHttpListener port80 = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress("127.0.0.1", pebble.httpPort()));
                 NettyTlsHost host = new NettyTlsHost(AutoCertTls.forServer(autoCert, AutoCertSsl.serverContext(autoCert)), tlsPort)) {
                autoCert.start();
                autoCert.renewNow(APP).get(30, TimeUnit.SECONDS);
                boolean alpnFirst = order.get(0).equals("tls-alpn-01");
                assertEquals(alpnFirst, autoCert.tlsAlpn01().servedCount() > 0, order + ": TLS-ALPN-01 used");
                assertEquals(!alpnFirst, autoCert.http01().answeredCount() > 0, order + ": HTTP-01 used");
            }
        }
    }

    /** What a TLS-ALPN-01 validator would get now: the leaf served to a handshake offering only acme-tls/1, or null if refused. */
    static X509Certificate acmeTlsHandshake(InetSocketAddress addr, String name) throws Exception {
        SSLContext ctx = UnverifiedTls.trustingAnything();
        try (Socket plain = new Socket()) {
            plain.connect(addr, 5000);
            plain.setSoTimeout(5000);
            try (SSLSocket s = (SSLSocket) ctx.getSocketFactory().createSocket(plain, name, addr.getPort(), false)) {
                SSLParameters p = s.getSSLParameters();
                p.setServerNames(List.of(new SNIHostName(name)));
                p.setApplicationProtocols(new String[] {"acme-tls/1"});
                s.setSSLParameters(p);
                s.startHandshake();
                return (X509Certificate) s.getSession().getPeerCertificates()[0];
            } catch (IOException e) {
                return null;
            }
        }
    }
}
