package io.github.autocert4j.netty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An IP-address certificate (RFC 8738) for 127.0.0.1 on a real Netty host, JDK and OpenSSL
 * providers: validated by TLS-ALPN-01 on the host's TLS port (Pebble sends the reverse-DNS name
 * {@code 1.0.0.127.in-addr.arpa} as SNI), then served to a client that connects to 127.0.0.1
 * without SNI, chain and IP address verified; SNI clients keep their DNS certificate, which is
 * also the default certificate.
 */
@WithPebble
class IpAddressNettyPebbleTest {
    static final String DNS = "ip.netty.autocert4j.test";
    static final String IP = "127.0.0.1";
    static final Duration T = Duration.ofSeconds(10);

    static PebbleServer pebble;
    /** Where Pebble validates tls-alpn-01: the host's TLS port. */
    static int tlsPort;
    /** Where Pebble validates http-01. */
    static int httpPort;

    @BeforeAll
    static void rememberPebble(PebbleServer running) {
        pebble = running;
        tlsPort = running.tlsPort();
        httpPort = running.httpPort();
    }

    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void anIpCertificateValidatedByTlsAlpnIsServedWithoutSni(SslProvider provider, @TempDir Path store) throws Exception {
        if (provider == SslProvider.OPENSSL) {
            assertTrue(OpenSsl.isAvailable(), "netty-tcnative must load on this machine: " + OpenSsl.unavailabilityCause());
        }
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .certificate(DNS)
                .certificate(IP)
                .allowIpAddresses(true)
                .challengeTypes("tls-alpn-01")
                .storageDirectory(store).build()) {
            AutoCertTls tls = AutoCertTls.forServer(autoCert, AutoCertSsl.contextBuilder(autoCert, provider).build());
            try (NettyTlsHost host = new NettyTlsHost(tls, new InetSocketAddress(IP, tlsPort))) {
                autoCert.start();
                BigInteger ipSerial = autoCert.renewNow(IP).get(30, TimeUnit.SECONDS).serial();
                BigInteger dnsSerial = autoCert.renewNow(DNS).get(30, TimeUnit.SECONDS).serial();
                assertNotEquals(ipSerial, dnsSerial);
                assertTrue(autoCert.tlsAlpn01().servedCount() >= 2, "validated on the TLS port");

                InetSocketAddress addr = host.address();
                TlsProbe.Result noSni = TlsProbe.handshake(addr, IP, pebble.issuanceRoot(), T);
                assertEquals(ipSerial, noSni.serial(), "no SNI at 127.0.0.1: the IP certificate");
                assertEquals("tls /ip", TlsProbe.httpsGet(addr, IP, "/ip", pebble.issuanceRoot(), T).body());
                assertEquals(dnsSerial, TlsProbe.handshake(addr, DNS, pebble.issuanceRoot(), T).serial(), "SNI: the DNS certificate");
            }
        }
    }

    /**
     * The same through http-01: without TLS-ALPN-01 and on-demand TLS, {@code AutoCertTls} puts the host's SslHandler in at
     * once instead of reading the ClientHello; a client without SNI must still get the IP-address certificate.
     */
    @ParameterizedTest
    @EnumSource(value = SslProvider.class, names = {"JDK", "OPENSSL"})
    void withoutTlsAlpnTheDirectHandlerStillServesTheIpCertificateWithoutSni(SslProvider provider, @TempDir Path store) throws Exception {
        if (provider == SslProvider.OPENSSL) {
            assertTrue(OpenSsl.isAvailable(), "netty-tcnative must load on this machine: " + OpenSsl.unavailabilityCause());
        }
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .certificate(DNS)
                .certificate(IP)
                .allowIpAddresses(true)
                .challengeTypes("http-01")
                .storageDirectory(store).build();
             AcmeHttpListener listener = AcmeHttpListener.bind(autoCert.http01(), new InetSocketAddress(IP, httpPort))) {
            AutoCertTls tls = AutoCertTls.forServer(autoCert, AutoCertSsl.contextBuilder(autoCert, provider).build());
            try (NettyTlsHost host = new NettyTlsHost(tls, new InetSocketAddress(IP, 0))) {
                autoCert.start();
                BigInteger ipSerial = autoCert.renewNow(IP).get(30, TimeUnit.SECONDS).serial();
                BigInteger dnsSerial = autoCert.renewNow(DNS).get(30, TimeUnit.SECONDS).serial();
                assertNotEquals(ipSerial, dnsSerial);
                assertEquals(0, autoCert.tlsAlpn01().servedCount(), "validated by http-01 only");

                InetSocketAddress addr = host.address();
                TlsProbe.Result noSni = TlsProbe.handshake(addr, IP, pebble.issuanceRoot(), T);
                assertEquals(ipSerial, noSni.serial(), "no SNI at 127.0.0.1: the IP certificate");
                assertEquals("tls /ip", TlsProbe.httpsGet(addr, IP, "/ip", pebble.issuanceRoot(), T).body());
                assertEquals(dnsSerial, TlsProbe.handshake(addr, DNS, pebble.issuanceRoot(), T).serial(), "SNI: the DNS certificate");
            }
        }
    }
}
