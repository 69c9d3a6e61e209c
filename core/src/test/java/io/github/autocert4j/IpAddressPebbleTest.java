package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.testkit.TlsProbe;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * IP-address certificates (RFC 8738) against a real Pebble 2.10: a certificate for 127.0.0.1,
 * validated by http-01 at 127.0.0.1 itself, is served by a real JSSE TLS server to a client that
 * connects to 127.0.0.1 without SNI (the key manager asks the socket for its local address), while
 * SNI clients keep getting their DNS certificate; and the build() rules for IP addresses.
 */
@WithPebble
class IpAddressPebbleTest {
    static final String DNS = "ip.autocert4j.test";
    static final String IP = "127.0.0.1";
    static final Duration T = Duration.ofSeconds(10);

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    @Test
    void anIpCertificateIsIssuedAndServedToClientsWithoutSni(@TempDir Path store) throws Exception {
        try (AutoCert autoCert = CA.build(CA.builder()
                .certificate(DNS)            // first: the default certificate for unknown names
                .certificate(IP)
                .allowIpAddresses(true)
                .storageDirectory(store));
             JsseTlsServer server = new JsseTlsServer(autoCert.sslContext(), InetAddress.getByName(IP), 0)) {
            autoCert.start();
            BigInteger ipSerial = autoCert.renewNow(IP).get(30, TimeUnit.SECONDS).serial();
            BigInteger dnsSerial = autoCert.renewNow(DNS).get(30, TimeUnit.SECONDS).serial();
            assertNotEquals(ipSerial, dnsSerial);
            assertTrue(Ip.sans(autoCert.servedCertificate(IP).chain().get(0)).contains("7:" + IP), "iPAddress SAN");

            // No SNI, connecting to 127.0.0.1: the IP certificate, verified for the IP address and Pebble's root.
            TlsProbe.Result noSni = TlsProbe.handshake(server.address(), IP, CA.pebble().issuanceRoot(), T);
            assertEquals(ipSerial, noSni.serial());
            assertEquals("tls /ip", TlsProbe.httpsGet(server.address(), IP, "/ip", CA.pebble().issuanceRoot(), T).body());
            // With SNI: the DNS certificate, as before.
            assertEquals(dnsSerial, TlsProbe.handshake(server.address(), DNS, CA.pebble().issuanceRoot(), T).serial());
            // servedCertificate(null) still names the default certificate (no local address known there).
            assertEquals(dnsSerial, autoCert.servedCertificate(null).chain().get(0).getSerialNumber());
        }
    }

    @Test
    void buildRulesForIpAddresses(@TempDir Path store) {
        IllegalArgumentException notAllowed = assertThrows(IllegalArgumentException.class, () -> base(store).certificate(IP).build());
        assertTrue(notAllowed.getMessage().contains("allowIpAddresses(true)"), notAllowed.getMessage());

        ChallengeSolver dns = new ChallengeSolver() {
            public String challengeType() {
                return "dns-01";
            }

            public void present(Challenge c) {
            }

            public void cleanUp(Challenge c) {
            }
        };
        IllegalArgumentException dnsOnly = assertThrows(IllegalArgumentException.class, () -> base(store).certificate(IP)
                .allowIpAddresses(true).challengeSolver(dns).challengeTypes("dns-01").build());
        assertTrue(dnsOnly.getMessage().contains("validate only by http-01 or tls-alpn-01"), dnsOnly.getMessage());
        // tls-alpn-01 alone can validate an IP address (no port 80 needed).
        base(store).certificate(IP).allowIpAddresses(true).challengeTypes("tls-alpn-01").build().close();
    }

    AutoCertBuilder base(Path store) {
        return CA.builder().storageDirectory(store);
    }

    /** subjectAltName entries as "type:value". */
    static final class Ip {
        static java.util.List<String> sans(java.security.cert.X509Certificate c) throws Exception {
            return c.getSubjectAlternativeNames().stream().map(l -> l.get(0) + ":" + l.get(1)).toList();
        }
    }
}
