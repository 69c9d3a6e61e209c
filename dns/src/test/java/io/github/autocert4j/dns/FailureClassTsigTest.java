package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.UnaryOperator;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.dns.DnsTestSupport.RecordingProvider;
import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.FreePorts;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleExtension;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * DNS-01 configuration errors are permanent, name the DNS server and the fix, and are found by the solver's
 * pre-flight check before anything is sent to the CA: a real Pebble (resolving through a real Knot) counts the
 * orders and accounts, and there are none. A wrong TSIG secret used to be retried on the backoff schedule with a new
 * order at the CA on every attempt. A DNS server that does not answer is transient (it may come back), named with
 * the timeout and the fix, and costs no order either.
 */
@Timeout(120)
@IntegrationTest
class FailureClassTsigTest {

    static DnsServer dns;

    @RegisterExtension
    static final PebbleExtension PEBBLE = PebbleExtension.configured(pebble -> {
        dns = DnsServer.start();
        pebble.dnsServer(dns.address());
    });

    @TempDir
    Path store;

    @AfterAll
    static void stopDns() {
        if (dns != null) {
            dns.close();
        }
    }

    @Test
    void aWrongTsigSecretIsPermanentAndNoOrderIsPlaced(PebbleServer pebble) throws Exception {
        byte[] other = Base64.getDecoder().decode(dns.tsigSecret());
        other[0] ^= 1;
        String wrongSecret = Base64.getEncoder().encodeToString(other);
        CertEvent.Failed f = failOnce(pebble, "badsig.autocert4j.test",
                b -> b.tsigKey(dns.tsigKeyName(), wrongSecret));
        assertTrue(f.permanent(), "not retried: " + f);
        assertTrue(f.failure().permanent());
        String m = f.error();
        assertTrue(m.contains(DnsLookup.text(dns.address())) && m.contains("(BADSIG)")
                && m.contains("Fix: check the key name and secret"), m);
        assertTrue(m.contains("found before ordering: no order was placed"), m);
        assertFalse(m.contains(wrongSecret) || m.contains(dns.tsigSecret()), "no secret in the message: " + m);
    }

    @Test
    void anUnknownKeyIsPermanent(PebbleServer pebble) throws Exception {
        CertEvent.Failed f = failOnce(pebble, "badkey.autocert4j.test", b -> b.tsigKey("no-such-key", dns.tsigSecret()));
        assertTrue(f.permanent(), f.toString());
        assertTrue(f.error().contains("TSIG key 'no-such-key'") && f.error().contains("(BADKEY)")
                && f.error().contains(DnsLookup.text(dns.address())) && f.error().contains("Fix:"), f.error());
    }

    @Test
    void aZoneTheServerDoesNotServeIsPermanent(PebbleServer pebble) throws Exception {
        CertEvent.Failed f = failOnce(pebble, "www.not-served.example", UnaryOperator.identity());
        assertTrue(f.permanent(), f.toString());
        assertTrue(f.error().contains("cannot find the DNS zone of _acme-challenge.www.not-served.example")
                && f.error().contains("Fix: check that " + DnsLookup.text(dns.address()) + " is the primary"), f.error());

        CertEvent.Failed outside = failOnce(pebble, "outside.autocert4j.test", b -> b.zone("other.example"));
        assertTrue(outside.permanent(), outside.toString());
        assertTrue(outside.error().contains("not in the configured zone other.example") && outside.error().contains("Fix:"),
                outside.error());
    }

    @Test
    void aDnsServerThatDoesNotAnswerIsTransientNamedWithItsTimeoutAndCostsNoOrder(PebbleServer pebble) throws Exception {
        InetSocketAddress nobody = new InetSocketAddress("127.0.0.1", FreePorts.loopback());
        CertEvent.Failed f = failOnce(pebble, "silent.autocert4j.test",
                b -> b.server(nobody).timeout(Duration.ofMillis(500)));
        assertFalse(f.permanent(), "the server may come back: retried with backoff: " + f);
        String m = f.error();
        assertTrue(m.contains("the DNS server " + DnsLookup.text(nobody) + " did not answer") && m.contains("within 500 ms")
                && m.contains("Fix: check that the server runs and answers on port " + nobody.getPort()), m);
        assertFalse(m.contains("null"), "says what happened, not (null): " + m);
    }

    @Test
    void theProbeChangesNothingAndTheRightKeyOrdersOnce(PebbleServer pebble) throws Exception {
        Rfc2136Provider right = DnsTestSupport.provider(dns);
        right.createTxt("_acme-challenge.keep.autocert4j.test", "someone-elses-value");
        right.check("_acme-challenge.keep.autocert4j.test");
        assertEquals(List.of("someone-elses-value"), txt(dns, "_acme-challenge.keep.autocert4j.test"), "untouched");
        right.check("_acme-challenge.nothing-here.autocert4j.test");
        assertEquals(List.of(), txt(dns, "_acme-challenge.nothing-here.autocert4j.test"), "nothing created");
        right.deleteTxt("_acme-challenge.keep.autocert4j.test", "someone-elses-value");

        // The control for the counts above: with the right key the same set-up places exactly one order and issues.
        RecordingProvider recording = new RecordingProvider(right);
        Dns01Solver dns01 = Dns01Solver.builder().provider(recording).checkServers(dns.address())
                .propagationTimeout(Duration.ofSeconds(10)).propagationPollInterval(Duration.ofMillis(100)).build();
        long orders = count(pebble, "Added order");
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = AutoCert.builder().directory(pebble.directoryUri()).acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true).certificate("good.autocert4j.test").challengeSolver(dns01)
                .storageDirectory(store).listener(events::add).build()) {
            autoCert.start();
            WildcardPebbleTest.await(events, pebble, dns);
        }
        assertEquals(List.of("_acme-challenge.good.autocert4j.test"), recording.checks);
        assertEquals(orders + 1, count(pebble, "Added order"), "one order, counted in Pebble's log");
    }

    /**
     * Starts a manager for {@code name} with a provider built from the test server's settings changed by
     * {@code change}, waits for its first Failed event, and checks that the CA saw no order and no account.
     */
    CertEvent.Failed failOnce(PebbleServer pebble, String name, UnaryOperator<Rfc2136Provider.Builder> change)
            throws Exception {
        Rfc2136Provider.Builder b = Rfc2136Provider.builder().server(dns.address())
                .tsigKey(dns.tsigKeyName(), dns.tsigSecret()).timeout(Duration.ofSeconds(5));
        RecordingProvider recording = new RecordingProvider(change.apply(b).build());
        Dns01Solver dns01 = Dns01Solver.builder().provider(recording).checkServers(dns.address())
                .propagationTimeout(Duration.ofSeconds(10)).propagationPollInterval(Duration.ofMillis(100)).build();
        long orders = count(pebble, "Added order");
        long accounts = count(pebble, "There are now");
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        Path dir = Files.createTempDirectory(store, "s");
        try (AutoCert autoCert = AutoCert.builder()
                .directory(pebble.directoryUri())
                .acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .certificate(name)
                .challengeSolver(dns01)
                .storageDirectory(dir)
                .listener(events::add)
                .build()) {
            autoCert.start();
            CertEvent.Failed f = Dns01CleanupAfterFailedValidationTest.awaitFailed(events, pebble, dns);
            assertEquals(List.of("_acme-challenge." + name), recording.checks, "the pre-flight check ran");
            assertEquals(List.of(), recording.calls, "no record was created");
            assertEquals(orders, count(pebble, "Added order"), "no order at the CA:\n" + pebble.logTail(30));
            assertEquals(accounts, count(pebble, "There are now"), "no request that changes anything at the CA");
            return f;
        }
    }

    static long count(PebbleServer pebble, String text) throws IOException {
        try (var lines = Files.lines(pebble.logFile())) {
            return lines.filter(l -> l.contains(text)).count();
        }
    }
}
