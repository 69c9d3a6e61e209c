package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.provider;
import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;

import io.github.autocert4j.ChallengeSolver.Challenge;
import io.github.autocert4j.dns.DnsTestSupport.Call;
import io.github.autocert4j.dns.DnsTestSupport.RecordingProvider;
import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.IntegrationTest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The solver's propagation check against real Knot servers on loopback: it returns once the authoritative servers
 * serve the record, finds them by SOA/NS itself, and gives up within its timeout, cleanly, when one never does.
 */
@Timeout(120)
@IntegrationTest
class Dns01PropagationTest {

    static DnsServer primary;

    @BeforeAll
    static void startDns() {
        primary = DnsServer.start();
    }

    @AfterAll
    static void stopDns() {
        primary.close();
    }

    private static Challenge challenge(String identifier, String keyAuthorization) {
        return new Challenge("dns-01", identifier, "token-" + identifier.hashCode(), keyAuthorization);
    }

    @Test
    void presentReturnsOnceTheServerServesTheRecordAndCleanUpDeletesIt() throws Exception {
        Challenge c = challenge("present.autocert4j.test", "tok.thumbprint-1");
        RecordingProvider p = new RecordingProvider(provider(primary));
        Dns01Solver solver = Dns01Solver.builder().provider(p).checkServers(primary.address())
                .propagationTimeout(Duration.ofSeconds(10)).propagationPollInterval(Duration.ofMillis(100)).build();
        assertEquals("dns-01", solver.challengeType());

        solver.present(c);
        assertEquals(List.of(c.dnsTxtValue()), txt(primary, "_acme-challenge.present.autocert4j.test"));
        solver.cleanUp(c);
        assertEquals(List.of(), txt(primary, "_acme-challenge.present.autocert4j.test"));
        assertEquals(List.of(new Call("create", c.dnsTxtName(), c.dnsTxtValue()),
                new Call("delete", c.dnsTxtName(), c.dnsTxtValue())), p.calls);
    }

    @Test
    void discoversTheZoneItsNameServersAndTheirAddresses() throws Exception {
        // The solver asks the "resolver" for the SOA (walking up from the record name), the NS set
        // (ns.autocert4j.test) and its address (127.0.0.1), then asks that name server directly. Name servers
        // listen on port 53 in real life; here the discovered address is dialled on the test server's port.
        Challenge c = challenge("discover.autocert4j.test", "tok.thumbprint-2");
        Dns01Solver solver = Dns01Solver.builder().provider(provider(primary)).resolvers(primary.address())
                .nameServerPort(primary.address().getPort())
                .propagationTimeout(Duration.ofSeconds(10)).propagationPollInterval(Duration.ofMillis(100)).build();
        solver.present(c);
        try {
            assertEquals(List.of(c.dnsTxtValue()), txt(primary, c.dnsTxtName()));
        } finally {
            solver.cleanUp(c);
        }
        assertEquals(List.of(), txt(primary, c.dnsTxtName()));
    }

    @Test
    void timesOutWithinItsBoundWhenAServerNeverServesTheRecordAndDeletesIt() throws Exception {
        // A second real server for the same zone that never receives the update: a secondary that is out of sync.
        try (DnsServer stale = DnsServer.start()) {
            Challenge c = challenge("stale.autocert4j.test", "tok.thumbprint-3");
            RecordingProvider p = new RecordingProvider(provider(primary));
            Duration timeout = Duration.ofMillis(3000); // room for both servers to be asked even on a loaded machine
            Dns01Solver solver = Dns01Solver.builder().provider(p).checkServers(primary.address(), stale.address())
                    .propagationTimeout(timeout).propagationPollInterval(Duration.ofMillis(200)).build();

            long start = System.nanoTime();
            java.util.concurrent.TimeoutException e = assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> solver.present(c));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(timeout.minusMillis(200)) >= 0 && took.compareTo(timeout.plusSeconds(3)) < 0,
                    "bounded by the timeout: " + took);
            String m = e.getMessage();
            String staleAddr = DnsLookup.text(stale.address());
            assertTrue(m.contains("_acme-challenge.stale.autocert4j.test") && m.contains(c.dnsTxtValue()), m);
            // The stale server is named as the one missing the record (on a very loaded machine it may not have been asked yet).
            assertTrue(m.contains("still missing on " + staleAddr + ": answered without a TXT record")
                    || m.contains("still missing on " + staleAddr + ": not asked (out of time)"), m);
            assertTrue(!m.contains(DnsLookup.text(primary.address()) + ":"), "the primary served it: " + m);
            assertTrue(m.contains("Fix:") && m.contains("propagationTimeout"), m);

            assertEquals(List.of(new Call("create", c.dnsTxtName(), c.dnsTxtValue()),
                    new Call("delete", c.dnsTxtName(), c.dnsTxtValue())), p.calls, "present withdrew the record");
            assertEquals(List.of(), txt(primary, c.dnsTxtName()));
        }
    }

    @Test
    void aServerThatDoesNotAnswerIsNamedInTheTimeout() throws Exception {
        // A bound UDP socket that never replies: queries to it time out.
        try (DatagramSocket silent = new DatagramSocket(0, InetAddress.getByName("127.0.0.1"))) {
            InetSocketAddress silentAddr = new InetSocketAddress("127.0.0.1", silent.getLocalPort());
            Challenge c = challenge("silent.autocert4j.test", "tok.thumbprint-4");
            Dns01Solver solver = Dns01Solver.builder().provider(provider(primary)).checkServers(silentAddr)
                    .propagationTimeout(Duration.ofMillis(1200)).propagationPollInterval(Duration.ofMillis(300)).build();
            long start = System.nanoTime();
            java.util.concurrent.TimeoutException e = assertThrows(java.util.concurrent.TimeoutException.class,
                    () -> solver.present(c));
            assertTrue(Duration.ofNanos(System.nanoTime() - start).compareTo(Duration.ofSeconds(5)) < 0);
            assertTrue(e.getMessage().contains("no answer from " + DnsLookup.text(silentAddr) + " within "), e.getMessage());
            assertTrue(e.getMessage().contains("Fix: check that these servers run and answer DNS queries"), e.getMessage());
            assertFalse(e.getMessage().contains("null"), "says what happened, not (null): " + e.getMessage());
            assertEquals(List.of(), txt(primary, c.dnsTxtName()), "deleted again");
        }
    }

    @Test
    void builderNamesEveryWrongFieldWithItsFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Dns01Solver.builder()
                .propagationTimeout(Duration.ZERO).propagationPollInterval(Duration.ofMillis(1))
                .checkServers(InetSocketAddress.createUnresolved("ns.invalid", 53)).build());
        String m = e.getMessage();
        for (String field : List.of("provider: not set", "propagationTimeout: PT0S", "propagationPollInterval: PT0.001S",
                "checkServers: 'ns.invalid")) {
            assertTrue(m.contains(field), field + " in " + m);
        }
        assertEquals(m.split("\n").length - 1, m.split("Fix:").length - 1, "every line has a fix: " + m);

        IllegalArgumentException longer = assertThrows(IllegalArgumentException.class, () -> Dns01Solver.builder()
                .provider(provider(primary)).propagationTimeout(Duration.ofSeconds(1))
                .propagationPollInterval(Duration.ofSeconds(2)).build());
        assertTrue(longer.getMessage().contains("propagationPollInterval: PT2S is longer than propagationTimeout"),
                longer.getMessage());
    }
}
