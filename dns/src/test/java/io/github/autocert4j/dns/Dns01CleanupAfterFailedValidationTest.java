package io.github.autocert4j.dns;

import static io.github.autocert4j.dns.DnsTestSupport.provider;
import static io.github.autocert4j.dns.DnsTestSupport.txt;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.autocert4j.AutoCert;
import io.github.autocert4j.CertEvent;
import io.github.autocert4j.dns.DnsTestSupport.Call;
import io.github.autocert4j.dns.DnsTestSupport.RecordingProvider;
import io.github.autocert4j.testkit.DnsServer;
import io.github.autocert4j.testkit.PebbleServer;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CA fails the DNS-01 validation and the record is withdrawn all the same. Split horizon: the solver publishes
 * to the real Knot server and sees the record there, but Pebble resolves through its own mock DNS, which never has
 * it, so Pebble marks the authorization invalid; AutoCert's clean-up must still delete the record.
 */
@Timeout(120)
@WithPebble // resolving through its own mock DNS: the split horizon
class Dns01CleanupAfterFailedValidationTest {

    @TempDir
    Path store;

    @Test
    void recordIsDeletedAfterTheCaFailedTheValidation(PebbleServer pebble) throws Exception {
        try (DnsServer dns = DnsServer.start()) {
            RecordingProvider recording = new RecordingProvider(provider(dns));
            Dns01Solver dns01 = Dns01Solver.builder().provider(recording).checkServers(dns.address())
                    .propagationTimeout(Duration.ofSeconds(20)).propagationPollInterval(Duration.ofMillis(100)).build();
            List<CertEvent> events = new CopyOnWriteArrayList<>();
            CertEvent.Failed failed;
            try (AutoCert autoCert = AutoCert.builder()
                    .directory(pebble.directoryUri())
                    .acmeServerTrust(pebble.acmeServerCaPem())
                    .agreeToTermsOfService(true)
                    .certificate("*.fail.autocert4j.test")
                    .challengeSolver(dns01)
                    .storageDirectory(store)
                    .listener(events::add)
                    .build()) {
                autoCert.start();
                failed = awaitFailed(events, pebble, dns);
            }
            // Pebble's reason, passed on by the core: it looked for the TXT record and found none
            assertTrue(failed.error().contains("No TXT records found"), failed.error());

            String name = "_acme-challenge.fail.autocert4j.test";
            List<Call> calls = recording.calls;
            assertTrue(calls.size() >= 2, calls.toString());
            String value = calls.get(0).value();
            // present() returned (the record was served) and the CA then failed it: the core's clean-up deleted it
            assertEquals(List.of(new Call("create", name, value), new Call("delete", name, value)), calls.subList(0, 2));
            assertEquals(List.of(), txt(dns, name), "no TXT record left behind");
        }
    }

    static CertEvent.Failed awaitFailed(List<CertEvent> events, PebbleServer pebble, DnsServer dns)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            for (CertEvent e : events) {
                if (e instanceof CertEvent.Failed f) {
                    return f;
                }
                if (e instanceof CertEvent.Issued) {
                    throw new AssertionError("issued although the CA cannot see the record: " + events);
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no failure within 60 s: " + events + "\n" + pebble.logTail(40) + dns.logTail(20));
    }
}
