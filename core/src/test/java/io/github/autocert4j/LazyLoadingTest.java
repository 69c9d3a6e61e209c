package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up cost does not grow with the number of stored on-demand certificates: starting a
 * manager over 200 of them reads none, and each handshake then reads exactly its own. Proven by
 * counting the store's reads, not by timing.
 */
class LazyLoadingTest {
    @TempDir
    Path dir;

    @Test
    void startReadsNoStoredCertificateAndAHandshakeReadsOnlyItsOwn() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        OnDemand allowAll = OnDemand.allow(n -> CompletableFuture.completedFuture(true)).orderRate(10_000, 1_000).maxOrdersPerRegistrableDomain(1_000)
                .maxConcurrentOrders(8).handshakeWait(Duration.ofSeconds(20)).build();
        try (AutoCert seed = AutoCert.builder().issuer(issuer).onDemand(allowAll).storageDirectory(dir).build().start()) {
            List<CompletableFuture<Boolean>> all = new java.util.ArrayList<>();
            for (int i = 0; i < 200; i++) {
                all.add(seed.certificateReady("c" + i + ".lazy.test"));
            }
            for (CompletableFuture<Boolean> f : all) {
                assertTrue(f.get(60, TimeUnit.SECONDS));
            }
        }
        assertEquals(200, issuer.issueCalls());

        List<String> reads = new CopyOnWriteArrayList<>();
        CertStore counting = new DelegatingStore(FileCertStore.of(dir)) {
            @Override
            public Optional<byte[]> load(String key) throws IOException {
                reads.add(key);
                return super.load(key);
            }
        };
        try (AutoCert a = AutoCert.builder().issuer(issuer).onDemand(allowAll).store(counting).build()) {
            a.start();
            assertTrue(reads.stream().noneMatch(k -> k.startsWith("certs/")), "start-up read no certificate: " + reads);
            assertTrue(a.status().isEmpty());
            assertTrue(a.certificateReady("c42.lazy.test").get(20, TimeUnit.SECONDS));
            assertEquals(List.of("certs/c42.lazy.test/c42.lazy.test.pem", "certs/c42.lazy.test/c42.lazy.test.properties"),
                    reads.stream().filter(k -> k.startsWith("certs/")).distinct().toList(), "only its own files");
            assertEquals(1, a.status().size());
        }
        assertEquals(200, issuer.issueCalls(), "nothing was ordered again");
    }
}
