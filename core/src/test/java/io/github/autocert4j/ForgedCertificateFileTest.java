package io.github.autocert4j;

import io.github.autocert4j.internal.store.IssuerRecord;
import io.github.autocert4j.internal.store.RenewalRequests;
import io.github.autocert4j.internal.store.StoreLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.math.BigInteger;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import io.github.autocert4j.testkit.Await;
import io.github.autocert4j.testkit.ForgedBundle;
import io.github.autocert4j.testkit.ForgedProbes;
import io.github.autocert4j.testkit.WithPebble;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 20: whoever can write the file store must not decide what a node serves. A bundle for the
 * managed name planted in the store (signed by the attacker's own CA, chain signatures intact, or
 * self-signed), with metadata claiming Pebble issued it, is never served: a client trusting the
 * forged chain's anchor gets 0 handshakes, a client trusting Pebble's root keeps succeeding, a
 * {@link CertEvent.Rejected} names what failed, and a new certificate is ordered from Pebble (which
 * replaces the planted one in the store).
 *
 * <p>The file store cannot be watched: a running node reads the certificate entry when it orders, when
 * a renewal request arrives through the store (the CLI's {@code renew}; the case tested here), or for an
 * on-demand load; at start-up it reads every entry.
 */
@WithPebble
class ForgedCertificateFileTest {
    static final String NAME = "forged.autocert4j.test";
    static final Duration T = Duration.ofSeconds(5);

    @RegisterExtension
    static final PebbleAutoCerts CA = new PebbleAutoCerts();

    AutoCert build(Path store, List<CertEvent> events) {
        return build(store, (CertEventListener) events::add);
    }

    AutoCert build(Path store, CertEventListener listener) {
        return CA.build(CA.builder().certificate(NAME).storageDirectory(store).listener(listener));
    }

    static void plant(Path store, ForgedBundle forged) throws IOException {
        Path pem = store.resolve(StoreLayout.certBundle(NAME));
        Files.write(pem, forged.pem());
        Files.write(store.resolve(StoreLayout.certMeta(NAME)), forged.meta(StoreLayout.caId(CA.pebble().directoryUri())));
    }

    @Test
    void forgedBundleWrittenWhileANodeRunsIsNeverServedAndReplaced(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("store");
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        try (AutoCert a = build(store, events);
             JsseTlsServer server = new JsseTlsServer(a.sslContext(), InetAddress.getLoopbackAddress(), 0)) {
            a.start();
            BigInteger first = ((CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued, 30)).serial();
            assertTrue(Files.list(store.resolve(IssuerRecord.prefix(StoreLayout.caId(CA.pebble().directoryUri())))).findAny().isPresent(),
                    "the issuers Pebble presented are recorded with the account");
            ForgedBundle forged = ForgedBundle.withOwnCa(NAME, "Pebble Intermediate CA 1a2b3c");
            try (ForgedProbes probes = new ForgedProbes(List.of(server.address()), NAME, forged.trustAnchor(), CA.pebble().issuanceRoot(0), T, 10)) {
                plant(store, forged);
                // An operator asks for a renewal (as the CLI's renew does): the node reads the store, finds the planted
                // bundle, which every adoption rule but verification would take (newer, other serial, "issued by" Pebble).
                Files.createDirectories(store.resolve("renewals"));
                Files.write(store.resolve(RenewalRequests.key(NAME)),
                        RenewalRequests.encode(new RenewalRequests.Request(NAME, first, Instant.now(), "ForgedCertificateFileTest")));
                CertEvent.Rejected rejected = (CertEvent.Rejected) Await.first(events, e -> e instanceof CertEvent.Rejected, 20);
                assertEquals(forged.leaf().getSerialNumber(), rejected.serial());
                assertTrue(rejected.reason().startsWith("chain not signed by a recorded issuer"), rejected.reason());
                CertEvent.Issued issued = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued
                        && events.indexOf(e) > events.indexOf(rejected), 60);
                assertTrue(issued.renewal());
                probes.awaitTrustedServed(issued.serial(), 10);
                probes.assertNeverForged();
            }
            assertEquals(1, events.stream().filter(e -> e instanceof CertEvent.Rejected).count(), "said once: " + events);
            assertEquals(issuedSerial(store), a.status(NAME).orElseThrow().serial(), "the planted bundle was replaced in the store");
        }
    }

    @Test
    void forgedBundleFoundAtStartUpIsNeverServedAndReplaced(@TempDir Path dir) throws Exception {
        Path store = dir.resolve("store");
        List<CertEvent> firstEvents = new CopyOnWriteArrayList<>();
        try (AutoCert a = build(store, firstEvents)) {
            a.start();
            Await.first(firstEvents, e -> e instanceof CertEvent.Issued, 30);
        }
        ForgedBundle forged = ForgedBundle.selfSigned(NAME);
        plant(store, forged);
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<AutoCert> self = new java.util.concurrent.atomic.AtomicReference<>();
        List<String> statusAtRejection = new CopyOnWriteArrayList<>();
        try (AutoCert a = build(store, e -> {
                    if (e instanceof CertEvent.Rejected) {
                        statusAtRejection.add(self.get().status(NAME).orElseThrow().lastError());
                    }
                    events.add(e);
                });
             JsseTlsServer server = new JsseTlsServer(a.sslContext(), InetAddress.getLoopbackAddress(), 0);
             ForgedProbes probes = new ForgedProbes(List.of(server.address()), NAME, forged.trustAnchor(), CA.pebble().issuanceRoot(0), T, 10)) {
            self.set(a);
            a.start();
            CertEvent.Rejected rejected = (CertEvent.Rejected) Await.first(events, e -> e instanceof CertEvent.Rejected, 10);
            assertTrue(rejected.reason().startsWith("chain not signed by a recorded issuer"), rejected.reason());
            assertTrue(statusAtRejection.get(0).contains(rejected.reason()), "status shows it: " + statusAtRejection);
            CertEvent.Issued issued = (CertEvent.Issued) Await.first(events, e -> e instanceof CertEvent.Issued, 60);
            assertFalse(issued.renewal(), "nothing was live: the forged bundle never went live");
            assertNotEquals(forged.leaf().getSerialNumber(), issued.serial());
            probes.awaitTrustedServed(issued.serial(), 10);
            probes.assertNeverForged();
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Loaded), events.toString());
        }
    }

    static BigInteger issuedSerial(Path store) throws Exception {
        return io.github.autocert4j.internal.store.Pem.decodeBundle(Files.readAllBytes(store.resolve(StoreLayout.certBundle(NAME)))).serial();
    }
}
