package io.github.autocert4j.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetSocketAddress;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The test DNS server: a real knotd on loopback, answering its zone; and Pebble's option to resolve through it. */
@Timeout(60)
@IntegrationTest
class DnsServerTest {

    @Test
    void servesItsZoneOnLoopbackWithAFreshKeyAndStopsOnClose() {
        DnsServer dns = DnsServer.start("dnstest.autocert4j.test");
        int port;
        try (DnsServer other = DnsServer.start()) {
            port = dns.address().getPort();
            assertEquals("127.0.0.1", dns.address().getAddress().getHostAddress());
            assertEquals("dnstest.autocert4j.test", dns.zone());
            assertEquals("hmac-sha256", dns.tsigAlgorithm());
            assertEquals(32, Base64.getDecoder().decode(dns.tsigSecret()).length);
            assertNotEquals(dns.tsigSecret(), other.tsigSecret(), "a key per instance");
            assertNotEquals(port, other.address().getPort());
            assertNull(DnsServer.soaProblem(port, "dnstest.autocert4j.test"), dns.logTail(20));
            assertNull(DnsServer.soaProblem(other.address().getPort(), DnsServer.DEFAULT_ZONE), other.logTail(20));
            assertNotNull(DnsServer.soaProblem(port, "example.org"), "authoritative for its zone only");
            assertFalse(dns.toString().contains(dns.tsigSecret()), dns.toString());
        } finally {
            dns.close();
        }
        assertNotNull(DnsServer.soaProblem(port, "dnstest.autocert4j.test"), "stopped");
        dns.close(); // idempotent
    }

    @Test
    void aMissingKnotdIsAnErrorThatSaysHowToInstallIt() {
        String before = System.getProperty("knotd.bin");
        System.setProperty("knotd.bin", "/nonexistent/knotd");
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class, DnsServer::start);
            assertTrue(e.getMessage().contains("/nonexistent/knotd") && e.getMessage().contains("scripts/get-dns.sh"),
                    e.getMessage());
        } finally {
            if (before == null) {
                System.clearProperty("knotd.bin");
            } else {
                System.setProperty("knotd.bin", before);
            }
        }
    }

    @Test
    void rejectsAZoneThatIsNotADnsName() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> DnsServer.start("Not A Zone"));
        assertTrue(e.getMessage().contains("autocert4j.test"), e.getMessage());
    }

    @Test
    void pebbleDnsServerMustBeLoopbackAndReplacesTheMockDns() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PebbleServer.builder().dnsServer(new InetSocketAddress("192.0.2.1", 53)));
        assertTrue(e.getMessage().contains("loopback"), e.getMessage());
        try (DnsServer dns = DnsServer.start();
                PebbleServer pebble = PebbleServer.builder().httpPort(FreePorts.loopback()).dnsServer(dns.address())
                        .start()) {
            IllegalStateException notMock = assertThrows(IllegalStateException.class,
                    () -> pebble.addARecord("app.test", "127.0.0.2"));
            assertTrue(notMock.getMessage().contains(dns.address().getPort() + ""), notMock.getMessage());
        }
    }
}
