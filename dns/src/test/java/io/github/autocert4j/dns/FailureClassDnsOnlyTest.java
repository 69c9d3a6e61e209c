package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.provider;
import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.dns.DnsTestSupport.Call;
import io.github.autocert4j.dns.DnsTestSupport.RecordingProvider;
import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleExtension;
import io.github.autocert4j.testkit.PebbleServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only a DNS solver configured, no {@code challengeTypes(...)}, and nothing listening where Pebble validates HTTP-01
 * (a host without port 80): every name, the plain ones too, is proven by DNS-01 and the certificate is issued at the
 * first attempt. Before, HTTP-01 was tried first for the plain names and the order failed with the CA's "connection
 * refused".
 */
@Timeout(120)
@IntegrationTest
class FailureClassDnsOnlyTest {

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
    void onlyADnsSolverMeansDns01ForEveryName(PebbleServer pebble) throws Exception {
        RecordingProvider recording = new RecordingProvider(provider(dns));
        Dns01Solver dns01 = Dns01Solver.builder().provider(recording).checkServers(dns.address())
                .propagationTimeout(Duration.ofSeconds(20)).propagationPollInterval(Duration.ofMillis(100)).build();
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert autoCert = AutoCert.builder()
                .directory(pebble.directoryUri())
                .acmeServerTrust(pebble.acmeServerCaPem())
                .agreeToTermsOfService(true)
                .certificate("dnsonly.autocert4j.test", "www.dnsonly.autocert4j.test")
                .challengeSolver(dns01)                       // and nothing else: no port-80 listener anywhere
                .storageDirectory(store)
                .listener(events::add)
                .build()) {
            autoCert.start();
            WildcardPebbleTest.await(events, pebble, dns);
            assertEquals(0, events.stream().filter(CertEvent.Failed.class::isInstance).count(), "first attempt: " + events);
            X509Certificate leaf = autoCert.servedCertificate("dnsonly.autocert4j.test").chain().get(0);
            Set<String> sans = leaf.getSubjectAlternativeNames().stream().map(san -> String.valueOf(san.get(1)))
                    .collect(Collectors.toSet());
            assertEquals(Set.of("dnsonly.autocert4j.test", "www.dnsonly.autocert4j.test"), sans);
        }
        Set<String> created = recording.calls.stream().filter(c -> c.op().equals("create")).map(Call::fqdn)
                .collect(Collectors.toSet());
        assertEquals(Set.of("_acme-challenge.dnsonly.autocert4j.test", "_acme-challenge.www.dnsonly.autocert4j.test"),
                created, "both names by DNS-01: " + recording.calls);
        assertTrue(pebble.logTail(400).lines().noneMatch(l -> l.contains("http-01") || l.contains("validate w/ HTTP")),
                "Pebble was never asked to validate http-01:\n" + pebble.logTail(60));
        assertEquals(List.of(), txt(dns, "_acme-challenge.dnsonly.autocert4j.test"), "records withdrawn");
        assertEquals(List.of(), txt(dns, "_acme-challenge.www.dnsonly.autocert4j.test"), "records withdrawn");
    }
}
