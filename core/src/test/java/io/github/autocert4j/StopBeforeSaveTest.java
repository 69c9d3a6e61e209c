package io.github.autocert4j;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import io.github.autocert4j.internal.store.StoreLayout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A removal whose stop() interrupts the order after the CA answered and before the certificate is stored: the order
 * stores it all the same (a file store's write fails on an interrupted thread; dropped, the next start would order a
 * duplicate), does not take it live and emits no Issued event.
 */
@Timeout(60)
class StopBeforeSaveTest {
    static final String NAME = "removed.stop.test";

    @TempDir
    Path dir;

    @Test
    void anOrderStoppedAfterTheCaAnsweredStillStoresItsCertificate() throws Exception {
        FakeIssuer issuer = new FakeIssuer("fake-ca", Clock.systemUTC());
        List<CertEvent> events = new CopyOnWriteArrayList<>();
        AutoCert[] holder = new AutoCert[1];
        CompletableFuture<Boolean> removal = new CompletableFuture<>();
        issuer.then((i, r) -> {
            // The CA has answered: the removal's stop() interrupts this thread before the certificate is stored.
            FakeIssuer.removeAndAwaitInterrupt(holder, NAME, removal);
            return i.valid(r);
        });
        try (AutoCert a = AutoCert.builder().issuer(issuer).storageDirectory(dir).certificate(NAME).listener(events::add).build()) {
            holder[0] = a;
            a.start();
            assertTrue(removal.get(30, TimeUnit.SECONDS), "removed");
            assertTrue(Files.exists(dir.resolve(StoreLayout.certBundle(NAME))), "the certificate the CA issued is stored");
            assertTrue(events.stream().noneMatch(e -> e instanceof CertEvent.Issued), "not taken live: " + events);
        }
    }
}
