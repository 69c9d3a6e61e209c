package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.provider;
import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.dns.DnsTestSupport.Call;
import io.github.autocert4j.dns.DnsTestSupport.RecordingProvider;
import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.IntegrationTest;
import io.github.autocert4j.testkit.PebbleExtension;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.TlsProbe;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A wildcard certificate end to end: AutoCert orders {@code *.autocert4j.test} + {@code autocert4j.test} from a
 * real Pebble whose validation authority resolves through a real Knot server; the wildcard is proven by DNS-01
 * (RFC 2136 update, propagation check), the apex by HTTP-01 (the CA offers both, and {@code challengeTypes} lists
 * HTTP-01 first; without it a DNS solver proves every name, see {@code FailureClassDnsOnlyTest}); a real
 * HTTPS listener then serves the certificate for any name under the zone, and the TXT record is gone.
 */
@Timeout(120)
@IntegrationTest
class WildcardPebbleTest {

    static final Duration T = Duration.ofSeconds(60);

    /** The Knot server Pebble resolves through: started by the extension's configuration, since Pebble needs its address. */
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
    void wildcardCertificateIsIssuedThroughDns01AndServedForAnySubdomain(PebbleServer pebble) throws Exception {
        try (ChallengeHttpServer http = new ChallengeHttpServer(pebble.httpPort())) {
            RecordingProvider recording = new RecordingProvider(provider(dns));
            Dns01Solver dns01 = Dns01Solver.builder().provider(recording).checkServers(dns.address())
                    .propagationTimeout(Duration.ofSeconds(20)).propagationPollInterval(Duration.ofMillis(100)).build();
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            X509Certificate leaf;
            try (AutoCert autoCert = AutoCert.builder()
                    .directory(pebble.directoryUri())
                    .acmeServerTrust(pebble.acmeServerCaPem())
                    .agreeToTermsOfService(true)
                    .certificate("*.autocert4j.test", "autocert4j.test")
                    .challengeSolver(dns01)
                    .challengeTypes("http-01", "dns-01")                 // the apex by HTTP-01
                    .storageDirectory(store)
                    .listener(events::add)
                    .build()) {
                http.responder = autoCert.http01();
                autoCert.start();
                await(events, pebble, dns);

                HttpsServer https = HttpsServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 16);
                https.setHttpsConfigurator(new HttpsConfigurator(autoCert.sslContext()));
                https.createContext("/", exchange -> {
                    byte[] body = ("hello " + exchange.getRequestHeaders().getFirst("Host"))
                            .getBytes(StandardCharsets.UTF_8);
                    exchange.sendResponseHeaders(200, body.length);
                    try (OutputStream out = exchange.getResponseBody()) {
                        out.write(body);
                    }
                });
                https.start();
                try {
                    InetSocketAddress addr = https.getAddress();
                    // the handshake verifies the chain up to Pebble's issuance root and the name against the SANs
                    TlsProbe.Result foo = TlsProbe.handshake(addr, "foo.autocert4j.test", pebble.issuanceRoot(),
                            Duration.ofSeconds(5));
                    leaf = foo.leaf();
                    Set<String> sans = leaf.getSubjectAlternativeNames().stream()
                            .map(san -> String.valueOf(san.get(1))).collect(Collectors.toSet());
                    assertEquals(Set.of("*.autocert4j.test", "autocert4j.test"), sans);

                    TlsProbe.HttpResult bar = TlsProbe.httpsGet(addr, "bar.autocert4j.test", "/", pebble.issuanceRoot(),
                            Duration.ofSeconds(5));
                    assertEquals(200, bar.status());
                    assertEquals("hello bar.autocert4j.test:" + addr.getPort(), bar.body());
                    assertEquals(foo.serial(), bar.serial(), "one certificate for every subdomain");
                    TlsProbe.Result apex = TlsProbe.handshake(addr, "autocert4j.test", pebble.issuanceRoot(),
                            Duration.ofSeconds(5));
                    assertEquals(foo.serial(), apex.serial(), "and for the apex");
                } finally {
                    https.stop(0);
                }
            }

            // The wildcard's authorization was answered by DNS-01 through RFC 2136, and the record withdrawn.
            String name = "_acme-challenge.autocert4j.test";
            List<Call> calls = recording.calls;
            assertEquals(2, calls.size(), calls.toString());
            assertEquals(new Call("create", name, calls.get(0).value()), calls.get(0));
            assertEquals(new Call("delete", name, calls.get(0).value()), calls.get(1));
            assertEquals(List.of(), txt(dns, name), "the TXT record is gone");
        }
    }

    /** Waits for the Issued event; fails fast with the failure and the server logs on a Failed event. */
    static CertEvent.Issued await(List<CertEvent> events, PebbleServer pebble, DnsServer dns) throws InterruptedException {
        long deadline = System.nanoTime() + T.toNanos();
        while (System.nanoTime() < deadline) {
            for (CertEvent e : events) {
                if (e instanceof CertEvent.Issued issued) {
                    return issued;
                }
                if (e instanceof CertEvent.Failed failed) {
                    throw new AssertionError("issuance failed: " + failed + "\n" + pebble.logTail(40) + dns.logTail(20));
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no certificate within " + T + ": " + events + "\n" + pebble.logTail(40)
                + dns.logTail(20));
    }
}
